"""The case feed without NATS: dispatch follows the store's log and hands each repair and leak
event to its handler as the very `CaseEvent` the relay publishes for it, and nothing else; each
event's position commits with the handler's effects, so a restart or a second replica does not
handle it again; an event it cannot read is logged and passed; a report gets assigned with no
NATS anywhere; and the NATS filter agrees with the store feed on what concerns dispatch."""

from __future__ import annotations

import logging
from pathlib import Path
from uuid import uuid4

import pytest
from casework import Casework, FakeClock
from casework.contracts import CaseEvent, model_for_topic, parse_event, type_name
from casework.contracts.registry import all_models
from casework.messaging.relay import StoreReader
from casework.messaging.store_feed import StoreFeed
from casework.messaging.subjects import event_subject, subject_matches
from casework.testing.waiting import eventually
from casework.topics import is_case_topic
from dispatch import feeds
from dispatch.api import create_app
from dispatch.application import Dispatch
from dispatch.feeds import STORE_TRACKING, case_subjects, concerns_dispatch
from dispatch.testing import (
    COMPOUND,
    FLAT,
    MANAGER,
    RESIDENT,
    STAFF_LI,
    T0,
    Desk,
    assignee_of,
    event_names,
    make_settings,
    small_roster,
)
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient


class Recording:
    """The feed's handler, noting each event it is given."""

    def __init__(self, feed: StoreFeed) -> None:
        self.inner = feed.handler
        self.seen: list[CaseEvent] = []
        feed.handler = self

    def __call__(self, event: CaseEvent, casework: Casework) -> None:
        self.seen.append(event)
        self.inner(event, casework)


def relayed(app: Dispatch) -> list[CaseEvent]:
    """What the relay would publish for everything the store holds, read back as a consumer
    reads it."""
    return [
        parse_event(o.body, o.headers["ce-type"])
        for o in StoreReader(app.casework).after(0, 10_000)
    ]


def last_ours(app: Dispatch) -> int:
    """The id of the last notification in the log that concerns dispatch."""
    return max(
        n.id
        for n in app.casework.recorder.select_notifications(start=1, limit=10_000)
        if is_case_topic(n.topic) and concerns_dispatch(model_for_topic(n.topic))
    )


def test_the_store_feed_hands_on_each_repair_and_leak_event_as_the_relay_publishes_it(
    app: Dispatch,
) -> None:
    small_roster(app)
    repair = app.casework.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing")
    leak = app.casework.report_leak(RESIDENT, FLAT, "water through the ceiling", "0402")
    app.casework.report_dispute(RESIDENT, COMPOUND, "who pays for the ceiling?", "fees")
    feed = feeds.store_feed(app)
    recording = Recording(feed)

    handled = feed.catch_up()

    published = relayed(app)  # after the feed: its own effects (the assignments) included
    expected = [event for event in published if concerns_dispatch(type(event))]
    assert recording.seen == expected
    assert handled == len(expected)
    assert {"casework.dispute.reported.v1"} <= {e.type for e in published} - {
        e.type for e in recording.seen
    }
    # What the handler did is on the cases, and its own facts came round the log as well.
    assert assignee_of(app, repair) is not None
    assert assignee_of(app, leak) is not None
    assert {"casework.repair.assigned.v1", "casework.leak.assigned.v1"} <= {
        e.type for e in recording.seen
    }
    assert app.casework.process_recorder.max_tracking_id(STORE_TRACKING) == last_ours(app)


def test_a_restart_resumes_after_the_last_event_handled_and_handles_none_again(
    app: Dispatch, store_url: str, clock: FakeClock
) -> None:
    small_roster(app)
    repair = app.casework.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing")
    assert feeds.store_feed(app).catch_up() > 0
    before = event_names(app, repair)
    restarted = Dispatch(store_url, clock=clock)
    try:
        feed = feeds.store_feed(restarted)
        recording = Recording(feed)
        assert feed.catch_up() == 0
        assert recording.seen == []
        assert event_names(restarted, repair) == before

        later = restarted.casework.report_repair(RESIDENT, FLAT, "the bath tap drips", "plumbing")
        assert feed.catch_up() > 0
        assert {event.case_id for event in recording.seen} == {later}
        assert assignee_of(restarted, later) is not None
    finally:
        restarted.close()


def test_a_second_replica_on_the_same_log_finds_each_event_handled(
    app: Dispatch, store_url: str, clock: FakeClock
) -> None:
    """The second replica read its position before the first handled anything: it reads every
    event again, and each is found tracked, so its handler is never called."""
    small_roster(app)
    repair = app.casework.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing")
    other = Dispatch(store_url, clock=clock)
    try:
        second = feeds.store_feed(other)
        recording = Recording(second)
        assert second.position == 0
        assert feeds.store_feed(app).catch_up() > 0
        names = event_names(app, repair)

        assert second.catch_up() == 0
        assert recording.seen == []
        assert event_names(app, repair) == names
        assert names.count("Assigned") == 1
    finally:
        other.close()


def test_an_event_the_feed_cannot_read_is_logged_and_passed_and_the_feed_goes_on(
    app: Dispatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A repair event from a newer version (its class unknown here)."""
    small_roster(app)
    stranger = uuid4()
    app.casework.recorder.insert_events(
        [StoredEvent(stranger, 1, "casework.domain.repair:Repair.Frobnicated", b"{}")]
    )
    repair = app.casework.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing")
    feed = feeds.store_feed(app)
    recording = Recording(feed)

    with caplog.at_level(logging.ERROR, logger="casework.feed"):
        handled = feed.catch_up()

    [line] = [r for r in caplog.records if r.name == "casework.feed"]
    assert f"case event {stranger} v1 (Repair.Frobnicated) cannot be read" in line.getMessage()
    assert handled == len(recording.seen) >= 1
    assert {event.case_id for event in recording.seen} == {repair}
    assert assignee_of(app, repair) is not None
    assert feed.position == app.casework.recorder.max_notification_id()
    assert feeds.store_feed(app).catch_up() == 0  # tracked: a restart does not read it again


def test_a_report_without_nats_is_assigned_by_the_running_service(
    store_url: str, tmp_path: Path
) -> None:
    clock = FakeClock(T0)
    settings = make_settings(tmp_path, store_url, DISPATCH_FEED_POLL_SECONDS=0.05)
    assert settings.nats_url is None
    with TestClient(create_app(settings, clock)) as client:
        desk = Desk(client, clock, settings)
        desk.post(
            "/roster/members",
            desk.auth(MANAGER),
            {"actor_id": STAFF_LI.id, "role": "property_staff", "skills": ["plumbing"]},
            status=201,
        )
        case_id = desk.app.casework.report_repair(RESIDENT, FLAT, "the tap drips", "plumbing")

        assert eventually(lambda: assignee_of(desk.app, case_id) == STAFF_LI.id)
        mine = eventually(lambda: desk.get("/tasks", desk.auth(STAFF_LI))["items"])
        assert [task["id"] for task in mine] == [str(case_id)]
        ready = client.get("/readyz").json()
        assert ready["consumer"] == "not running (NATS_URL unset): following the store's log"
        assert ready["nats"] == "not configured"


@pytest.mark.parametrize("model", all_models(), ids=type_name)
def test_the_nats_filter_and_the_store_feed_agree_on_what_concerns_dispatch(
    model: type[CaseEvent],
) -> None:
    _, kind, event, _version = type_name(model).split(".")
    subject = event_subject(kind, event, "jiayu-xx", "wanxin-intl")
    on_nats = any(subject_matches(subject, pattern) for pattern in case_subjects())
    assert on_nats == concerns_dispatch(model)
