"""The case feed hands on contracts: without NATS, each event that concerns mediation reaches the
handler as the very `CaseEvent` the relay publishes for it, and nothing else does; one it cannot
read is shown as skipped and passed; and the NATS filter agrees with the store feed on what
concerns mediation."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from casework import Actor, Casework, Role
from casework.clock import FakeClock
from casework.contracts import EVENT_MODELS, CaseEvent, parse_event, type_name
from casework.messaging.relay import StoreReader
from casework.messaging.subjects import event_subject, subject_matches
from eventsourcing.persistence import StoredEvent
from mediation.feeds import SUBJECTS, Handler, StoreFeed, WorklistFeed
from mediation.reactions import MEDIATION, concerns_mediation
from mediation.testing import COMPOUND, FLAT, RESIDENT
from mediation.worklist import Worklist

STAFF = Actor("property-staff-liu", Role.PROPERTY_STAFF)
NEIGHBOUR = Actor("resident-wanxin-b12-0402", Role.RESIDENT)


class Recording(Handler):
    """The feed's handler, noting each event it is given."""

    def __init__(self, worklist: Worklist) -> None:
        super().__init__(worklist)
        self.seen: list[CaseEvent] = []

    def __call__(self, event: CaseEvent, app: Casework) -> None:
        self.seen.append(event)
        super().__call__(event, app)


@pytest.fixture
def over_the_store(
    store_url: str, tmp_path: Path, clock: FakeClock
) -> Iterator[tuple[Casework, Worklist]]:
    app = Casework(store_url, clock=clock)
    worklist = Worklist(tmp_path / "worklist.db")
    try:
        yield app, worklist
    finally:
        worklist.close()
        app.close()


def relayed(app: Casework) -> list[CaseEvent]:
    """What the relay would publish for everything the store holds, read back as a consumer
    reads it."""
    return [parse_event(o.body, o.headers["ce-type"]) for o in StoreReader(app).after(0, 10_000)]


def test_the_store_feed_hands_on_each_event_as_the_relay_publishes_it(
    over_the_store: tuple[Casework, Worklist],
) -> None:
    app, worklist = over_the_store
    leak = app.report_leak(NEIGHBOUR, FLAT, "water through the ceiling", "0502")
    app.record_cause(leak, STAFF, "a burst pipe in 0502", "a stained ceiling", ["0402"])
    dispute = app.report_dispute(RESIDENT, COMPOUND, "who pays for the ceiling?", "fees")
    app.link_cases(leak, dispute, STAFF, "damage_dispute")
    app.report_repair(RESIDENT, FLAT, "the stairwell light is out")  # dispatch's, not ours
    feed = StoreFeed(app, worklist)
    feed.handler = recording = Recording(worklist)

    handled = feed.catch_up()

    published = relayed(app)
    expected = [event for event in published if concerns_mediation(type(event))]
    assert recording.seen == expected
    assert handled == len(expected)
    assert {"casework.leak.cause_recorded.v1", "casework.dispute.linked_to_case.v1"} <= {
        event.type for event in recording.seen
    }
    assert {"casework.repair.reported.v1", "casework.leak.reported.v1"} <= {
        event.type for event in published if event not in recording.seen
    }
    # The reaction to the link was handed on too: the note it added, by the service.
    assert recording.seen[-1].type == "casework.dispute.note_added.v1"
    assert recording.seen[-1].actor_id == MEDIATION.id
    assert worklist.count() == 1


