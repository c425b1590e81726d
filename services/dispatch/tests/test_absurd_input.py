"""Issue 10 §4 at dispatch: a task's due_by and a recurrence's start are times a person can
mean, never numbers, and the board goes on past an event it cannot fold in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from casework import Actor, Case, Role
from casework.clock import FakeClock
from casework.domain.repair import Repair
from casework.testing.unchecked import record_unchecked
from dispatch.api import create_app
from dispatch.domain.member import Member, member_id
from dispatch.testing import (
    FLAT,
    MANAGER,
    RESIDENT,
    T0,
    VOLUNTEER_QIAN,
    Desk,
    make_settings,
    small_roster,
)
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from fastapi.testclient import TestClient

THE_ISSUES_TIME = "0001-01-01T01:01:05+20:40"
NEED = {
    "resident_id": "r-0302",
    "address": FLAT,
    "need": "carrying",
    "description": "rice and water carried up",
}


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    clock = FakeClock(T0)
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}")
    with TestClient(create_app(settings, clock, background=False)) as client:
        d = Desk(client, clock, settings)
        small_roster(d.app)
        yield d


def events_in(desk: Desk) -> int:
    return desk.app.casework.recorder.max_notification_id() or 0


WEEKLY = {"kind": "weekly", "weekdays": ["sat"], "time": "09:00"}


@pytest.mark.parametrize(
    ("where", "body", "words"),
    [
        ("tasks", {"due_by": 0}, "ISO 8601 string"),
        ("tasks", {"due_by": THE_ISSUES_TIME}, "offsets run from -14:00 to +14:00"),
        ("tasks", {"due_by": "1970-01-01T00:00:00Z"}, "2000 to 2099"),
        ("tasks", {"due_by": "2028-01-01T10:00:00+08:00"}, "outside its window"),
        ("tasks", {"description": "ten kilos\x00 of rice"}, "control character U+0000"),
        ("demands", {**NEED, "description": "rice\x07"}, "control character U+0007"),
        ("demands", {**NEED, "recurrence": {**WEEKLY, "starts_on": 0}}, "ISO 8601"),
        ("demands", {**NEED, "recurrence": {**WEEKLY, "starts_on": "2028-01-01"}}, "window"),
        ("demands", {**NEED, "recurrence": {**WEEKLY, "starts_on": "1999-01-01"}}, "2000-01-01"),
    ],
)
def test_an_absurd_time_or_text_is_a_422_that_says_why_and_nothing_is_stored(
    desk: Desk, where: str, body: dict[str, Any], words: str
) -> None:
    manager = desk.auth(MANAGER)
    path = "/demands"
    if where == "tasks":
        need = desk.post("/demands", manager, NEED, status=201)
        path = f"/demands/{need['id']}/tasks"
    before = events_in(desk)
    refused = desk.client.post(path, json=body, headers=manager)
    assert refused.status_code == 422, refused.text
    assert words in refused.json()["message"], refused.text
    assert events_in(desk) == before


def test_a_body_that_is_not_json_is_a_400(desk: Desk) -> None:
    answer = desk.client.post(
        "/demands", content=b"{", headers={**desk.auth(MANAGER), "content-type": "application/json"}
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_json")


def test_the_board_goes_on_past_events_it_cannot_fold_in_and_says_so(desk: Desk) -> None:
    """Two events from before the rules: deadlines no calendar reaches (the board folds them in:
    it compares times, never converts them), and one that does not even decode: the board
    records it (case, version, error) and folds in what follows."""
    absurd = desk.app.casework.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing")
    record_unchecked(
        desk.app.casework,
        absurd,
        Case.DeadlinesSet,
        timestamp=desk.clock(),
        actor_id=MANAGER.id,
        actor_role=MANAGER.role.value,
        respond_by=datetime.fromisoformat(THE_ISSUES_TIME),
        settle_by=datetime.fromisoformat(THE_ISSUES_TIME),
    )
    broken = desk.app.casework.report_repair(RESIDENT, FLAT, "the hall light is out", "lighting")
    desk.app.casework.recorder.insert_events(
        [
            StoredEvent(
                originator_id=broken,
                originator_version=3,
                topic=get_topic(Repair.NoteAdded),
                state=b"{ not json",
            )
        ]
    )
    after = desk.app.casework.report_repair(RESIDENT, FLAT, "the lift judders", "lift")

    board = desk.runtime.board
    board.catch_up()
    assert absurd in board.cases
    assert after in board.cases

    ready = desk.client.get("/readyz").json()
    assert ready["ready"] is True
    assert ready["unapplied_events"] == 1
    (seen,) = ready["unapplied"]
    assert (seen["read_model"], seen["case_id"], seen["version"], seen["event"]) == (
        "board",
        str(broken),
        3,
        "Repair.NoteAdded",
    )
    assert "MapperDeserialisationError" in seen["error"]
    assert 'dispatch_unapplied_events{read_model="board"} 1.0' in desk.client.get("/metrics").text
    board.catch_up()  # read again: nothing is recorded twice
    assert len(board.skipped) == 1


def test_the_followed_roster_goes_on_past_a_member_event_it_cannot_read(desk: Desk) -> None:
    """The roster the rule reads, folded from the log: an undecodable event of one member is
    recorded and shown; the members after it are folded in."""
    qian = member_id(VOLUNTEER_QIAN.id)
    version = (
        desk.app.casework.recorder.select_events(qian, desc=True, limit=1)[0].originator_version + 1
    )
    desk.app.casework.recorder.insert_events(
        [
            StoredEvent(
                originator_id=qian,
                originator_version=version,
                topic=get_topic(Member.MaxLoadSet),
                state=b"{ not json",
            )
        ]
    )
    later = Actor("vol-sun", Role.VOLUNTEER)
    desk.post(
        "/roster/members",
        desk.auth(MANAGER),
        {"actor_id": later.id, "role": "volunteer", "skills": ["carrying"]},
        status=201,
    )
    followed = desk.app.followed
    followed.catch_up()
    assert member_id(later.id) in followed.members

    ready = desk.client.get("/readyz").json()
    assert ready["unapplied_events"] == 1
    (seen,) = ready["unapplied"]
    assert (seen["read_model"], seen["case_id"], seen["version"], seen["event"]) == (
        "roster",
        str(qian),
        version,
        "Member.MaxLoadSet",
    )
    assert 'dispatch_unapplied_events{read_model="roster"} 1.0' in desk.client.get("/metrics").text
