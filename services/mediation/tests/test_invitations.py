"""Inviting people to a meeting between its convening and its round, over HTTP, and a mediator's
own worklist (`GET /disputes?mine=true`), fed by the API, the store's log or NATS."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from casework import Actor, Role
from casework.clock import FakeClock
from casework.timeline import EVENT_LABELS
from fastapi.testclient import TestClient
from mediation.api import create_app
from mediation.testing import (
    COMPOUND,
    FLAT,
    NEIGHBOUR,
    OTHER_COMPOUND,
    RESIDENT,
    Mediators,
    eventually,
    make_settings,
)
from mediation.worklist import SCHEMA_VERSION

SECRETARY = Actor("party-secretary-wanxin", Role.PARTY_SECRETARY)
UPSTAIRS = {"id": "resident-wanxin-b12-0502", "role": "resident"}


def report_noise(m: Mediators) -> str:
    case = m.app.report_dispute(RESIDENT, FLAT, "drums after 22:00", "noise", [NEIGHBOUR.id])
    m.catch_up()
    return str(case)


def convene_talk(m: Mediators, case_id: str) -> str:
    body = {
        "form": "building_talk",
        "scheduled_for": (m.clock() + timedelta(days=1)).isoformat(),
        "place": "building 12 lobby",
        "participants": [{"id": "staff-li", "role": "property_staff"}],
    }
    meeting = m.post(f"/disputes/{case_id}/meetings", m.leader(), 201, **body)
    return str(meeting["meeting_id"])


def test_an_invitee_is_recorded_with_the_reason_and_sits_at_the_round(
    mediators: Mediators,
) -> None:
    m = mediators
    case_id = report_noise(m)
    meeting_id = convene_talk(m, case_id)
    invited = m.post(
        f"/meetings/{meeting_id}/invitations",
        m.leader(),
        201,
        participants=[UPSTAIRS, {"id": "secretary", "role": "party_secretary"}],
        reason="hears the drums too; the secretary chairs the owners' committee",
    )
    assert invited["status"] == "scheduled"
    assert invited["participants"][-2:] == [
        {**UPSTAIRS, "department": None},
        {"id": "secretary", "role": "party_secretary", "department": None},
    ]
    assert [(c["change"], c["by"], c["role"]) for c in invited["changes"]] == [
        ("invited", "building-leader-b12", "building_leader")
    ] * 2
    assert invited["changes"][0]["participant"]["id"] == UPSTAIRS["id"]
    assert invited["changes"][0]["reason"].startswith("hears the drums too")
    # The invitee is one of the invited: no walk-in, no reason needed at the round.
    held = m.post(
        f"/meetings/{meeting_id}/rounds",
        m.leader(),
        201,
        attendees=[RESIDENT.id, UPSTAIRS["id"]],
        outcome="progress",
    )
    assert held["round"]["attendees"] == [RESIDENT.id, UPSTAIRS["id"]]
    history = m.app.history(case_id)
    assert [h.event for h in history][-4:] == [
        "MediationConvened",
        "ParticipantInvited",
        "ParticipantInvited",
        "RoundHeld",
    ]
    assert EVENT_LABELS["ParticipantInvited"]
    assert m.app.verify(case_id).ok
    metrics = m.client.get("/metrics").text
    assert 'mediation_meetings_changed_total{change="invited"} 1.0' in metrics


def test_an_invitation_is_refused_with_a_message_a_mediator_can_act_on(
    mediators: Mediators,
) -> None:
    m = mediators
    case_id = report_noise(m)
    meeting_id = convene_talk(m, case_id)
    path = f"/meetings/{meeting_id}/invitations"
    body = {"participants": [UPSTAIRS], "reason": "hears the drums too"}

    def refused(status: int, headers: dict[str, str], **changes: object) -> str:
        response = m.client.post(path, json={**body, **changes}, headers=headers)
        assert response.status_code == status, response.text
        return str(response.json()["message"])

    assert m.client.post(path, json=body).status_code == 401
    assert "auditors read everything" in refused(403, m.auditor())
    assert "may not convene mediation" in refused(403, m.resident())
    outsider = m.auth("secretary-jiating", "party_secretary", OTHER_COMPOUND)
    assert "no dispute" in refused(404, outsider)
    unknown = m.client.post("/meetings/nope/invitations", json=body, headers=m.leader())
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    refused(422, m.leader(), reason="")
    refused(422, m.leader(), participants=[])
    refused(422, m.leader(), colour="red")
    assert "listed twice" in refused(422, m.leader(), participants=[UPSTAIRS, UPSTAIRS])
    assert "names its department" in refused(
        422, m.leader(), participants=[{"id": "zhou", "role": "county_department_rep"}]
    )
    assert "county departments sit at the community" in refused(
        409,
        m.leader(),
        participants=[{"id": "wu", "role": "county_department_rep", "department": "fire-brigade"}],
    )
    assert "staff-li is already invited to meeting" in refused(
        409, m.leader(), participants=[{"id": "staff-li", "role": "property_staff"}]
    )
    assert "a party to the dispute" in refused(
        409, m.leader(), participants=[{"id": NEIGHBOUR.id, "role": "resident"}]
    )
    m.post(
        f"/meetings/{meeting_id}/rounds",
        m.leader(),
        201,
        attendees=[RESIDENT.id],
        outcome="progress",
    )
    assert "reschedule it for its next round" in refused(409, m.leader())
    m.post(f"/meetings/{meeting_id}/cancel", m.leader(), 200, reason="the drummer moved out")
    assert "cancelled" in refused(409, m.leader())
    assert [h.event for h in m.app.history(case_id)].count("ParticipantInvited") == 0


def test_a_mediators_own_worklist_lists_the_disputes_they_convened_or_were_invited_to(
    mediators: Mediators,
) -> None:
    m = mediators
    noise = report_noise(m)  # the leader convenes and invites the secretary
    fees = str(m.app.report_dispute(RESIDENT, COMPOUND, "fees doubled", "fees", ["property co"]))
    sheds = str(m.app.report_dispute(RESIDENT, COMPOUND, "sheds", "ev_charging"))  # nobody's yet
    m.catch_up()
    talk = convene_talk(m, noise)
    m.post(
        f"/meetings/{talk}/invitations",
        m.leader(),
        201,
        participants=[{"id": SECRETARY.id, "role": "party_secretary"}],
        reason="the owners' committee's view on quiet hours",
    )
    roundtable = m.post(
        f"/disputes/{fees}/meetings",
        m.secretary(),
        201,
        form="roundtable",
        scheduled_for=(m.clock() + timedelta(days=2)).isoformat(),
        place="clubhouse",
    )
    officer = m.officer()
    m.post(
        f"/meetings/{roundtable['meeting_id']}/rounds",
        m.secretary(),
        201,
        attendees=[RESIDENT.id],
        outcome="progress",
        walk_ins=[{"id": "community-officer-jiayu-xx", "role": "community_officer", "reason": "x"}],
    )

    def mine(headers: dict[str, str], **params: object) -> list[str]:
        page = m.get("/disputes", headers, mine="true", **params)
        return [i["case_id"] for i in page["items"]]

    assert m.get("/disputes", m.secretary())["total"] == 3  # the place's worklist, unchanged
    assert sorted(mine(m.secretary())) == sorted([noise, fees])
    assert mine(m.leader()) == [noise]
    assert mine(officer) == [fees]  # seated as a walk-in
    assert mine(m.auditor()) == []
    assert mine(m.auth("building-leader-b9", "building_leader", "jiayu-xx/wanxin-intl/b9")) == []
    # Other filters and paging combine with it as on the place's worklist.
    assert mine(m.secretary(), tier="building") == [noise]
    first = m.get("/disputes", m.secretary(), mine="true", limit=1)
    second = m.get("/disputes", m.secretary(), mine="true", limit=1, offset=1)
    assert (first["total"], second["total"]) == (2, 2)
    assert {first["items"][0]["case_id"], second["items"][0]["case_id"]} == {noise, fees}
    assert sheds not in mine(m.secretary())
    # The same access rules: a mediator invited to a dispute outside their place sees nothing.
    other = m.auth(SECRETARY.id, "party_secretary", OTHER_COMPOUND)
    assert mine(other) == []
    refused = m.client.get("/disputes", params={"mine": "perhaps"}, headers=m.secretary())
    assert refused.status_code == 422


def test_the_feed_from_the_store_fills_the_mediators_own_worklist(mediators: Mediators) -> None:
    m = mediators
    case = report_noise(m)
    leader = Actor("building-leader-b12", Role.BUILDING_LEADER)
    meeting = m.app.convene_mediation(case, leader, "building_talk", m.clock(), "lobby", [])
    m.app.invite_participants(
        case,
        leader,
        meeting,
        [{"id": SECRETARY.id, "role": "party_secretary"}],
        "chairs the committee",
    )
    m.catch_up()  # recorded behind the API's back: only the feed can tell
    assert m.get("/disputes", m.secretary(), mine="true")["items"][0]["case_id"] == case
    assert m.get("/disputes", m.leader(), mine="true")["items"][0]["case_id"] == case


@pytest.mark.nats
def test_over_nats_an_invitation_reaches_the_invitees_own_worklist(
    nats_mediators: Mediators,
) -> None:
    m = nats_mediators
    case = str(m.app.report_dispute(RESIDENT, FLAT, "drums", "noise", [NEIGHBOUR.id]))
    leader = Actor("building-leader-b12", Role.BUILDING_LEADER)
    meeting = m.app.convene_mediation(case, leader, "building_talk", m.clock(), "lobby", [])
    m.relay()
    assert eventually(lambda: m.get("/disputes", m.leader(), mine="true")["total"]) == 1
    assert m.get("/disputes", m.secretary(), mine="true")["total"] == 0
    # Recorded behind the API's back: only the consumer, reading the new contract, can tell.
    m.app.invite_participants(
        case, leader, meeting, [{"id": SECRETARY.id, "role": "party_secretary"}], "chairs it"
    )
    m.relay()
    assert eventually(lambda: m.get("/disputes", m.secretary(), mine="true")["total"]) == 1
    assert eventually(m.drained)


def test_a_worklist_file_from_before_the_people_index_is_filled_at_start(
    store_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    settings = make_settings(tmp_path, store_url)
    with TestClient(create_app(settings, clock=clock)) as client:
        case = report_noise(Mediators(client, clock, settings))
        convene_talk(Mediators(client, clock, settings), case)
    with sqlite3.connect(settings.db_path) as db:  # the file as the version before left it
        db.execute("drop table meeting_people")
        db.execute("pragma user_version = 0")
    with TestClient(create_app(settings, clock=clock)) as client:
        m = Mediators(client, clock, settings)
        assert [i["case_id"] for i in m.get("/disputes", m.leader(), mine="true")["items"]] == [
            case
        ]
    with sqlite3.connect(settings.db_path) as db:
        assert db.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION
