"""Where `POST /cases` does its store work: on SQLite in the replica's own report thread (one
writer at a time anyway, without anyio's machinery per hop), on PostgreSQL in anyio's pool, so
that reports still commit side by side there (issue 16, `intake.report_thread`)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from casework import Casework
from intake.report_thread import SAID_EVERY, THREAD_NAME, ReportsBusyError, ReportThread
from intake.testing import COMPOUND, Desk


@contextlib.asynccontextmanager
async def occupied(reports: ReportThread) -> AsyncIterator[None]:
    """The report thread busy with a work of the test's own until the block ends."""
    started, finish = threading.Event(), threading.Event()

    def busy() -> None:
        started.set()
        finish.wait(5)

    first = asyncio.create_task(reports.run(busy))
    await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
    try:
        yield
    finally:
        finish.set()
        await first


def _spy_on_reports(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads each report is taken in."""
    intake = desk.client.app.state.runtime.intake  # type: ignore[attr-defined]
    report = intake.report
    threads: list[str] = []

    def spy(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return report(*args, **kwargs)

    monkeypatch.setattr(intake, "report", spy)
    return threads


def test_on_sqlite_every_report_is_taken_in_the_one_report_thread_on_postgres_in_the_pool(
    desk: Desk, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = _spy_on_reports(desk, monkeypatch)
    for n in range(4):
        desk.report(desk.resident(f"r-{n}"), address=f"{COMPOUND}/b1/{n + 1:04d}")
    assert len(threads) == 4
    if store_url.startswith("sqlite"):
        assert len(set(threads)) == 1, threads
        assert threads[0].startswith(THREAD_NAME), threads
    else:
        assert not any(name.startswith(THREAD_NAME) for name in threads), threads


def test_the_reported_case_is_listed_at_once_from_the_report_thread(sqlite_desk: Desk) -> None:
    """The read models are caught up in the same hop: the reporter's next listing shows it."""
    headers = sqlite_desk.resident()
    case = sqlite_desk.report(headers)
    listed = sqlite_desk.client.get("/cases", headers=headers).json()
    assert [c["case_id"] for c in listed["items"]] == [case["case_id"]]


@pytest.mark.anyio
async def test_the_work_sees_the_requests_context_and_the_request_waits_for_it_if_cancelled(
    tmp_path: Any,
) -> None:
    """As anyio's pool: the task's context variables in the thread, and a request cancelled
    meanwhile ends after its work has, not before (what the thread commits is done)."""
    var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
    with Casework(f"sqlite:///{tmp_path / 'cases.db'}") as app:
        reports = ReportThread(app)
        assert reports.own is not None
        started, finish, finished = threading.Event(), threading.Event(), threading.Event()

        def work(x: int) -> tuple[str, int]:
            started.set()
            finish.wait(5)
            finished.set()
            return var.get(), x

        async def request() -> tuple[str, int]:
            var.set("req-1")
            return await reports.run(work, 7)

        finish.set()
        assert await request() == ("req-1", 7)
        finish.clear()
        started.clear()  # the first request set it: wait for this one's work to be under way
        task = asyncio.create_task(request())
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        task.cancel()
        await asyncio.sleep(0.05)
        assert not task.done()  # waiting for its work
        finish.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert finished.is_set()
        reports.close()


@pytest.mark.anyio
async def test_a_request_cancelled_while_its_work_waits_for_the_thread_does_nothing(
    tmp_path: Any,
) -> None:
    """As anyio's pool: work still queued behind another report when its request is
    cancelled is dropped (nothing of it done), not run for a request that is gone."""
    with Casework(f"sqlite:///{tmp_path / 'cases.db'}") as app:
        reports = ReportThread(app)
        ran: list[str] = []
        async with occupied(reports):
            queued = asyncio.create_task(reports.run(ran.append, "queued"))
            await asyncio.sleep(0.05)
            queued.cancel()
            with pytest.raises(asyncio.CancelledError):
                await queued
        await reports.run(ran.append, "after")
        assert ran == ["after"]
        reports.close()


@pytest.mark.anyio
async def test_a_report_arriving_while_the_queue_is_full_is_refused_at_once_and_never_run(
    tmp_path: Any,
) -> None:
    """Overload on SQLite: `most_waiting` reports wait behind the one under way; the next is
    refused before anything of it is done, and once the queue drains reports are taken again
    (a cancelled waiter leaves the count too)."""
    with Casework(f"sqlite:///{tmp_path / 'cases.db'}") as app:
        reports = ReportThread(app, most_waiting=2)
        ran: list[str] = []
        async with occupied(reports):
            waiting = [asyncio.create_task(reports.run(ran.append, f"w{n}")) for n in range(2)]
            await asyncio.sleep(0.01)
            assert reports.waiting == 2
            with pytest.raises(ReportsBusyError, match="2 reports are already waiting"):
                await reports.run(ran.append, "refused")
            waiting[1].cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting[1]
            assert reports.waiting == 1
        await waiting[0]
        await reports.run(ran.append, "after")
        assert ran == ["w0", "after"]
        assert reports.waiting == 0
        reports.close()


@pytest.mark.anyio
async def test_a_report_that_waited_past_the_lock_timeout_is_refused_when_its_turn_comes(
    tmp_path: Any,
) -> None:
    """As a writer waiting for the SQLite file past its lock timeout fails: a report queued
    longer than `longest_wait` is refused when the thread reaches it, never run."""
    with Casework(f"sqlite:///{tmp_path / 'cases.db'}") as app:
        reports = ReportThread(app, longest_wait=0.05)
        ran: list[str] = []
        async with occupied(reports):
            late = asyncio.create_task(reports.run(ran.append, "late"))
            await asyncio.sleep(0.2)
        with pytest.raises(ReportsBusyError, match="longer than its lock timeout"):
            await late
        reports.longest_wait = 10.0  # a slow wake-up of the thread must not refuse this one
        await reports.run(ran.append, "in time")
        assert ran == ["in time"]
        assert reports.waiting == 0
        reports.close()


def test_a_busy_report_is_a_503_with_retry_after_storing_nothing_and_its_retry_is_taken(
    sqlite_desk: Desk,
) -> None:
    """Over HTTP: code `busy`, Retry-After, nothing in the store; the same key retried once the
    replica has room is handled afresh (201), as after any 503."""
    runtime = sqlite_desk.client.app.state.runtime  # type: ignore[attr-defined]
    headers = {**sqlite_desk.resident(), "Idempotency-Key": "busy-then-taken"}
    body = {"kind": "repair", "category": "lighting", "address": f"{COMPOUND}/b1/0101",
            "description": "the stair light is out", "channel": "app"}  # fmt: skip
    runtime.reports.longest_wait = -1.0  # every report has waited too long
    refused = sqlite_desk.client.post("/cases", json=body, headers=headers)
    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "busy"
    assert "nothing was stored" in refused.json()["message"]
    assert refused.headers["Retry-After"] == "1"
    assert runtime.intake.app.recorder.max_notification_id() in (None, 0)
    assert sqlite_desk.client.get("/cases", headers=headers).json()["items"] == []
    runtime.reports.longest_wait = 10.0
    taken = sqlite_desk.client.post("/cases", json=body, headers=headers)
    assert taken.status_code == 201, taken.text
    assert taken.headers.get("Idempotent-Replayed") is None


@pytest.mark.anyio
async def test_the_report_thread_is_started_with_the_replica_not_at_a_report(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thread that cannot start fails the replica's start: once it runs, no report needs a
    thread started (`submit` would raise with the report's work queued, to run unanswered)."""
    with Casework(f"sqlite:///{tmp_path / 'cases.db'}") as app:
        reports = ReportThread(app)
        start = threading.Thread.start

        def refused(thread: threading.Thread) -> None:
            raise RuntimeError("can't start new thread")

        monkeypatch.setattr(threading.Thread, "start", refused)
        ran: list[str] = []
        for n in range(3):
            await reports.run(ran.append, f"r{n}")
        assert ran == ["r0", "r1", "r2"]
        with pytest.raises(RuntimeError, match="can't start new thread"):
            ReportThread(app)
        monkeypatch.setattr(threading.Thread, "start", start)
        reports.close()


def test_refused_reports_are_said_in_the_log_once_then_counted_per_ten_seconds(
    tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An overload refuses many reports a second: the first is logged at once, the next at most
    one line per `SAID_EVERY` seconds, saying how many were refused since the line before."""
    now = [100.0]
    with Casework(f"sqlite:///{tmp_path / 'cases.db'}") as app:
        reports = ReportThread(app, clock=lambda: now[0])
        caplog.set_level(logging.WARNING, logger="intake")
        for n in range(5):
            reports.said_refused(ReportsBusyError(f"refusal {n}"))
            now[0] += 1.0
        now[0] = 100.0 + SAID_EVERY
        reports.said_refused(ReportsBusyError("refusal 5"))
        reports.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "intake"]
    assert lines == [
        "1 report refused, busy, since the last such line; the last: refusal 0",
        "5 reports refused, busy, since the last such line; the last: refusal 5",
    ]
