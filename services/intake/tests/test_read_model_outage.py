"""A read model's own SQLite file that cannot be written now (another connection holds its lock
past CASEWORK_SQLITE_LOCK_TIMEOUT): a request that needs it answers 503 + Retry-After, never a
500; a report already stored is still 201, once, and the index catches up afterwards."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from casework import Actor, Role
from casework.clock import FakeClock
from casework.projections.polling import catch_up_after_write
from casework.testing.postgres_outage import StoppablePostgres, stoppable_postgres  # noqa: F401
from fastapi.testclient import TestClient
from intake.api.app import create_app
from intake.config import Settings
from intake.testing import FLAT, Desk, make_settings


@pytest.fixture
def locked_desk(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Desk]:
    monkeypatch.setenv("CASEWORK_SQLITE_LOCK_TIMEOUT", "1")
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}")
    with TestClient(create_app(settings, clock=clock)) as client:
        yield Desk(client, clock, settings)


@contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Another process's writer on the read model's file, as `begin immediate` takes it."""
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("begin immediate")
    try:
        yield
    finally:
        holder.execute("rollback")
        holder.close()


def test_a_locked_read_model_is_a_503_with_retry_after_not_a_500(
    locked_desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    desk = locked_desk
    desk.report(desk.resident())
    intake = desk.client.app.state.runtime.intake  # type: ignore[attr-defined]
    with write_lock(desk.settings.db_path), caplog.at_level(logging.WARNING):
        # A case recorded by another replica: the next /measures must apply it first.
        intake.app.report_repair(Actor("r-0303", Role.RESIDENT), FLAT, "another leak")
        response = desk.client.get("/measures", headers=desk.auditor())
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["code"] == "read_model_unavailable"
    said = [r for r in caplog.records if "read model unavailable" in r.getMessage()]
    assert len(said) == 1
    assert said[0].exc_info is None  # one line, no traceback
    assert desk.client.get("/measures", headers=desk.auditor()).status_code == 200


def test_a_report_stored_while_the_read_model_is_locked_is_201_and_stored_once(
    locked_desk: Desk,
) -> None:
    desk = locked_desk
    with write_lock(desk.settings.db_path):
        response = desk.client.post(
            "/cases",
            json={"kind": "repair", "address": FLAT, "description": "tap drips"},
            headers={**desk.resident(), "Idempotency-Key": "tap-1"},
        )
    assert response.status_code == 201, response.text
    again = desk.client.post(
        "/cases",
        json={"kind": "repair", "address": FLAT, "description": "tap drips"},
        headers={**desk.resident(), "Idempotency-Key": "tap-1"},
    )
    assert again.json()["case_id"] == response.json()["case_id"]
    intake = desk.client.app.state.runtime.intake  # type: ignore[attr-defined]
    cases = {n.originator_id for n in intake.app.recorder.select_notifications(1, 100)}
    assert len(cases) == 1


def on_a_store_that_stops(
    postgres: StoppablePostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **extra: Any
) -> Settings:
    """The intake's settings on a database of `postgres` (this test's own cluster, to stop),
    a refused connection given up after a second."""
    monkeypatch.setenv("CASEWORK_STORE_TIMEOUT", "1")
    assert postgres.server is not None
    postgres.server.create_database("intake")
    return make_settings(tmp_path, postgres.server.url("intake"), **extra)


@pytest.mark.postgres
def test_a_catch_up_failing_on_the_store_after_a_write_is_logged_and_the_poller_catches_up(
    stoppable_postgres: StoppablePostgres,  # noqa: F811
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The store goes away between a stored report and its catch-up: the helper says so in one
    line and returns False (the request is not failed); the poller applies it once it is back."""
    settings = on_a_store_that_stops(stoppable_postgres, tmp_path, monkeypatch)
    with TestClient(create_app(settings, clock=clock)) as client:
        desk = Desk(client, clock, settings)
        rt = client.app.state.runtime  # type: ignore[attr-defined]
        rt.store_feed.stop()  # only this test's calls catch up until the store is back
        case_id = str(rt.intake.app.report_repair(Actor("r-0302", Role.RESIDENT), FLAT, "leak"))
        stoppable_postgres.stop()
        with caplog.at_level(logging.WARNING, logger="intake"):
            assert catch_up_after_write(rt.store_feed, logging.getLogger("intake")) is False
        said = [r for r in caplog.records if "not caught up after a write" in r.getMessage()]
        assert len(said) == 1
        assert said[0].exc_info is None
        stoppable_postgres.start()
        deadline = time.monotonic() + 15  # the pool drops its dead connections first
        while not catch_up_after_write(rt.store_feed) and time.monotonic() < deadline:
            time.sleep(0.2)
        listed = client.get("/cases", headers=desk.staff()).json()
        assert [c["case_id"] for c in listed["items"]] == [case_id]


@pytest.mark.postgres
def test_a_listing_while_the_store_is_down_is_the_index_as_it_stands(
    stoppable_postgres: StoppablePostgres,  # noqa: F811
    tmp_path: Path,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A listing catches the case index up before it reads (docs/adr/019): with the store
    stopped it cannot, and lists what the index holds (200, its position as it was); the
    outage is one line in the log, however many listings meet it, and one more when it is
    over; once the store is back the next listing has the case reported just before the
    outage, which the feed (polling once a minute here) never brought."""
    settings = on_a_store_that_stops(
        stoppable_postgres, tmp_path, monkeypatch, feed_poll_seconds=60
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        desk = Desk(client, clock, settings)
        first = desk.report(desk.resident())["case_id"]
        listed = client.get("/cases", headers=desk.staff()).json()
        assert [c["case_id"] for c in listed["items"]] == [first]
        second = desk.report(desk.resident(), description="the tap in the kitchen drips")
        stoppable_postgres.stop()
        with caplog.at_level(logging.WARNING):
            for _ in range(2):
                stale = client.get("/cases", headers=desk.staff())
                assert stale.status_code == 200, stale.text
                assert [c["case_id"] for c in stale.json()["items"]] == [first]
                assert stale.json()["index_position"] == listed["index_position"]
        said = [r for r in caplog.records if "store unreachable" in r.getMessage()]
        assert len(said) == 1  # once while the outage lasts, the poller's rounds included
        assert said[0].exc_info is None
        stoppable_postgres.start()
        deadline = time.monotonic() + 15  # the pool drops its dead connections first
        while True:
            items = client.get("/cases", headers=desk.staff()).json()["items"]
            if len(items) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert {c["case_id"] for c in items} == {first, second["case_id"]}
        back = [r for r in caplog.records if "store reachable again" in r.getMessage()]
        assert len(back) == 1


def test_a_listing_while_the_read_models_file_is_locked_is_the_index_as_it_stands(
    locked_desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    """Another connection holds the read models' file past the lock timeout (1 s here) just
    as a listing would catch the index up: 200 with the index as it stands, one line; the
    next listing, the lock gone, is current."""
    desk = locked_desk
    rt = desk.client.app.state.runtime  # type: ignore[attr-defined]
    rt.store_feed.stop()  # only the listings catch up here
    first = desk.report(desk.resident())["case_id"]
    assert len(desk.client.get("/cases", headers=desk.staff()).json()["items"]) == 1
    second = desk.report(desk.resident(), description="the tap in the kitchen drips")
    with write_lock(desk.settings.db_path), caplog.at_level(logging.WARNING, logger="intake"):
        stale = desk.client.get("/cases", headers=desk.staff())
    assert stale.status_code == 200, stale.text
    assert [c["case_id"] for c in stale.json()["items"]] == [first]
    said = [r for r in caplog.records if "not caught up before a read" in r.getMessage()]
    assert len(said) == 1
    assert said[0].exc_info is None
    current = desk.client.get("/cases", headers=desk.staff()).json()
    assert {c["case_id"] for c in current["items"]} == {first, second["case_id"]}
