"""The dispatch API over a real store: the people doing the work, the property manager's roster,
queue and demand list; the same auth, error and health standards as the intake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from casework import Actor, FakeClock, Role
from dispatch.api import create_app
from dispatch.testing import (
    COMPOUND,
    FLAT,
    MANAGER,
    NIGHT,
    RESIDENT,
    STAFF_LI,
    STAFF_ZHOU,
    T0,
    VOLUNTEER_QIAN,
    Desk,
    event_names,
    make_settings,
)
from fastapi.testclient import TestClient

OFFICER = Actor("officer-sun", Role.COMMUNITY_OFFICER)
AUDITOR = Actor("auditor-qian", Role.AUDITOR)
OTHER_STAFF = Actor("staff-jiating", Role.PROPERTY_STAFF)


@pytest.fixture
def desk(store_url: str, tmp_path: Path) -> Iterator[Desk]:
    clock = FakeClock(T0)
    settings = make_settings(tmp_path, store_url)
    with TestClient(create_app(settings, clock, background=False)) as client:
        yield Desk(client, clock, settings)


@pytest.fixture
def lite_desk(tmp_path: Path) -> Iterator[Desk]:
    clock = FakeClock(T0)
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}")
    with TestClient(create_app(settings, clock, background=False)) as client:
        yield Desk(client, clock, settings)


def put_on_roster(desk: Desk, who: Actor, **body: object) -> dict[str, object]:
    payload = {"actor_id": who.id, "role": who.role.value, "skills": ["plumbing"]}
    payload.setdefault("places", [COMPOUND])
    payload.update(body)
    result: dict[str, object] = desk.post(
        "/roster/members", desk.auth(MANAGER), payload, status=201
    )
    return result


def test_a_repair_is_assigned_and_its_assignee_works_it_through_the_api(desk: Desk) -> None:
    put_on_roster(
        desk, STAFF_LI, name="李师傅", availability=["mon-fri 08:00-18:00"], reason="plumber"
    )
    case_id = str(
        desk.app.casework.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing")
    )
    desk.dispatch_case(case_id)
    li = desk.auth(STAFF_LI)
    mine = desk.get("/tasks", li)
    assert [t["id"] for t in mine["items"]] == [case_id]
    assert mine["items"][0]["why"].startswith("水暖 plumbing; covers the whole compound")
    assert mine["items"][0]["assignee"] == {"id": "staff-li", "role": "property_staff"}
    desk.post(f"/tasks/{case_id}/accept", li)
    desk.post(f"/tasks/{case_id}/start", li)
    done = desk.post(f"/tasks/{case_id}/finish", li, {"summary": "new washer"})
    assert done["status"] == "resolved"
    assert desk.get("/tasks", li)["items"] == []
    names = event_names(desk.app, case_id)
    assert names[-5:] == ["Assigned", "AssignmentAccepted", "WorkStarted", "WorkDone", "Resolved"]
    member = desk.get("/roster/members/staff-li", desk.auth(MANAGER))
    assert (member["load"], member["completed"]) == (0, 1)
    entries = desk.get("/service-list", desk.auth(MANAGER))["items"]
    assert [(e["member_id"], e["summary"], e["for_whom"]) for e in entries] == [
        ("staff-li", "new washer", ["r-0302"])
    ]


def test_someone_elses_task_or_anothers_compound_answers_like_an_unknown_id(
    lite_desk: Desk,
) -> None:
    desk = lite_desk
    put_on_roster(desk, STAFF_LI)
    case_id = str(
        desk.app.casework.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing")
    )
    desk.dispatch_case(case_id)
    stranger = desk.auth(OTHER_STAFF, place="jiayu-xx/jiating")
    unknown = desk.client.post(
        "/tasks/00000000-0000-0000-0000-000000000000/accept", headers=stranger
    )
    hidden = desk.client.post(f"/tasks/{case_id}/accept", headers=stranger)
    assert (unknown.status_code, hidden.status_code) == (404, 404)
    assert hidden.json()["code"] == unknown.json()["code"] == "not_found"
    # A colleague in the same compound sees it but is not its assignee: 409, with who it is.
    colleague = desk.client.post(f"/tasks/{case_id}/accept", headers=desk.auth(STAFF_ZHOU))
    assert colleague.status_code == 409
    assert "assigned to staff-li" in colleague.json()["message"]
    auditor = desk.client.post(f"/tasks/{case_id}/accept", headers=desk.auth(AUDITOR))
    assert auditor.status_code == 403


def test_a_decline_needs_a_reason_and_hands_the_work_to_the_next_person(lite_desk: Desk) -> None:
    desk = lite_desk
    put_on_roster(desk, STAFF_LI)
    put_on_roster(desk, STAFF_ZHOU)
    case_id = str(
        desk.app.casework.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing")
    )
    desk.dispatch_case(case_id)
    li = desk.auth(STAFF_LI)
    missing = desk.client.post(f"/tasks/{case_id}/decline", json={}, headers=li)
    assert missing.status_code == 422
    assert missing.json()["code"] == "invalid_request"
    after = desk.post(f"/tasks/{case_id}/decline", li, {"reason": "off sick"})
    assert after["assignee"] == {"id": "staff-zhou", "role": "property_staff"}
    assert [t["id"] for t in desk.get("/tasks", desk.auth(STAFF_ZHOU))["items"]] == [case_id]


def test_the_leak_protocol_through_the_api_and_its_refusals(lite_desk: Desk) -> None:
    desk = lite_desk
    put_on_roster(desk, STAFF_ZHOU)
    leak_id = str(
        desk.app.casework.report_leak(
            RESIDENT, FLAT, "water under 0402's door", "0402", source_unoccupied=True
        )
    )
    desk.dispatch_case(leak_id)
    zhou = desk.auth(STAFF_ZHOU)
    state = desk.post(
        f"/leaks/{leak_id}/contact-attempts",
        zhou,
        {"channel": "phone", "outcome": "no_answer", "note": "rang twice"},
    )
    assert state["owner_reached"] is False
    bad = desk.client.post(
        f"/leaks/{leak_id}/contact-attempts",
        json={"channel": "pigeon", "outcome": "no_answer"},
        headers=zhou,
    )
    assert bad.status_code == 422
    assert "channel" in bad.text
    desk.post(f"/leaks/{leak_id}/arrival", zhou)
    riser = desk.client.post(
        f"/leaks/{leak_id}/water-stopped", json={"method": "riser_valve_shut"}, headers=zhou
    )
    assert riser.status_code == 409
    assert "compound decision" in riser.json()["message"]
    desk.post(f"/leaks/{leak_id}/water-stopped", zhou, {"method": "staff_closed_valve"})
    desk.post(
        f"/leaks/{leak_id}/cause",
        zhou,
        {"cause": "valve left open", "damage": "ceiling stain", "damaged_units": ["0302"]},
    )
    opened = desk.post(
        f"/leaks/{leak_id}/damage-dispute",
        zhou,
        {"address": FLAT, "description": "who pays to repaint 0302?", "parties": ["r-0302"]},
        status=201,
    )
    assert desk.app.casework.get_case(opened["dispute_id"]).links == [(leak_id, "damage_dispute")]
    done = desk.post(f"/tasks/{leak_id}/finish", zhou, {"summary": "valve closed, owner told"})
    assert done["status"] == "resolved"
    repair = str(desk.app.casework.report_repair(RESIDENT, FLAT, "tap", "plumbing"))
    not_leak = desk.client.post(f"/leaks/{repair}/arrival", headers=desk.auth(MANAGER))
    assert not_leak.status_code == 404


def test_an_escalated_leak_is_on_the_managers_and_then_the_officers_list(lite_desk: Desk) -> None:
    desk = lite_desk
    leak_id = str(
        desk.app.casework.report_leak(RESIDENT, FLAT, "water", "0402", source_unoccupied=True)
    )
    manager, officer = desk.auth(MANAGER), desk.auth(OFFICER, place="jiayu-xx")
    assert desk.get("/tasks", manager)["decisions"] == []
    desk.app.casework.escalate(leak_id, STAFF_LI, "owner not reached")
    assert [d["id"] for d in desk.get("/tasks", manager)["decisions"]] == [leak_id]
    desk.app.casework.escalate(leak_id, MANAGER, "riser valve cannot be reached")
    assert desk.get("/tasks", manager)["decisions"] == []
    assert [d["tier"] for d in desk.get("/tasks", officer)["decisions"]] == ["community"]
    desk.post(f"/leaks/{leak_id}/water-stopped", officer, {"method": "entry_with_witnesses"})
    assert desk.get("/tasks", officer)["decisions"] == []


def test_the_queue_shows_why_work_waits_and_the_manager_can_send_someone_by_hand(
    lite_desk: Desk,
) -> None:
    desk = lite_desk
    put_on_roster(desk, STAFF_LI, availability=["mon-fri 08:00-18:00"])
    desk.clock.set(NIGHT)
    case_id = str(
        desk.app.casework.report_repair(RESIDENT, FLAT, "no water at all", "plumbing", "urgent")
    )
    desk.dispatch_case(case_id)
    queue = desk.get("/queue", desk.auth(MANAGER))["items"]
    assert [(q["work_id"], q["kind"], q["priority"]) for q in queue] == [
        (case_id, "repair", "urgent")
    ]
    assert "1 off duty now (first back on duty 2026-11-25T08:00+08:00)" in queue[0]["reason"]
    assert desk.client.get("/queue", headers=desk.auth(RESIDENT)).status_code == 403
    assigned = desk.post(
        f"/queue/{case_id}/assignment",
        desk.auth(MANAGER),
        {"member": "staff-li", "why": "Li agreed by phone to come tonight"},
    )
    assert assigned["assignee"]["id"] == "staff-li"
    assert desk.get("/queue", desk.auth(MANAGER))["items"] == []
    held = desk.get("/tasks", desk.auth(STAFF_LI))["items"]
    assert held[0]["why"] == "Li agreed by phone to come tonight"


def test_the_roster_is_kept_by_the_manager_within_their_place_and_audited(desk: Desk) -> None:
    manager = desk.auth(MANAGER)
    joined = put_on_roster(
        desk, VOLUNTEER_QIAN, skills=["carrying", "appliance"], reason="tricycle"
    )
    assert joined["skills"] == ["appliances", "carrying"]
    assert joined["available_now"] is True
    elsewhere = desk.client.post(
        "/roster/members",
        json={
            "actor_id": "vol-x",
            "role": "volunteer",
            "skills": ["carrying"],
            "places": ["jiayu-xx/jiating"],
        },
        headers=manager,
    )
    assert elsewhere.status_code == 403
    bad_skill = desk.client.post(
        "/roster/members",
        json={
            "actor_id": "vol-y",
            "role": "volunteer",
            "skills": ["juggling"],
            "places": [COMPOUND],
        },
        headers=manager,
    )
    assert bad_skill.status_code == 422
    assert "unknown skill(s) juggling" in bad_skill.json()["message"]
    bad_window = desk.client.put(
        "/roster/members/vol-qian/availability",
        json={"availability": ["weekdays 9-5"]},
        headers=manager,
    )
    assert bad_window.status_code == 422
    assert "mon-fri 08:00-18:00" in bad_window.json()["message"]
    qian = desk.auth(VOLUNTEER_QIAN)
    away = desk.client.put(
        "/roster/members/vol-qian/availability",
        json={"availability": [], "reason": "visiting my daughter this week"},
        headers=qian,
    )
    assert away.status_code == 200
    assert away.json()["available_now"] is False
    assert (
        desk.client.put(
            "/roster/members/vol-qian/skills", json={"skills": ["cleaning"]}, headers=qian
        ).status_code
        == 403
    )
    listed = desk.get("/roster/members", manager, available_now="false")["items"]
    assert [m["actor_id"] for m in listed] == ["vol-qian"]
    history = desk.get("/roster/members/vol-qian/history", desk.auth(AUDITOR))
    assert history["intact"] is True
    assert [(e["event"], e["actor_id"], e["reason"]) for e in history["events"]] == [
        ("Joined", "manager-wang", "tricycle"),
        ("AvailabilitySet", "vol-qian", "visiting my daughter this week"),
    ]
    # Read as every service shows a file (casework_web.history): a member is at no tier, and
    # each line names the hash of the one before it.
    joined, availability = history["events"]
    assert (joined["tier"], availability["tier"]) == ("", "")
    assert (joined["prev_hash"], availability["prev_hash"]) == ("", joined["hash"])
    assert len(availability["hash"]) == 64
    assert availability["hash"] != joined["hash"]
    left = desk.post("/roster/members/vol-qian/leave", manager, {"reason": "moved away"})
    assert left["active"] is False
    assert desk.get("/roster/members", manager)["items"] == []
    assert desk.client.get("/roster/members/nobody", headers=manager).status_code == 404


def test_a_residents_need_is_recorded_ordered_and_done_by_a_volunteer(desk: Desk) -> None:
    put_on_roster(desk, VOLUNTEER_QIAN, skills=["carrying"])
    manager = desk.auth(MANAGER)
    need = desk.post(
        "/demands",
        manager,
        {
            "resident_id": "r-0302",
            "address": FLAT,
            "need": "carrying",
            "description": "82; rice and water carried up",
            "how_often": "every Saturday morning",
        },
        status=201,
    )
    assert [d["id"] for d in desk.get("/demands", manager)["items"]] == [need["id"]]
    due = (T0 + timedelta(days=4)).isoformat()
    ordered = desk.post(
        f"/demands/{need['id']}/tasks",
        manager,
        {"description": "10 kg rice", "due_by": due},
        status=201,
    )
    assert ordered["assigned_to"] == "vol-qian"
    task_id = ordered["task"]["id"]
    qian = desk.auth(VOLUNTEER_QIAN)
    assert [t["kind"] for t in desk.get("/tasks", qian)["items"]] == ["task"]
    desk.post(f"/tasks/{task_id}/accept", qian)
    desk.post(f"/tasks/{task_id}/start", qian)
    desk.post(f"/tasks/{task_id}/finish", qian, {"summary": "carried up, stayed for tea"})
    own = desk.get("/service-list", qian, member="vol-qian")["items"]
    assert [(e["work_kind"], e["for_whom"]) for e in own] == [("task", ["r-0302"])]
    assert desk.client.get("/service-list", headers=qian).status_code == 403
    retired = desk.post(
        f"/demands/{need['id']}/retire", manager, {"reason": "moved in with family"}
    )
    assert retired["active"] is False


def test_health_readiness_metrics_and_errors_follow_the_shared_standards(lite_desk: Desk) -> None:
    desk = lite_desk
    assert desk.client.get("/healthz").json() == {"status": "ok"}
    ready = desk.client.get("/readyz").json()
    assert ready["ready"] is True
    assert ready["nats"] == "not configured"
    assert ready["consumer"].startswith("not running")
    assert ready["roster_position"] == ready["board_position"]  # both read the log at start
    assert desk.client.get("/tasks").status_code == 401
    assert desk.client.get("/tasks", headers={"Authorization": "Bearer nope"}).status_code == 401
    typo = desk.client.get("/roster/members?skil=plumbing", headers=desk.auth(MANAGER))
    assert typo.status_code == 422
    response = desk.client.get("/tasks", headers={**desk.auth(STAFF_LI), "X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    metrics = desk.client.get("/metrics").text
    assert "dispatch_requests_total" in metrics
    assert "dispatch_queue_length" in metrics
    not_json = desk.client.post(
        "/roster/members",
        content=b"{",
        headers={**desk.auth(MANAGER), "content-type": "application/json"},
    )
    assert not_json.status_code in (400, 422)


def test_a_token_works_until_its_expiry_by_the_services_clock(lite_desk: Desk) -> None:
    from casework_web import TokenStore

    desk = lite_desk
    token = TokenStore(desk.settings.tokens_path, desk.clock).create(
        STAFF_LI.id, STAFF_LI.role.value, COMPOUND, expires_at=T0 + timedelta(days=90)
    )
    headers = {"Authorization": f"Bearer {token}"}
    desk.clock.advance(timedelta(days=90) - timedelta(microseconds=1))
    assert desk.client.get("/tasks", headers=headers).status_code == 200
    desk.clock.advance(timedelta(microseconds=1))
    expired = desk.client.get("/tasks", headers=headers)
    assert (expired.status_code, expired.json()["code"]) == (401, "unauthenticated")
    assert f"(of {STAFF_LI.id}) expired at " in expired.json()["message"]
    assert "casework-token" in expired.json()["message"]


def test_a_leak_nobody_on_the_roster_covers_is_still_handled_by_the_office(lite_desk: Desk) -> None:
    """No roster yet: the leak waits in the queue, and the staff on site run the protocol."""
    desk = lite_desk
    leak_id = str(
        desk.app.casework.report_leak(RESIDENT, FLAT, "water", "0402", source_unoccupied=True)
    )
    desk.dispatch_case(leak_id)
    assert desk.app.casework.get_case(leak_id).queued_at is not None
    staff = desk.auth(STAFF_LI)
    desk.post(
        f"/leaks/{leak_id}/contact-attempts", staff, {"channel": "phone", "outcome": "reached"}
    )
    desk.post(f"/tasks/{leak_id}/start", staff)
    desk.post(f"/leaks/{leak_id}/water-stopped", staff, {"method": "owner_closed_valve"})
    desk.post(f"/leaks/{leak_id}/cause", staff, {"cause": "valve left open by the renovators"})
    done = desk.post(f"/tasks/{leak_id}/finish", staff, {"summary": "owner closed the valve"})
    assert done["status"] == "resolved"
    assert desk.get("/queue", desk.auth(MANAGER))["items"] == []
