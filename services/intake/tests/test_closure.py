"""Closing a case file (结案) at the intake: who may, and only when nobody has anything left to do.

Work and mediation are done through the library here (dispatch's and mediation's jobs); what the
residents and staff say afterwards goes through the intake's HTTP API, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from casework import Actor, Role
from intake.testing import FLAT, OTHER_COMPOUND, Desk

STAFF = Actor("staff-li", Role.PROPERTY_STAFF)


def library(desk: Desk) -> Any:
    return desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]


def resolved_repair(desk: Desk) -> str:
    case_id: str = desk.report(desk.resident(), kind="repair")["case_id"]
    app = library(desk)
    app.assign(case_id, STAFF, STAFF, "on duty in building 12")
    app.start_work(case_id, STAFF)
    app.finish_work(case_id, STAFF, "replaced the bulb")
    app.resolve(case_id, STAFF, "light works again")
    return case_id


def visit_back(desk: Desk, case_id: str) -> None:
    visit = desk.client.post(
        f"/cases/{case_id}/return-visits", json={"note": "called back"}, headers=desk.staff()
    )
    assert visit.status_code == 200, visit.text


def close(desk: Desk, case_id: str, headers: dict[str, str], reason: str = "") -> Any:
    return desk.client.post(f"/cases/{case_id}/closure", json={"reason": reason}, headers=headers)


def test_staff_close_a_confirmed_and_visited_case_and_then_nothing_more_can_happen_to_it(
    desk: Desk,
) -> None:
    case_id = resolved_repair(desk)
    assert desk.client.post(f"/cases/{case_id}/confirmation", headers=desk.resident()).is_success
    visit_back(desk, case_id)
    closed = close(desk, case_id, desk.staff(), "confirmed and visited back")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"] is not None
    last = desk.client.get(f"/cases/{case_id}/history", headers=desk.auditor()).json()["events"]
    assert (last[-1]["event"], last[-1]["actor_id"], last[-1]["actor_role"]) == (
        "Closed",
        "staff-li",
        "property_staff",
    )
    assert last[-1]["reason"] == "confirmed and visited back"
    for path, body in (("reopening", {"reason": "again"}), ("rating", {"score": 4})):
        late = desk.client.post(f"/cases/{case_id}/{path}", json=body, headers=desk.resident())
        assert late.status_code == 409, late.text
        assert "closed" in late.json()["message"]
    again = close(desk, case_id, desk.staff())
    assert again.status_code == 409
    assert "already closed" in again.json()["message"]
    assert desk.client.get(f"/cases/{case_id}/verify", headers=desk.auditor()).json()["ok"]


def test_an_unconfirmed_case_waits_out_the_reopening_window_before_it_can_be_closed(
    desk: Desk,
) -> None:
    case_id = resolved_repair(desk)
    visit_back(desk, case_id)
    early = close(desk, case_id, desk.staff())
    assert early.status_code == 409
    assert early.json()["code"] == "invalid_transition"
    assert "7-day reopening window" in early.json()["message"]
    desk.clock.advance(timedelta(days=7, minutes=1))
    closed = close(desk, case_id, desk.staff())
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"


def test_a_case_is_not_closed_without_a_return_visit_since_it_was_last_resolved(
    desk: Desk,
) -> None:
    case_id = resolved_repair(desk)
    visit_back(desk, case_id)
    reopened = desk.client.post(
        f"/cases/{case_id}/reopening", json={"reason": "flickers"}, headers=desk.resident()
    )
    assert reopened.status_code == 200, reopened.text
    app = library(desk)
    app.start_work(case_id, STAFF)
    app.finish_work(case_id, STAFF, "new fitting")
    app.resolve(case_id, STAFF, "fixed for good")
    assert desk.client.post(f"/cases/{case_id}/confirmation", headers=desk.resident()).is_success
    refused = close(desk, case_id, desk.staff())
    assert refused.status_code == 409
    assert "回访" in refused.json()["message"]
    visit_back(desk, case_id)
    assert close(desk, case_id, desk.staff()).status_code == 200


def test_a_case_still_open_is_not_closed(desk: Desk) -> None:
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    refused = close(desk, case_id, desk.staff())
    assert refused.status_code == 409
    assert "reported" in refused.json()["message"]


def test_residents_and_auditors_may_not_close_and_staff_elsewhere_do_not_see_the_case(
    desk: Desk,
) -> None:
    case_id = resolved_repair(desk)
    assert desk.client.post(f"/cases/{case_id}/confirmation", headers=desk.resident()).is_success
    visit_back(desk, case_id)
    by_resident = close(desk, case_id, desk.resident())
    assert by_resident.status_code == 403
    assert "staff" in by_resident.json()["message"]
    by_auditor = close(desk, case_id, desk.auditor())
    assert by_auditor.status_code == 403
    assert "auditors" in by_auditor.json()["message"]
    by_volunteer = close(desk, case_id, desk.auth("vol-chen", "volunteer", "jiayu-xx/wanxin-intl"))
    assert by_volunteer.status_code == 403
    elsewhere = close(desk, case_id, desk.staff(place=OTHER_COMPOUND, actor="staff-zhou"))
    assert elsewhere.status_code == 404
    assert desk.client.get(f"/cases/{case_id}", headers=desk.resident()).json()["status"] == (
        "confirmed"
    )


def test_a_dispute_is_not_closed_while_a_commitment_waits_to_be_checked_back(desk: Desk) -> None:
    app = library(desk)
    resident = Actor("r-0302", Role.RESIDENT)
    leader = Actor("leader-b12", Role.BUILDING_LEADER)
    case_id = str(app.report_dispute(resident, FLAT, "noise at night", "noise", ["r-0402"]))
    talk = app.convene_mediation(
        case_id,
        leader,
        "building_talk",
        desk.clock() + timedelta(hours=2),
        "lobby of building 12",
        [{"id": "r-0302", "role": "resident"}, {"id": "r-0402", "role": "resident"}],
    )
    app.hold_round(case_id, leader, talk, ["r-0302", "r-0402"], "agreed")
    app.reach_agreement(
        case_id,
        leader,
        talk,
        ["no drilling after 20:00"],
        [{"who": "r-0402", "what": "fit felt pads to the chairs", "due": "2026-12-01"}],
    )
    app.resolve(case_id, leader, "agreed at the building talk")
    assert desk.client.post(f"/cases/{case_id}/confirmation", headers=desk.resident()).is_success
    visit_back(desk, case_id)
    secretary = desk.auth("secretary-wang", "party_secretary", "jiayu-xx/wanxin-intl")
    refused = close(desk, case_id, secretary)
    assert refused.status_code == 409
    assert "(#0); record their follow-ups first" in refused.json()["message"]
    app.record_follow_up(case_id, leader, 0, True, "pads fitted")
    closed = close(desk, case_id, secretary, "settled in the building")
    assert closed.status_code == 200, closed.text
    assert closed.json()["settled_tier"] == "building"


def test_the_reason_is_optional_but_unknown_fields_are_refused(desk: Desk) -> None:
    case_id = resolved_repair(desk)
    response = desk.client.post(
        f"/cases/{case_id}/closure", json={"note": "x"}, headers=desk.staff()
    )
    assert response.status_code == 422
    assert "note" in response.json()["message"]
