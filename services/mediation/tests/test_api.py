"""The mediators' API over a real store: scopes, validation, the errors a person can act on."""

from __future__ import annotations

import json
from datetime import timedelta

from casework import Actor, Role
from mediation.testing import (
    COMPOUND,
    FLAT,
    NEIGHBOUR,
    OTHER_COMPOUND,
    RESIDENT,
    Mediators,
)


def report_noise(m: Mediators) -> str:
    case = m.app.report_dispute(
        RESIDENT, FLAT, "drum practice after 22:00", "noise", [NEIGHBOUR.id]
    )
    m.catch_up()
    return str(case)


def convene_talk(m: Mediators, case_id: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "form": "building_talk",
        "scheduled_for": (m.clock() + timedelta(days=1)).isoformat(),
        "place": "building 12 lobby",
        "participants": [
            {"id": RESIDENT.id, "role": "resident"},
            {"id": NEIGHBOUR.id, "role": "resident"},
        ],
        **extra,
    }
    return m.post(f"/disputes/{case_id}/meetings", m.leader(), 201, **body)  # type: ignore[no-any-return]


def test_a_reported_dispute_is_on_the_worklist_of_those_whose_place_holds_it(
    mediators: Mediators,
) -> None:
    m = mediators
    case_id = report_noise(m)
    page = m.get("/disputes", m.leader())
    assert [(i["case_id"], i["tier"], i["status"]) for i in page["items"]] == [
        (case_id, "building", "reported")
    ]
    assert page["items"][0]["next_action"] == "convene a meeting at the building"
    assert m.get("/disputes", m.officer())["total"] == 1
    assert m.get("/disputes", m.auditor())["total"] == 1
    assert m.get("/disputes", m.resident())["total"] == 1
    assert m.get("/disputes", m.resident(Actor("stranger", Role.RESIDENT)))["total"] == 0
    other = m.auth("secretary-jiating", "party_secretary", OTHER_COMPOUND)
    assert m.get("/disputes", other)["total"] == 0
    assert m.get("/disputes", m.officer(), tier="compound")["total"] == 0
    assert m.get("/disputes", m.officer(), compound="wanxin-intl")["total"] == 1
    assert m.get("/disputes", m.officer(), compound=OTHER_COMPOUND)["total"] == 0


def test_a_meeting_is_convened_and_its_rounds_recorded_by_meeting_id(mediators: Mediators) -> None:
    m = mediators
    case_id = report_noise(m)
    meeting = convene_talk(m, case_id)
    assert (meeting["form"], meeting["label"], meeting["tier"]) == (
        "building_talk",
        "楼栋协商",
        "building",
    )
    row = m.get("/disputes", m.leader())["items"][0]
    assert row["status"] == "in_mediation"
    assert row["next_action"].startswith(
        f"hold round 1 of the building_talk {meeting['meeting_id']}"
    )
    recorded = m.post(
        f"/meetings/{meeting['meeting_id']}/rounds",
        m.leader(),
        201,
        attendees=[RESIDENT.id, NEIGHBOUR.id],
        outcome="progress",
        positions={NEIGHBOUR.id: "practises only at weekends now"},
        proposals=["no drums after 21:00"],
    )
    assert recorded["round"]["round_no"] == 1
    assert recorded["round"]["positions"] == {NEIGHBOUR.id: "practises only at weekends now"}
    assert recorded["dispute"]["meetings"][0]["rounds"][0]["recorded_by"] == "building-leader-b12"


