"""A meeting after its convening, over HTTP: attendance checked against the invited, walk-ins
with their reason, rescheduling (the worklist follows) and cancelling."""

from __future__ import annotations

from datetime import datetime, timedelta

from casework import Actor, Role
from mediation.testing import FLAT, NEIGHBOUR, OTHER_COMPOUND, RESIDENT, Mediators


def report_noise(m: Mediators) -> str:
    case = m.app.report_dispute(RESIDENT, FLAT, "drums after 22:00", "noise", [NEIGHBOUR.id])
    m.catch_up()
    return str(case)


def convene_talk(m: Mediators, case_id: str) -> dict[str, str]:
    body = {
        "form": "building_talk",
        "scheduled_for": (m.clock() + timedelta(days=1)).isoformat(),
        "place": "building 12 lobby",
        "participants": [{"id": "staff-li", "role": "property_staff"}],
    }
    return m.post(f"/disputes/{case_id}/meetings", m.leader(), 201, **body)  # type: ignore[no-any-return]


def test_a_round_refuses_attendees_who_were_not_invited_and_takes_walk_ins(
    mediators: Mediators,
) -> None:
    m = mediators
    case_id = report_noise(m)
    meeting = convene_talk(m, case_id)
    path = f"/meetings/{meeting['meeting_id']}/rounds"
    body = {"attendees": [RESIDENT.id, "resident-0502"], "outcome": "progress"}
    refused = m.client.post(path, json=body, headers=m.leader())
    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_transition")
    message = refused.json()["message"]
    assert "resident-0502 was not invited" in message
    assert "walk-ins" in message
    no_reason = m.client.post(
        path,
        json=dict(body, walk_ins=[{"id": "resident-0502", "role": "resident"}]),
        headers=m.leader(),
    )
    assert no_reason.status_code == 422
    assert "reason" in no_reason.text
    recorded = m.post(
        path,
        m.leader(),
        201,
        attendees=[RESIDENT.id],
        outcome="progress",
        walk_ins=[
            {"id": "resident-0502", "role": "resident", "reason": "hears the drums too; asked in"}
        ],
    )
    assert recorded["round"]["attendees"] == [RESIDENT.id, "resident-0502"]
    (seen,) = recorded["dispute"]["meetings"]
    assert seen["checks_attendance"] is True
    assert seen["participants"][-1] == {
        "id": "resident-0502",
        "role": "resident",
        "department": None,
    }
    (joined,) = seen["changes"]
    assert (joined["change"], joined["by"], joined["role"], joined["reason"]) == (
        "joined",
        "building-leader-b12",
        "building_leader",
        "hears the drums too; asked in",
    )
    rules = m.get("/mediation-rules", m.leader())
    checked = {f["form"]: f["checks_attendance"] for f in rules["forms"]}
    assert checked["building_talk"]
    assert not checked["opinion_collection"]


def test_a_rescheduled_meeting_shows_its_new_time_on_the_worklist(mediators: Mediators) -> None:
    m = mediators
    case_id = report_noise(m)
    meeting = convene_talk(m, case_id)
    meeting_id = meeting["meeting_id"]
    new_time = m.clock() + timedelta(days=3, hours=2)
    moved = m.post(
        f"/meetings/{meeting_id}/reschedule",
        m.leader(),
        200,
        scheduled_for=new_time.isoformat(),
        reason="the neighbour is away until Thursday",
    )
    assert datetime.fromisoformat(moved["scheduled_for"]) == new_time
    assert moved["place"] == "building 12 lobby"
    assert moved["status"] == "scheduled"
    (change,) = moved["changes"]
    assert (change["change"], change["reason"]) == (
        "rescheduled",
        "the neighbour is away until Thursday",
    )
    row = m.get("/disputes", m.leader())["items"][0]
    assert datetime.fromisoformat(row["next_meeting_at"]) == new_time
    assert new_time.isoformat() in row["next_action"]
    same = m.client.post(
        f"/meetings/{meeting_id}/reschedule",
        json={"scheduled_for": new_time.isoformat(), "reason": "again"},
        headers=m.leader(),
    )
    assert same.status_code == 422
    assert "give a new time or place" in same.json()["message"]
    naive = m.client.post(
        f"/meetings/{meeting_id}/reschedule",
        json={"scheduled_for": "2021-03-05T19:00:00", "reason": "x"},
        headers=m.leader(),
    )
    assert naive.status_code == 422


def test_a_cancelled_meeting_takes_no_rounds_and_leaves_the_worklist(
    mediators: Mediators,
) -> None:
    m = mediators
    case_id = report_noise(m)
    meeting = convene_talk(m, case_id)
    meeting_id = meeting["meeting_id"]
    path = f"/meetings/{meeting_id}/cancel"
    assert m.client.post(path, json={"reason": "x"}).status_code == 401
    auditor = m.client.post(path, json={"reason": "x"}, headers=m.auditor())
    assert auditor.status_code == 403
    outsider = m.auth("secretary-jiating", "party_secretary", OTHER_COMPOUND)
    assert m.client.post(path, json={"reason": "x"}, headers=outsider).status_code == 404
    assert m.client.post(path, json={}, headers=m.leader()).status_code == 422
    unknown = m.client.post("/meetings/nope/cancel", json={"reason": "x"}, headers=m.leader())
    assert unknown.status_code == 404
    cancelled = m.post(path, m.leader(), 200, reason="the drummer moved out")
    assert cancelled["status"] == "cancelled"
    assert cancelled["changes"][-1]["reason"] == "the drummer moved out"
    row = m.get("/disputes", m.leader())["items"][0]
    assert row["next_meeting_at"] is None
    assert row["next_action"] == "convene a meeting at the building"
    for attempt in (
        ("rounds", {"attendees": [RESIDENT.id], "outcome": "progress"}),
        ("reschedule", {"scheduled_for": m.clock().isoformat(), "reason": "after all"}),
        ("cancel", {"reason": "twice"}),
    ):
        refused = m.client.post(
            f"/meetings/{meeting_id}/{attempt[0]}", json=attempt[1], headers=m.leader()
        )
        assert refused.status_code == 409, attempt
        assert "cancelled" in refused.json()["message"]
    history = m.app.history(case_id)
    assert [h.event for h in history][-1] == "MeetingCancelled"
    assert history[-1].actor_role == "building_leader"
    assert m.app.verify(case_id).ok
    # A resident is told why not, not shown a 500.
    resident = m.client.post(
        f"/meetings/{meeting_id}/reschedule",
        json={"scheduled_for": m.clock().isoformat(), "reason": "x"},
        headers=m.resident(Actor(NEIGHBOUR.id, Role.RESIDENT)),
    )
    assert resident.status_code == 403
