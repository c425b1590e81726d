"""What the property office writes in a repair's or a leak's case file while working it, through
dispatch: an escalation by hand, a note, a link to another case; each on the case file with who,
when and why, and refused with a message for what dispatch does not work (a dispute, a service
task), for work outside the caller's sight (404, like an unknown id) and for auditors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from casework import Actor, FakeClock, Role
from dispatch.api import create_app
from dispatch.testing import (
    FLAT,
    MANAGER,
    RESIDENT,
    STAFF_LI,
    T0,
    Desk,
    event_names,
    last_event,
    make_settings,
)
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

AUDITOR = Actor("auditor-qian", Role.AUDITOR)
ELSEWHERE = Actor("staff-jiating", Role.PROPERTY_STAFF)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    clock = FakeClock(T0)
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}")
    with TestClient(create_app(settings, clock, background=False)) as client:
        yield Desk(client, clock, settings)


def _repair(desk: Desk) -> str:
    return str(desk.app.casework.report_repair(RESIDENT, FLAT, "corridor light out", "lighting"))


def _refused(desk: Desk, path: str, who: dict[str, str], body: object) -> tuple[int, str]:
    response = desk.client.post(path, json=body, headers=who)
    return response.status_code, response.json().get("message", "")


def test_the_office_escalates_a_repair_by_hand_with_why_and_the_tier_above_owes_it(
    desk: Desk,
) -> None:
    repair = _repair(desk)
    before = desk.app.casework.get_case(repair).tier.value
    answer = desk.post(
        f"/tasks/{repair}/escalation",
        desk.auth(STAFF_LI),
        {"reason": "no electrician free in the building this week"},
    )
    assert (before, answer["tier"]) == ("building", "compound")
    escalated = last_event(desk.app, repair, "Escalated")
    assert (escalated.actor_id, escalated.reason) == (
        "staff-li",
        "no electrician free in the building this week",
    )
    assert escalated.details["automatic"] is False
    assert _refused(desk, f"/tasks/{repair}/escalation", desk.auth(STAFF_LI), {})[0] == 422


def test_a_note_goes_in_the_case_file_until_it_is_closed(desk: Desk) -> None:
    repair = _repair(desk)
    desk.post(f"/tasks/{repair}/notes", desk.auth(STAFF_LI), {"text": "fitting from stock"})
    noted = last_event(desk.app, repair, "NoteAdded")
    assert (noted.actor_id, noted.details["text"]) == ("staff-li", "fitting from stock")
    assert _refused(desk, f"/tasks/{repair}/notes", desk.auth(STAFF_LI), {"text": "  "})[0] == 422
    casework = desk.app.casework
    casework.assign(repair, MANAGER, STAFF_LI, "electrician")
    casework.start_work(repair, STAFF_LI)
    casework.finish_work(repair, STAFF_LI, "new fitting")
    casework.resolve(repair, MANAGER, "light works")
    casework.confirm_resolution(repair, RESIDENT)
    casework.record_return_visit(repair, MANAGER, "still on a week later")
    casework.close_case(repair, MANAGER, "done")
    status, message = _refused(
        desk, f"/tasks/{repair}/notes", desk.auth(STAFF_LI), {"text": "too late"}
    )
    assert status == 409
    assert "closed" in message


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=200)
    .map(str.strip)
    .filter(bool)
)
def test_any_words_of_a_note_are_what_the_case_file_says(desk: Desk, text: str) -> None:
    repair = _repair(desk)
    desk.post(f"/tasks/{repair}/notes", desk.auth(STAFF_LI), {"text": text})
    assert last_event(desk.app, repair, "NoteAdded").details["text"] == text


def test_a_link_is_recorded_on_both_case_files_once(desk: Desk) -> None:
    repair = _repair(desk)
    dispute = str(
        desk.app.casework.report_dispute(
            RESIDENT, FLAT, "who pays for the corridor lights?", "other", ["r-0302"]
        )
    )
    body = {"case_id": dispute, "relation": "related"}
    desk.post(f"/tasks/{repair}/links", desk.auth(STAFF_LI), body)
    assert desk.app.casework.get_case(repair).links == [(dispute, "related")]
    assert desk.app.casework.get_case(dispute).links == [(repair, "related")]
    again = _refused(desk, f"/tasks/{repair}/links", desk.auth(STAFF_LI), body)
    assert again[0] == 409
    assert "already linked" in again[1]
    itself = _refused(
        desk, f"/tasks/{repair}/links", desk.auth(STAFF_LI), {**body, "case_id": repair}
    )
    assert itself[0] in (400, 422)
    assert "itself" in itself[1]
    unknown = _refused(
        desk, f"/tasks/{repair}/links", desk.auth(STAFF_LI), {**body, "case_id": str(uuid4())}
    )
    assert unknown[0] == 404
    assert (
        _refused(desk, f"/tasks/{repair}/links", desk.auth(STAFF_LI), {**body, "case_id": "x"})[0]
        == 422
    )
    assert event_names(desk.app, dispute).count("LinkedToCase") == 1


def test_what_dispatch_does_not_work_is_refused_with_where_it_belongs(desk: Desk) -> None:
    dispute = str(
        desk.app.casework.report_dispute(RESIDENT, FLAT, "noise at night", "noise", ["r-0302"])
    )
    status, message = _refused(
        desk, f"/tasks/{dispute}/escalation", desk.auth(STAFF_LI), {"reason": "beyond us"}
    )
    assert status == 409
    assert "dispute" in message
    assert "mediation" in message
    need = desk.app.record_demand(
        MANAGER,
        resident_id="r-0302",
        address=FLAT,
        need="carrying",
        description="rice carried up",
    )
    task, _ = desk.app.order_task(MANAGER, str(need.id), description="10 kg rice")
    status, message = _refused(
        desk, f"/tasks/{task.id}/notes", desk.auth(MANAGER), {"text": "rang the bell"}
    )
    assert status == 409
    assert "service task" in message


def test_work_outside_your_sight_is_unknown_and_auditors_change_nothing(desk: Desk) -> None:
    repair = _repair(desk)
    other = _repair(desk)
    elsewhere = desk.auth(ELSEWHERE, place="jiayu-xx/jiating")
    for path, body in (
        ("escalation", {"reason": "why"}),
        ("notes", {"text": "a note"}),
        ("links", {"case_id": other, "relation": "related"}),
    ):
        assert _refused(desk, f"/tasks/{repair}/{path}", elsewhere, body)[0] == 404
        assert _refused(desk, f"/tasks/{repair}/{path}", desk.auth(AUDITOR), body)[0] == 403
    hidden = str(
        desk.app.casework.report_repair(
            RESIDENT, "jiayu-xx/jiating/b5/0201", "heater broken", "appliance"
        )
    )
    linked = _refused(
        desk,
        f"/tasks/{repair}/links",
        desk.auth(STAFF_LI),
        {"case_id": hidden, "relation": "related"},
    )
    assert linked[0] == 404
    assert desk.app.casework.get_case(repair).links == []