def test_an_event_the_feed_cannot_read_is_shown_skipped_and_the_feed_goes_on(
    over_the_store: tuple[Casework, Worklist],
) -> None:
    """A dispute event from a newer version (its class unknown here): the worklist records it
    under the store's name for it, and the dispute after it is listed as ever."""
    app, worklist = over_the_store
    stranger = uuid4()
    app.recorder.insert_events(
        [StoredEvent(stranger, 1, "casework.domain.dispute:Dispute.WitnessHeard", b"{}")]
    )
    dispute = app.report_dispute(RESIDENT, COMPOUND, "noise after ten", "noise")
    feed = StoreFeed(app, worklist)
    feed.handler = recording = Recording(worklist)

    handled = feed.catch_up()

    [skipped] = worklist.skipped()
    assert (skipped.case_id, skipped.version, skipped.event) == (
        str(stranger),
        1,
        "Dispute.WitnessHeard",
    )
    assert handled == len(recording.seen) >= 1
    assert {event.case_id for event in recording.seen} == {dispute}
    assert worklist.count() == 1
    assert feed.position == app.recorder.max_notification_id()
    assert StoreFeed(app, worklist).catch_up() == 0  # tracked: a restart does not read it again


def test_a_replicas_worklist_feed_lists_every_dispute_and_reacts_to_none(
    over_the_store: tuple[Casework, Worklist], tmp_path: Path
) -> None:
    """With replicas the reactions go through the shared consumer (one replica each) and every
    replica's worklist follows the store's log (docs/adr/013): whole, without reacting, and a
    second reading of the log (a restart) changes nothing."""
    app, worklist = over_the_store
    disputes = [
        app.report_dispute(RESIDENT, COMPOUND, f"noise after ten, floor {n}", "noise")
        for n in range(3)
    ]
    leak = app.report_leak(NEIGHBOUR, FLAT, "water through the ceiling", "0502")
    app.link_cases(leak, disputes[0], STAFF, "damage_dispute")  # mediation would react: a note
    app.report_repair(RESIDENT, FLAT, "the stairwell light is out")
    events_before = app.recorder.max_notification_id()

    feed = WorklistFeed(app, worklist)
    refreshed = feed.catch_up()

    assert worklist.count() == len(disputes)
    assert refreshed == len(disputes)
    assert app.recorder.max_notification_id() == events_before, "it reacted to something"
    assert feed.position == events_before
    app.add_note(disputes[1], STAFF, "heard again on Tuesday")
    assert feed.catch_up() == 1
    again = Worklist(tmp_path / "again.db")
    try:
        assert WorklistFeed(app, again).catch_up() == len(disputes)
        assert again.count() == worklist.count()
    finally:
        again.close()


@pytest.mark.parametrize("model", EVENT_MODELS, ids=type_name)
def test_the_nats_filter_and_the_store_feed_agree_on_what_concerns_mediation(
    model: type[CaseEvent],
) -> None:
    _, kind, event, _version = type_name(model).split(".")
    subject = event_subject(kind, event, "jiayu-xx", "wanxin-intl")
    on_nats = any(subject_matches(subject, pattern) for pattern in SUBJECTS)
    assert on_nats == concerns_mediation(model)


class _Counted(WorklistFeed):
    """A replica's worklist feed, noting when its first round is over (then it waits)."""

    def __init__(self, app: Casework, worklist: Worklist) -> None:
        super().__init__(app, worklist)
        self.first_round_over = threading.Event()

    def catch_up(self) -> int:
        refreshed = super().catch_up()
        self.first_round_over.set()
        return refreshed


def test_the_worklist_feed_wakes_on_a_commit_not_on_its_poll_interval(tmp_path: Path) -> None:
    """Not a timing: the poll interval is a minute, so a dispute that shows within the test's
    few seconds was brought by the SQLite change signal (`casework.sqlite_changes`) waking the
    feed. The dispute is reported by another connection only once the first round is over."""
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    with Casework(url) as writer, Casework(url) as following:
        worklist = Worklist(tmp_path / "worklist.db")
        feed = _Counted(following, worklist)
        feed.start(60.0)
        try:
            assert feed.first_round_over.wait(10), "the feed never ran"
            writer.report_dispute(RESIDENT, COMPOUND, "noise after ten", "noise")
            deadline = time.monotonic() + 10
            while worklist.count() == 0:
                assert time.monotonic() < deadline, "the feed did not wake on the commit"
                time.sleep(0.05)
        finally:
            feed.stop()
            worklist.close()
