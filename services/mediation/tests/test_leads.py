"""A dispute's lead mediator over HTTP (`POST /disputes/{id}/lead`): taken or named, refused
with a message to act on, lapsing on a climb, on the dispute and its worklist row, on the lead's
own list (`mine=true`) and on the list of disputes nobody leads (`unled=true`); fed by the API,
the store's log or NATS, and filled in at start for a worklist file from before the column."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from casework import Actor, Dispute, Role
from casework.clock import FakeClock
from fastapi.testclient import TestClient
from mediation.api import create_app
from mediation.testing import (
    COMPOUND,
    OTHER_COMPOUND,
    RESIDENT,
    Mediators,
    eventually,
    make_settings,
)
from mediation.worklist import SCHEMA_VERSION

SECRETARY = Actor("party-secretary-wanxin", Role.PARTY_SECRETARY)
MANAGER = Actor("manager-wang", Role.PROPERTY_MANAGER)


def report(m: Mediators, description: str = "fees doubled", category: str = "fees") -> str:
    case = m.app.report_dispute(RESIDENT, COMPOUND, description, category, ["property co"])
    m.catch_up()
    return str(case)


def manager(m: Mediators) -> dict[str, str]:
    return m.auth(MANAGER.id, "property_manager", COMPOUND)


def committee(m: Mediators) -> dict[str, str]:
    return m.auth("committee-liu", "owners_committee_member", COMPOUND)


def listed(m: Mediators, headers: dict[str, str], **params: object) -> list[str]:
    return [i["case_id"] for i in m.get("/disputes", headers, **params)["items"]]


def test_a_mediator_takes_the_lead_and_the_dispute_is_on_their_own_list(
    mediators: Mediators,
) -> None:
    m = mediators
    fees, sheds = report(m), report(m, "no charging sheds", "ev_charging")
    assert listed(m, manager(m), mine="true") == []  # no meeting yet: nobody's own
    assert sorted(listed(m, m.secretary(), unled="true")) == sorted([fees, sheds])

    taken = m.post(f"/disputes/{fees}/lead", manager(m), 200, reason="the fees are ours to explain")
    assert taken["lead"] == {
        "id": MANAGER.id,
        "role": "property_manager",
        "named_by": MANAGER.id,
        "since": taken["lead"]["since"],
        "reason": "the fees are ours to explain",
    }
    assert m.get(f"/disputes/{fees}", m.auditor())["lead"]["id"] == MANAGER.id
    row = next(i for i in m.get("/disputes", m.secretary())["items"] if i["case_id"] == fees)
    assert (row["lead_id"], row["lead_role"]) == (MANAGER.id, "property_manager")
    assert listed(m, manager(m), mine="true") == [fees]
    assert listed(m, m.secretary(), mine="true") == []
    assert listed(m, m.secretary(), unled="true") == [sheds]
    assert listed(m, manager(m), mine="true", unled="true") == []
    entry = m.app.history(fees)[-1]
    assert (entry.event, entry.actor_id, entry.reason) == (
        "LeadMediatorNamed",
        MANAGER.id,
        "the fees are ours to explain",
    )
    assert 'mediation_leads_total{how="taken"} 1.0' in m.client.get("/metrics").text
    assert m.app.verify(fees).ok


def test_the_head_names_a_lead_and_refusals_say_what_to_do(mediators: Mediators) -> None:
    m = mediators
    fees = report(m)
    path = f"/disputes/{fees}/lead"

    def refused(status: int, headers: dict[str, str], **body: object) -> str:
        response = m.client.post(path, json={"reason": "why", **body}, headers=headers)
        assert response.status_code == status, response.text
        return str(response.json()["message"])

    someone = {"id": "committee-liu", "role": "owners_committee_member"}
    assert m.client.post(path, json={"reason": "x"}).status_code == 401
    assert "auditors read everything" in refused(403, m.auditor())
    assert "may not convene mediation" in refused(403, m.resident())
    assert "only the party_secretary" in refused(403, manager(m), lead=someone)
    assert "no dispute" in refused(404, m.auth("sec-jiating", "party_secretary", OTHER_COMPOUND))
    refused(422, manager(m), reason="")
    refused(422, manager(m), colour="red")
    refused(422, m.secretary(), lead={"id": "x", "role": "mayor"})
    leader = m.auth("building-leader-b12", "building_leader", COMPOUND)
    assert "does not mediate at the compound" in refused(409, leader)
    assert "cannot lead a dispute there" in refused(
        409, m.secretary(), lead={"id": "building-leader-b12", "role": "building_leader"}
    )

    m.post(path, manager(m), 200, reason="the fees are ours to explain")
    assert "already leads" in refused(409, manager(m))
    taken = refused(409, committee(m))
    assert "manager-wang (property_manager) leads" in taken
    assert "party_secretary" in taken  # who can change it
    named = m.post(path, m.secretary(), 200, lead=someone, reason="chairs the fees review")
    assert named["lead"]["id"] == "committee-liu"
    assert named["lead"]["named_by"] == SECRETARY.id
    assert named["lead"]["reason"] == "chairs the fees review"
    assert listed(m, committee(m), mine="true") == [fees]
    assert listed(m, manager(m), mine="true") == []
    assert 'mediation_leads_total{how="named"} 1.0' in m.client.get("/metrics").text
    assert [h.event for h in m.app.history(fees)].count("LeadMediatorNamed") == 2
    rules = m.get("/mediation-rules", m.auditor())
    assert {t["tier"]: t["head"] for t in rules["tiers"]} == {
        "building": "building_leader",
        "compound": "party_secretary",
        "community": "community_officer",
    }


def test_the_lead_lapses_when_the_dispute_climbs_and_the_tier_above_takes_it(
    mediators: Mediators,
) -> None:
    m = mediators
    gate = report(m, "cars block the main road", "road_and_gates")
    m.post(f"/disputes/{gate}/lead", m.secretary(), 200, reason="I chair the committee")
    assert listed(m, m.secretary(), mine="true") == [gate]
    climbed = m.post(
        f"/disputes/{gate}/escalate",
        m.secretary(),
        200,
        grounds="outside_powers",
        matter="gates_and_traffic",
    )
    assert (climbed["tier"], climbed["lead"]) == ("community", None)
    assert listed(m, m.secretary(), mine="true") == []
    assert listed(m, m.officer(), unled="true") == [gate]
    m.post(f"/disputes/{gate}/lead", m.officer(), 200, reason="the gates are the community's")
    assert listed(m, m.officer(), mine="true") == [gate]
    assert listed(m, m.officer(), unled="true") == []
    assert m.get(f"/disputes/{gate}", m.officer())["lead"]["id"] == "community-officer-jiayu-xx"


def test_two_mediators_taking_the_lead_at_once_get_one_lead_and_one_refusal(
    mediators: Mediators,
) -> None:
    m = mediators
    fees = report(m)
    start = threading.Barrier(2)

    def take(headers: dict[str, str]) -> int:
        start.wait()
        response = m.client.post(f"/disputes/{fees}/lead", json={"reason": "mine"}, headers=headers)
        return response.status_code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(take, [manager(m), committee(m)]))
    assert codes == [200, 409]
    assert [h.event for h in m.app.history(fees)].count("LeadMediatorNamed") == 1


def take_lead_behind_the_apis_back(m: Mediators, case_id: str) -> None:
    case = m.app.get_case(case_id)
    assert isinstance(case, Dispute)
    case.name_lead_mediator(MANAGER, m.clock(), MANAGER, "the fees are ours to explain")
    m.app.save(case)


def test_the_feed_from_the_store_puts_the_dispute_on_its_leads_list(mediators: Mediators) -> None:
    m = mediators
    fees = report(m)
    take_lead_behind_the_apis_back(m, fees)
    m.catch_up()  # recorded behind the API's back: only the feed can tell
    assert listed(m, manager(m), mine="true") == [fees]
    assert listed(m, m.secretary(), unled="true") == []


@pytest.mark.nats
def test_over_nats_the_lead_reaches_the_worklist(nats_mediators: Mediators) -> None:
    m = nats_mediators
    fees = str(m.app.report_dispute(RESIDENT, COMPOUND, "fees doubled", "fees", ["property co"]))
    m.relay()
    assert eventually(lambda: m.get("/disputes", m.secretary(), unled="true")["total"]) == 1
    # Recorded behind the API's back: only the consumer, reading the new contract, can tell.
    take_lead_behind_the_apis_back(m, fees)
    m.relay()
    assert eventually(lambda: m.get("/disputes", manager(m), mine="true")["total"]) == 1
    assert m.get("/disputes", m.secretary(), unled="true")["total"] == 0
    assert eventually(m.drained)


def test_a_worklist_file_from_before_the_lead_column_is_filled_at_start(
    store_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    settings = make_settings(tmp_path, store_url)
    with TestClient(create_app(settings, clock=clock)) as client:
        m = Mediators(client, clock, settings)
        fees = report(m)
        m.post(f"/disputes/{fees}/lead", manager(m), 200, reason="ours to explain")
    with sqlite3.connect(settings.db_path) as db:  # the file as the version before left it
        db.execute("alter table disputes drop column lead_role")
        db.execute("alter table disputes drop column lead_id")
        db.execute("pragma user_version = 2")
    with TestClient(create_app(settings, clock=clock)) as client:
        m = Mediators(client, clock, settings)
        assert listed(m, manager(m), mine="true") == [fees]
        assert m.get("/disputes", m.secretary())["items"][0]["lead_id"] == MANAGER.id
    with sqlite3.connect(settings.db_path) as db:
        assert db.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION
