"""Where `POST /cases` does its store work: on SQLite in the replica's own report thread (one
writer at a time anyway, without anyio's machinery per hop), on PostgreSQL in anyio's pool, so
that reports still commit side by side there (issue 16, `intake.report_thread`)."""

from __future__ import annotations

import contextvars
import threading
from typing import Any

import pytest
from intake.report_thread import THREAD_NAME, ReportThread
from intake.testing import COMPOUND, Desk


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
    import asyncio

    from casework import Casework

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
    import asyncio

    from casework import Casework

    with Casework(f"sqlite:///{tmp_path / 'cases.db'}") as app:
        reports = ReportThread(app)
        started, finish = threading.Event(), threading.Event()
        ran: list[str] = []

        def busy() -> None:
            started.set()
            finish.wait(5)

        first = asyncio.create_task(reports.run(busy))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 5)
        queued = asyncio.create_task(reports.run(ran.append, "queued"))
        await asyncio.sleep(0.05)
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued
        finish.set()
        await first
        await reports.run(ran.append, "after")
        assert ran == ["after"]
        reports.close()