def test_refusals_say_what_is_wrong(mediators: Mediators) -> None:
    m = mediators
    case_id = report_noise(m)
    path = f"/disputes/{case_id}/meetings"
    at = (m.clock() + timedelta(days=1)).isoformat()
    body = {"form": "building_talk", "scheduled_for": at, "place": "lobby"}
    assert m.client.post(path, json=body).status_code == 401
    refused = m.client.post(path, json=body, headers=m.auditor())
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert "auditors read everything" in refused.json()["message"]
    resident = m.client.post(path, json=body, headers=m.resident())
    assert resident.status_code == 403
    assert "may not convene mediation" in resident.json()["message"]
    outsider = m.auth("secretary-jiating", "party_secretary", OTHER_COMPOUND)
    hidden = m.client.post(path, json=body, headers=outsider)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")
    unknown = m.client.post("/disputes/not-a-case/meetings", json=body, headers=m.leader())
    assert unknown.status_code == 404
    council = m.client.post(path, json=dict(body, form="deliberation_council"), headers=m.leader())
    assert council.status_code == 409
    assert "held at the community tier" in council.json()["message"]
    bad_form = m.client.post(path, json=dict(body, form="tea_party"), headers=m.leader())
    assert bad_form.status_code == 422
    assert "form must be one of" in bad_form.json()["message"]
    naive = m.client.post(
        path, json=dict(body, scheduled_for="2021-03-16T19:00"), headers=m.leader()
    )
    assert naive.status_code == 422
    county = m.client.post(
        path,
        json=dict(body, participants=[{"id": "zhou", "role": "county_department_rep"}]),
        headers=m.leader(),
    )
    assert county.status_code == 422
    assert "names its department" in county.json()["message"]
    unseated = m.client.post(
        path,
        json=dict(
            body,
            participants=[
                {"id": "zhou", "role": "county_department_rep", "department": "fire-brigade"}
            ],
        ),
        headers=m.leader(),
    )
    assert unseated.status_code == 409
    assert "county departments sit at the community" in unseated.json()["message"]
    no_meeting = m.client.post(
        "/meetings/nope/rounds",
        json={"attendees": ["a"], "outcome": "progress"},
        headers=m.leader(),
    )
    assert no_meeting.status_code == 404
    extra = m.client.post(path, json=dict(body, colour="red"), headers=m.leader())
    assert extra.status_code == 422
    not_json = m.client.post(
        path, content=b"{", headers={**m.leader(), "content-type": "application/json"}
    )
    assert not_json.status_code in (400, 422)


def test_a_compound_leader_cannot_mediate_a_community_dispute_nor_a_leader_another_building(
    mediators: Mediators,
) -> None:
    m = mediators
    case = m.app.report_dispute(RESIDENT, COMPOUND, "gates", "road_and_gates", tier="community")
    m.catch_up()
    body = {
        "form": "deliberation_council",
        "scheduled_for": m.clock().isoformat(),
        "place": "community hall",
    }
    manager = m.auth("property-manager-wanxin", "property_manager", COMPOUND)
    refused = m.client.post(f"/disputes/{case}/meetings", json=body, headers=manager)
    assert refused.status_code == 409
    assert "does not mediate at the community tier" in refused.json()["message"]
    other_building = m.auth("building-leader-b9", "building_leader", "jiayu-xx/wanxin-intl/b9")
    noise = report_noise(m)
    hidden = m.client.get(f"/disputes/{noise}", headers=other_building)
    assert hidden.status_code == 404


def test_the_rules_and_the_operations_routes(mediators: Mediators) -> None:
    m = mediators
    rules = m.client.get("/mediation-rules").json()
    forms = {f["form"]: f for f in rules["forms"]}
    assert forms["deliberation_council"]["tiers"] == ["community"]
    assert forms["deliberation_council"]["seats_county_departments"] is True
    assert forms["evening_courtyard_talk"]["label"] == "星空夜话"
    tiers = {t["tier"]: t for t in rules["tiers"]}
    assert "building_leader" in tiers["building"]["mediators"]
    assert "building_talk" not in tiers["compound"]["forms"]
    assert rules["county_departments"]["fire-brigade"] == "县消防大队"
    assert rules["failed_rounds_before_escalation"] == 3
    assert m.client.get("/healthz").json() == {"status": "ok"}
    ready = m.client.get("/readyz").json()
    assert ready["ready"] is True
    assert ready["nats"] == "not configured"
    report_noise(m)
    m.get("/disputes", m.leader())
    metrics = m.client.get("/metrics").text
    assert 'mediation_requests_total{method="GET",route="/disputes",status="200"}' in metrics
    unknown = m.client.get("/disputes", params={"teir": "building"}, headers=m.leader())
    assert unknown.status_code == 422


