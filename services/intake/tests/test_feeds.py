"""The case feed hands the read models one kind of event whichever way it came: what the store
feed makes of the log is, event for event, what the relay publishes on NATS."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from casework import Actor, Casework, Role
from casework.clock import FakeClock
from casework.contracts import CaseEvent, CasePlace, parse_event
from casework.messaging.relay import StoreReader
from casework.messaging.store_contracts import StoreContracts
from casework.projections.sqlite import Scope
from eventsourcing.persistence import OperationalError
from fastapi.testclient import TestClient
from intake.api.app import create_app
from intake.feeds import STORE_SOURCE, StoreFeed
from intake.measures.model import MeasuresModel
from intake.read_model import CaseIndex
from intake.testing import COMPOUND, FLAT, T0, Desk, make_settings

RESIDENT = Actor("r-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
MANAGER = Actor("mgr-chen", Role.PROPERTY_MANAGER)


class Recording:
    """A read model beside the case index that keeps every event the feed hands it."""

    def __init__(self) -> None:
        self.events: list[CaseEvent] = []
        self.at = 0

    def apply(
        self, events: Iterable[CaseEvent], source: str | None = None, position: int = 0
    ) -> int:
        self.events += events
        self.at = max(self.at, position)
        return 0

    def position(self, source: str) -> int:
        return self.at

    def record_skipped(
        self, case_id: str, version: int, event: str, error: BaseException | str
    ) -> None:
        raise AssertionError(f"v{version} of case {case_id} skipped: {error}")


@pytest.mark.parametrize("cache_size", [1, 100_000])
def test_the_store_feed_makes_of_each_event_the_contract_the_relay_publishes(
    tmp_path: Path, cache_size: int
) -> None:
    """Cases interleaved in the log, so that a case's later events come after another case's
    report: with a cache of one place, each is looked up in the store again."""
    clock = FakeClock(T0)
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=clock)
    repair = app.report_repair(RESIDENT, FLAT, "light out", "lighting")
    leak = app.report_leak(RESIDENT, FLAT, "water through the ceiling", "0402")
    dispute = app.report_dispute(RESIDENT, COMPOUND, "drums after 22:00", "noise", ["r-0402"])
    app.assign(repair, STAFF, STAFF, "on duty")
    app.stop_water(leak, STAFF, "staff_closed_valve")
    clock.advance(timedelta(hours=1))
    meeting = app.convene_mediation(dispute, MANAGER, "roundtable", clock(), "office", [])
    app.escalate(repair, MANAGER, "needs the compound's electrician")
    app.record_cause(leak, STAFF, "valve left open")
    app.reach_agreement(dispute, MANAGER, meeting, ["no drums after 21:00"], [])

    published = [
        parse_event(out.body, out.headers["ce-type"]) for out in StoreReader(app).after(0, 1000)
    ]
    index = CaseIndex(tmp_path / "intake.db")
    made = Recording()
    feed = StoreFeed(app, index, also=[made], batch=4)
    feed.contracts = StoreContracts(app, cache_size=cache_size)
    feed.catch_up()
    assert len(published) == app.recorder.max_notification_id()  # every one a case event
    assert made.events == published
    index.close()
    app.close()


class StoreAwayOnce(StoreContracts):
    """The store goes away just as the feed reads a case's place, then comes back."""

    away = True

    def place(self, event: Any) -> CasePlace:
        if self.away:
            self.away = False
            raise OperationalError("server closed the connection unexpectedly")
        return super().place(event)


def test_an_outage_while_making_a_contract_is_waited_out_not_skipped(tmp_path: Path) -> None:
    """An unreachable store is not the event's fault: the feed stops there (the poller retries)
    and records nothing as skipped; the next round applies the event."""
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=FakeClock(T0))
    case_id = app.report_repair(RESIDENT, FLAT, "light out", "lighting")
    app.assign(case_id, STAFF, STAFF, "on duty")
    index = CaseIndex(tmp_path / "intake.db")
    feed = StoreFeed(app, index)
    feed.contracts = StoreAwayOnce(app)

    with pytest.raises(OperationalError):
        feed.catch_up()
    assert index.skipped_count() == 0
    assert index.position(STORE_SOURCE) == 0

    assert feed.catch_up() == app.recorder.max_notification_id()
    assert index.skipped_count() == 0
    _, [row] = index.list(Scope(everything=True))
    assert row.version == app.get_case(case_id).version
    index.close()
    app.close()


