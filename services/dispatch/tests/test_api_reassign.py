"""Reassignment and leaving with work handed on, through the API: the manager only, pydantic
validation, and 4xx answers a person can act on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from casework import FakeClock
from dispatch.api import create_app
from dispatch.testing import (
    FLAT,
    MANAGER,
    RESIDENT,
    STAFF_LI,
    STAFF_ZHOU,
    T0,
    Desk,
    assignee_of,
    event_names,
    make_settings,
    small_roster,
)
from fastapi.testclient import TestClient


@pytest.fixture
def desk(store_url: str, tmp_path: Path) -> Iterator[Desk]:
    clock = FakeClock(T0)
    settings = make_settings(tmp_path, store_url)
    with TestClient(create_app(settings, clock, background=False)) as client:
        yield Desk(client, clock, settings)


def reported(desk: Desk) -> str:
    case_id = str(
        desk.app.casework.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing")
    )
    desk.dispatch_case(case_id)
    return case_id


def test_the_manager_reassigns_held_work_by_name_or_by_the_rule(desk: Desk) -> None:
    small_roster(desk.app)
    case_id = reported(desk)
    manager = desk.auth(MANAGER)
    li, zhou = desk.auth(STAFF_LI), desk.auth(STAFF_ZHOU)
    refused = desk.post(f"/tasks/{case_id}/reassign", zhou, {"reason": "mine now"}, status=403)
    assert "property manager" in str(refused)
    desk.post(f"/tasks/{case_id}/reassign", manager, {}, status=422)
    desk.post(f"/tasks/{case_id}/reassign", manager, {"reason": "x", "extra": 1}, status=422)
    desk.post(f"/tasks/{case_id}/reassign", manager, {"reason": "ill", "to": "nobody"}, status=404)
    same = desk.post(
        f"/tasks/{case_id}/reassign", manager, {"reason": "ill", "to": "staff-li"}, status=422
    )
    assert "already holds" in str(same)
    moved = desk.post(
        f"/tasks/{case_id}/reassign", manager, {"reason": "Li fell ill", "to": "staff-zhou"}
    )
    assert moved["assignee"] == {"id": "staff-zhou", "role": "property_staff"}
    assert moved["why"] == "reassigned from staff-li: Li fell ill"
    assert desk.get("/tasks", li)["items"] == []
    assert [t["id"] for t in desk.get("/tasks", zhou)["items"]] == [case_id]
    desk.post(f"/tasks/{case_id}/accept", li, status=409)  # no longer Li's
    queued = desk.post(f"/tasks/{case_id}/reassign", manager, {"reason": "Zhou away"})
    assert queued["assignee"] is None
    assert queued["queued_at"] is not None
    assert "nobody suitable" in queued["why"]
    again = desk.post(f"/tasks/{case_id}/reassign", manager, {"reason": "again"}, status=409)
    assert "held by nobody" in str(again)
    assert event_names(desk.app, case_id).count("AssignmentDeclined") == 2
    assert [i["work_id"] for i in desk.get("/queue", manager)["items"]] == [case_id]


def test_leaving_while_holding_work_is_refused_with_the_list_or_handed_on(desk: Desk) -> None:
    small_roster(desk.app)
    case_id = reported(desk)
    manager = desk.auth(MANAGER)
    refused = desk.post("/roster/members/staff-li/leave", manager, {"reason": "moved"}, status=409)
    assert case_id in str(refused)
    assert "hand_on" in str(refused)
    left = desk.post(
        "/roster/members/staff-li/leave", manager, {"reason": "moved", "hand_on": True}
    )
    assert left["active"] is False
    assert left["load"] == 0
    assert left["handed_on"] == [
        {
            "work_id": case_id,
            "assigned_to": "staff-zhou",
            "why": left["handed_on"][0]["why"],
        }
    ]
    assert assignee_of(desk.app, case_id) == "staff-zhou"
    nothing_held = desk.post(
        "/roster/members/vol-qian/leave", manager, {"reason": "moved", "hand_on": True}
    )
    assert nothing_held["handed_on"] == []