def test_agreements_escalations_and_follow_ups_refuse_what_the_case_file_does_not_bear_out(
    mediators: Mediators,
) -> None:
    m = mediators
    case_id = report_noise(m)
    leader = m.leader()

    def refused(path: str, status: int, **body: object) -> str:
        response = m.client.post(f"/disputes/{case_id}/{path}", json=body, headers=leader)
        assert response.status_code == status, response.text
        return str(response.json()["message"])

    assert "needs an agreement" in refused("resolution", 409, summary="done")
    assert "must be in_mediation" in refused(
        "agreement", 409, meeting_id="m", terms=["quiet"], commitments=[]
    )
    assert "name the matter" in refused("escalate", 422, grounds="outside_powers")
    assert "within the building's powers" in refused(
        "escalate", 409, grounds="outside_powers", matter="household_terms"
    )
    assert "failed 0 round(s)" in refused("escalate", 409, grounds="failed_rounds")
    assert "no deadline" in refused("escalate", 409, grounds="deadline_passed")
    assert "reason for escalating" in refused("escalate", 422, grounds="other")
    refused("escalate", 422, grounds="boredom")
    meeting = convene_talk(m, case_id)["meeting_id"]
    assert "not an ISO date" in refused(
        "agreement",
        422,
        meeting_id=meeting,
        terms=["quiet"],
        commitments=[{"who": NEIGHBOUR.id, "what": "quiet", "due": "next tuesday"}],
    )
    agreed = m.post(
        f"/disputes/{case_id}/agreement",
        leader,
        201,
        meeting_id=meeting,
        terms=["no drums after 21:00"],
        commitments=[{"who": NEIGHBOUR.id, "what": "no drums after 21:00", "due": "2021-03-22"}],
    )
    assert agreed["commitments"] == [
        {
            "index": 0,
            "who": NEIGHBOUR.id,
            "what": "no drums after 21:00",
            "due": "2021-03-22",
            "status": "pending",
        }
    ]
    assert "no commitment #3" in refused(
        "follow-ups", 422, commitment_index=3, kept=True, note="fine"
    )
    m.post(f"/disputes/{case_id}/follow-ups", leader, 201, commitment_index=0, kept=True, note="ok")
    assert "already followed up" in refused(
        "follow-ups", 409, commitment_index=0, kept=True, note="again"
    )
    done = m.post(f"/disputes/{case_id}/resolution", leader, 200, summary="settled in the building")
    assert (done["status"], done["settled_tier"]) == ("resolved", "building")
    row = m.get("/disputes", leader)["items"][0]
    assert row["next_action"] == "close the case: settled and followed up"
    assert m.client.get("/metrics").text.count('mediation_agreements_total{tier="building"} 1.0')


def test_auditors_read_personal_values_as_personal_and_the_worklist_keeps_them_sealed(
    mediators: Mediators,
) -> None:
    """The worklist file holds the description sealed; each reader is shown it opened for them,
    and after the reporter's erasure everyone reads [erased] (docs/adr/011)."""
    from casework.privacy.people import erase

    m = mediators
    case_id = report_noise(m)
    words = "drum practice after 22:00"
    assert m.get("/disputes", m.leader())["items"][0]["description"] == words
    assert m.get("/disputes", m.auditor())["items"][0]["description"] == "[personal]"
    assert m.get(f"/disputes/{case_id}", m.leader())["description"] == words
    audited = m.get(f"/disputes/{case_id}", m.auditor())
    assert audited["description"] == "[personal]"
    assert words not in json.dumps(audited)
    kept = m.settings.db_path.parent.glob(m.settings.db_path.name + "*")  # -wal, -shm too
    assert not [f for f in kept if words.encode() in f.read_bytes()]
    erase(
        m.app, m.app.privacy, RESIDENT.id, Actor("dpo-sun", Role.DATA_PROTECTION_OFFICER), "asked"
    )
    assert m.get("/disputes", m.leader())["items"][0]["description"] == "[erased]"
