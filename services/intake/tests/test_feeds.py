"""The case feed hands the read models one kind of event whichever way it came: what the store
feed makes of the log is, event for event, what the relay publishes on NATS."""

from __future__ import annotations

import sqlite3
import threading
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
from intake.feeds import STORE_SOURCE, StoreFeed
from intake.measures.model import MeasuresModel
from intake.read_model import CaseIndex
from intake.testing import COMPOUND, FLAT, T0

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


class _Counted(StoreFeed):
    """The intake's store feed, noting when its first round is over (then it waits)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.first_round_over = threading.Event()

    def catch_up(self) -> int:
        applied = super().catch_up()
        self.first_round_over.set()
        return applied


def test_the_store_feed_wakes_on_a_commit_not_on_its_poll_interval(tmp_path: Path) -> None:
    """Not a timing: the poll interval is a minute, so a case that shows within the test's few
    seconds was brought by the SQLite change signal (`casework.sqlite_changes`) waking the feed.
    The case is reported by another connection only once the feed's first round is over."""
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    with Casework(url) as writer, Casework(url) as following:
        index = CaseIndex(tmp_path / "intake.db")
        feed = _Counted(following, index)
        feed.start(60.0)
        try:
            assert feed.first_round_over.wait(10), "the feed never ran"
            writer.report_repair(RESIDENT, FLAT, "light out", "lighting")
            deadline = time.monotonic() + 10
            while not index.list(Scope(everything=True))[1]:
                assert time.monotonic() < deadline, "the feed did not wake on the commit"
                time.sleep(0.05)
        finally:
            feed.stop()
            index.close()


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


def test_catching_up_after_its_own_write_does_not_wake_the_feed_for_it(tmp_path: Path) -> None:
    """A request catches up after its own write and asks the change signal first: the write
    is seen, so the feed's thread is not woken for it; another process's commit after that
    still wakes it (`StoreFeed.catch_up_own`)."""
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    with Casework(url) as desk, Casework(url) as other:
        index = CaseIndex(tmp_path / "intake.db")
        feed = StoreFeed(desk, index)
        changes = feed.change_signal()
        assert changes is not None
        feed._changes = changes  # as `start` sets it, without the thread
        try:
            desk.report_repair(RESIDENT, FLAT, "light out", "lighting")
            assert feed.after_own_write().catch_up() == desk.recorder.max_notification_id()
            assert not changes.changed()  # the own write: seen already
            other.report_repair(RESIDENT, FLAT, "tap drips", "plumbing")
            assert changes.changed()  # another's commit after it: wakes the feed
        finally:
            changes.close()
            index.close()


def test_an_own_catch_up_that_fails_leaves_the_feed_woken(tmp_path: Path) -> None:
    """The request asked the change signal, then failed to read (the store away): the feed's
    thread must still see the write as new, or it would sleep through it until its poll."""
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    with Casework(url) as desk:
        index = CaseIndex(tmp_path / "intake.db")
        feed = StoreFeed(desk, index)
        changes = feed.change_signal()
        assert changes is not None
        feed._changes = changes  # as `start` sets it, without the thread
        feed.contracts = StoreAwayOnce(desk)
        try:
            desk.report_repair(RESIDENT, FLAT, "light out", "lighting")
            with pytest.raises(OperationalError):
                feed.after_own_write().catch_up()
            assert changes.changed()  # the thread's next question: there is something to read
            assert feed.catch_up() == desk.recorder.max_notification_id()
        finally:
            changes.close()
            index.close()
