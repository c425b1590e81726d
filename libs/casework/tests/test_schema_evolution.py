"""Stored version-1 repair reports read back upcast, keep their chain, and take new commands.

`fixtures/repair_v1.json` holds a case file as a v1 writer stored it (no `category`, no
`class_version`); `fixtures/make_repair_v1.py` says how it was made.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework.application import Casework
from casework.domain import Actor, Repair, Role, Status
from eventsourcing.persistence import StoredEvent

FIXTURE = Path(__file__).parent / "fixtures" / "repair_v1.json"


def v1_events() -> list[StoredEvent]:
    document: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return [
        StoredEvent(
            originator_id=UUID(e["originator_id"]),
            originator_version=e["originator_version"],
            topic=e["topic"],
            state=e["state"].encode("utf-8"),
        )
        for e in document["events"]
    ]


@pytest.fixture
def loaded(app: Casework) -> UUID:
    events = v1_events()
    app.recorder.insert_events(events)
    return events[0].originator_id  # type: ignore[no-any-return]


def test_the_fixture_really_is_version_1(loaded: UUID) -> None:
    reported = json.loads(v1_events()[0].state)
    assert "category" not in reported
    assert "class_version" not in reported
    assert Repair.Reported.class_version == 3


def test_a_stored_v1_report_reads_back_with_category_other(app: Casework, loaded: UUID) -> None:
    case = app.get_case(loaded)
    assert isinstance(case, Repair)
    assert case.category == "other"
    assert case.snapshot()["category"] == "other"
    assert case.status is Status.ASSIGNED
    assert case.description == "kitchen tap drips all night"
    assert case.contacts == {}  # v1 -> v2 -> v3: no contact was carried then
    reported = app.history(loaded)[0]
    assert reported.event == "Reported"
    assert reported.details["category"] == "other"


def test_the_v1_chain_verifies_because_the_hash_covers_the_stored_state(
    app: Casework, loaded: UUID
) -> None:
    result = app.verify(loaded)
    assert result.ok, result.describe()
    assert result.events == 4
    assert result.head == app.get_case(loaded).chain_head


def test_an_edit_to_a_v1_event_is_still_caught(app: Casework, store_url: str, loaded: UUID) -> None:
    with closing(sqlite3.connect(store_url.removeprefix("sqlite:///"))) as db, db:
        db.execute(
            "UPDATE stored_events SET state = replace(state, 'drips all night', 'drips a little') "
            "WHERE originator_id = ? AND originator_version = 1",
            (loaded.hex,),
        )
    result = app.verify(loaded)
    assert (result.ok, result.position) == (False, 1)


def test_new_commands_on_an_upcast_case_work_chain_on_and_verify(
    app: Casework, loaded: UUID, resident: Actor
) -> None:
    staff = Actor("staff-li", Role.PROPERTY_STAFF)
    head_before = app.verify(loaded).head
    app.start_work(loaded, staff)
    app.finish_work(loaded, staff, "new washer")
    app.resolve(loaded, staff, "tap fixed")
    app.confirm_resolution(loaded, resident)

    history = app.history(loaded)
    assert [h.event for h in history[4:]] == [
        "WorkStarted",
        "WorkDone",
        "Resolved",
        "ConfirmedByResident",
    ]
    assert history[4].prev_hash == head_before
    result = app.verify(loaded)
    assert result.ok, result.describe()
    assert result.events == 8
    case = app.get_case(loaded)
    assert (case.status, case.category) == (Status.CONFIRMED, "other")


def test_new_reports_are_stored_as_version_3_with_their_category_and_contact(
    app: Casework, store_url: str, resident: Actor
) -> None:
    case_id = app.report_repair(resident, "jiayu-xx/wanxin-intl/b12/0302", "lift stuck", "lift")
    with closing(sqlite3.connect(store_url.removeprefix("sqlite:///"))) as db:
        (raw,) = db.execute(
            "SELECT state FROM stored_events WHERE originator_id = ? AND originator_version = 1",
            (case_id.hex,),
        ).fetchone()
    stored = json.loads(raw)
    assert (stored["class_version"], stored["category"], stored["contact"]) == (3, "lift", "")
    assert app.get_case(case_id).snapshot()["category"] == "lift"
    assert app.verify(case_id).ok


def test_the_upcaster_fills_a_missing_category_and_keeps_a_recorded_one() -> None:
    v1: dict[str, Any] = {"description": "tap"}
    Repair.Reported.upcast_v1_v2(v1)
    assert v1["category"] == "other"
    unversioned: dict[str, Any] = {"description": "lift", "category": "lift"}
    Repair.Reported.upcast_v1_v2(unversioned)
    assert unversioned["category"] == "lift"
