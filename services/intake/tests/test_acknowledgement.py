"""受理 over HTTP: once when reported, once more at each tier a case climbs to.

A repair that climbed to the compound while assigned keeps its assignee; the compound's manager
answers for the compound with `POST /cases/{id}/acknowledgement` before its own respond_by,
or the case is due to climb again for "no response".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from casework import SYSTEM, Actor, Role
from intake.testing import Desk


def test_the_compound_answers_a_repair_that_climbed_to_it_while_assigned(desk: Desk) -> None:
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    first = desk.client.post(
        f"/cases/{case_id}/acknowledgement", json={"note": "on it"}, headers=desk.staff()
    )
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "acknowledged"
    again = desk.client.post(f"/cases/{case_id}/acknowledgement", headers=desk.staff())
    assert again.status_code == 409
    assert "already answered at the building tier" in again.json()["message"]

    app = desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]
    staff = Actor("staff-li", Role.PROPERTY_STAFF)
    app.assign(case_id, staff, staff, "on duty in building 12")
    desk.clock.advance(timedelta(days=3, seconds=1))
    assert app.escalate_if_due(case_id, SYSTEM) == "deadline passed: not settled at this tier"
    climbed = desk.client.get(f"/cases/{case_id}", headers=desk.staff()).json()
    assert (climbed["tier"], climbed["status"], climbed["responded_at_tier"]) == (
        "compound",
        "assigned",
        None,
    )
    assert climbed["acknowledged_at"] == first.json()["acknowledged_at"]

    manager = desk.auth("manager-wang", "property_manager", "jiayu-xx/wanxin-intl")
    taken = desk.client.post(
        f"/cases/{case_id}/acknowledgement",
        json={"note": "the compound's property office takes it over"},
        headers=manager,
    )
    assert taken.status_code == 200, taken.text
    body = taken.json()
    assert (body["status"], body["assignee"]["id"]) == ("assigned", "staff-li")
    assert datetime.fromisoformat(body["responded_at_tier"]) == desk.clock()
    desk.clock.advance(timedelta(hours=3))  # past the compound's 2 h to respond: answered
    assert app.escalate_if_due(case_id, SYSTEM) is None


def test_residents_and_auditors_do_not_take_cases_up(desk: Desk) -> None:
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    for headers in (desk.resident(), desk.auditor()):
        refused = desk.client.post(f"/cases/{case_id}/acknowledgement", headers=headers)
        assert refused.status_code == 403, refused.text