def test_both_read_models_of_the_file_apply_in_one_transaction(tmp_path: Path) -> None:
    """The measures beside the case index (one file, one connection): a batch is one commit
    for both; a failure of the measures' part leaves the measures as they were and raises, but
    the case index goes on (its listings are not held back by the measures), and the next
    catch-up brings the measures up from their own position."""
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=FakeClock(T0))
    case_id = app.report_repair(RESIDENT, FLAT, "light out", "lighting")
    index = CaseIndex(tmp_path / "intake.db")
    measures = MeasuresModel(tmp_path / "intake.db", beside=index)
    feed = StoreFeed(app, index, also=[measures])

    def locked(*args: Any, **kwargs: Any) -> int:
        raise sqlite3.OperationalError("database is locked")

    real = measures.apply_in
    measures.apply_in = locked  # type: ignore[method-assign]
    with pytest.raises(sqlite3.OperationalError):
        feed.catch_up()
    first = app.recorder.max_notification_id()
    assert index.list(Scope(everything=True))[0] == 1
    assert (index.position(STORE_SOURCE), measures.position(STORE_SOURCE)) == (first, 0)
    assert measures.records() == ([], [])
    app.acknowledge(case_id, STAFF, "on my way")
    with pytest.raises(sqlite3.OperationalError):  # a failure that stays holds back only itself
        feed.catch_up()
    assert index.position(STORE_SOURCE) == app.recorder.max_notification_id()
    assert measures.position(STORE_SOURCE) == 0

    measures.apply_in = real  # type: ignore[method-assign]
    app.assign(case_id, STAFF, STAFF, "on duty")
    top = app.recorder.max_notification_id()
    assert feed.catch_up() == 1  # the assignment: the index has the rest, as a no-op again
    assert (index.position(STORE_SOURCE), measures.position(STORE_SOURCE)) == (top, top)
    assert feed.read_models.position(STORE_SOURCE) == top
    records, tasks = measures.records()
    assert [r.case_id for r in records] == [str(case_id)]
    assert [t.assignee_id for t in tasks] == [STAFF.id]
    with pytest.raises(ValueError, match="cannot share"):
        MeasuresModel(tmp_path / "other.db", beside=index)
    index.close()
    app.close()


def test_measures_that_keep_failing_do_not_hold_the_case_index_back_past_a_page(
    tmp_path: Path,
) -> None:
    """Pages of two events, six reports, measures failing every time: the index still reads
    to the end of the log (alone, from its own position), and the measures' error is raised;
    once they can go on, they catch up from where they stood."""
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=FakeClock(T0))
    for n in range(6):
        app.report_repair(RESIDENT, FLAT, f"light {n} out", "lighting")
    index = CaseIndex(tmp_path / "intake.db")
    measures = MeasuresModel(tmp_path / "intake.db", beside=index)
    feed = StoreFeed(app, index, batch=2, also=[measures])

    def broken(*args: Any, **kwargs: Any) -> int:
        raise ValueError("a measures bug")

    real = measures.apply_in
    measures.apply_in = broken  # type: ignore[method-assign]
    top = app.recorder.max_notification_id()
    for _ in range(2):
        with pytest.raises(ValueError, match="a measures bug"):
            feed.catch_up()
        assert index.list(Scope(everything=True))[0] == 6
        assert (index.position(STORE_SOURCE), measures.position(STORE_SOURCE)) == (top, 0)

    measures.apply_in = real  # type: ignore[method-assign]
    assert feed.catch_up() == 0  # the index had every case already
    assert (index.position(STORE_SOURCE), measures.position(STORE_SOURCE)) == (top, top)
    assert len(measures.records()[0]) == 6
    index.close()
    app.close()


def test_a_listing_shows_what_was_just_stored_though_the_feed_reads_once_a_minute(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Read your writes without a catch-up per write (docs/adr/019): the feed's thread polls
    once a minute, and the report made through the API (and the assignment another writer made
    straight to the store) are listed at once, because the listing catches the index up first.
    Not a timing: nothing in the test waits."""
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}", feed_poll_seconds=60)
    with TestClient(create_app(settings, clock=clock)) as client:
        desk = Desk(client, clock, settings)
        rt = client.app.state.runtime  # type: ignore[attr-defined]
        rt.store_feed.stop()  # its first round may come late: only the listing catches up here
        before = rt.intake.index.position(STORE_SOURCE)
        case_id = desk.report(desk.resident())["case_id"]
        assert rt.intake.index.position(STORE_SOURCE) == before  # the report caught nothing up
        listed = client.get("/cases", headers=desk.resident()).json()
        assert [c["case_id"] for c in listed["items"]] == [case_id]
        assert listed["index_position"] == rt.intake.app.recorder.max_notification_id()

        rt.intake.app.assign(case_id, MANAGER, STAFF, "on duty")  # another writer, say dispatch
        listed = client.get("/cases", headers=desk.staff()).json()
        assert [c["status"] for c in listed["items"]] == ["assigned"]


def test_a_reader_does_not_queue_behind_a_catch_up_under_way(tmp_path: Path) -> None:
    """A catch-up that holds on (the poller's round waiting on an unreachable store, here the
    lock held by the test itself) is waited for `READ_WAIT` at most: the reader then reads the
    index as it stands (False), instead of queueing one store timeout behind each reader."""
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    with Casework(url) as app:
        app.report_repair(RESIDENT, FLAT, "light out", "lighting")
        index = CaseIndex(tmp_path / "intake.db")
        feed = StoreFeed(app, index)
        with feed._lock:
            assert feed.catch_up_to_read() is False
        assert index.position(STORE_SOURCE) == 0
        assert feed.catch_up_to_read() is True
        assert index.position(STORE_SOURCE) == app.recorder.max_notification_id()
        index.close()


def test_the_feed_alone_brings_another_writers_cases_in(tmp_path: Path) -> None:
    """With no reader catching up, the feed's thread polls the log and applies what another
    process recorded (here another connection to the store file)."""
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    with Casework(url) as writer, Casework(url) as following:
        index = CaseIndex(tmp_path / "intake.db")
        feed = StoreFeed(following, index)
        feed.start(0.05)
        try:
            writer.report_repair(RESIDENT, FLAT, "light out", "lighting")
            deadline = time.monotonic() + 10
            while not index.list(Scope(everything=True))[1]:
                assert time.monotonic() < deadline, "the feed did not bring the case in"
                time.sleep(0.05)
        finally:
            feed.stop()
            index.close()
