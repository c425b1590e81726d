"""The source article's disputes, end to end over a real nats-server and a real store:

store -> relay -> JetStream -> the mediation service's durable consumer -> worklist, with the
mediators working through the HTTP API and the scheduler ticking on a fake clock.

- the blocked main road of 万鑫国际 (the "gate dispute"): opened at the compound, a residents'
  talk meeting fails, the gates are beyond the compound's powers, so it climbs to the community,
  where the party branch leads a deliberation council with the housing bureau, the fire brigade
  and the development and reform bureau; after asking the residents it decides that the south
  gate by the bus stop and Nanjia middle school is entry-only;
- the charging sheds: six candidate sites, three rounds (an evening courtyard talk, door-to-door
  visits, an opinion collection), three sites chosen on the final tally;
- a broken commitment reopens the dispute.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from casework import Actor, Role
from mediation.testing import CHINA, COMPOUND, FLAT, NEIGHBOUR, RESIDENT, Mediators, eventually

pytestmark = pytest.mark.nats

SECRETARY = Actor("party-secretary-wanxin", Role.PARTY_SECRETARY)
COMMITTEE = Actor("owners-committee-wanxin", Role.OWNERS_COMMITTEE)
MANAGER = Actor("property-manager-wanxin", Role.PROPERTY_MANAGER)
OFFICER = Actor("community-officer-jiayu-xx", Role.COMMUNITY_OFFICER)
COUNTY = [
    {"id": "zhou", "role": "county_department_rep", "department": "housing-bureau"},
    {"id": "wu", "role": "county_department_rep", "department": "fire-brigade"},
    {"id": "qian", "role": "county_department_rep", "department": "development-reform-bureau"},
]


def seat(*people: Actor) -> list[dict[str, str]]:
    return [{"id": p.id, "role": p.role.value} for p in people]


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> str:
    return datetime(2021, month, day, hour, minute, tzinfo=CHINA).isoformat()


def row(m: Mediators, headers: dict[str, str], case_id: str, **want: Any) -> dict[str, Any]:
    """The case's worklist row once it shows `want` (the feed is eventually consistent)."""

    def current() -> dict[str, Any] | None:
        m.relay()
        for item in m.get("/disputes", headers, include_closed=True)["items"]:
            if item["case_id"] == case_id and all(item[k] == v for k, v in want.items()):
                return dict(item)
        return None

    found = eventually(current)
    assert found is not None, f"{case_id} never showed {want}"
    return found


def test_the_gate_dispute_climbs_to_the_community_and_a_council_with_three_county_departments_settles_it(  # noqa: E501
    nats_mediators: Mediators,
) -> None:
    m = nats_mediators
    secretary = m.secretary()
    officer = m.officer()
    m.clock.set(datetime(2021, 3, 15, 9, 0, tzinfo=CHINA))
    case = str(
        m.app.report_dispute(
            RESIDENT,
            COMPOUND,
            "cars parked along the main road block it; cars get scraped, a child was grazed "
            "last week, neighbours quarrel every morning",
            "road_and_gates",
            ["residents parking on the main road", "residents driving through"],
            channel="walk_in",
        )
    )
    first = row(m, secretary, case, tier="compound", status="reported")
    assert first["next_action"] == "convene a meeting at the compound"
    assert m.get("/disputes", secretary, tier="compound", compound="wanxin-intl")["total"] == 1

    # The compound's trinity hold a residents' talk meeting; it fails.
    m.clock.set(datetime(2021, 3, 15, 10, 5, tzinfo=CHINA))
    talk = m.post(
        f"/disputes/{case}/meetings",
        secretary,
        201,
        form="residents_talk_meeting",
        scheduled_for=at(18, 19, 30),
        place="Wanxin International clubhouse",
        participants=seat(SECRETARY, COMMITTEE, MANAGER, RESIDENT),
    )["meeting_id"]
    m.clock.set(datetime(2021, 3, 18, 21, 0, tzinfo=CHINA))
    failed = m.post(
        f"/meetings/{talk}/rounds",
        secretary,
        201,
        attendees=[SECRETARY.id, COMMITTEE.id, MANAGER.id, RESIDENT.id, "42 residents"],
        outcome="failed",
        positions={
            "drivers parking on the road": "there are not enough spaces; nowhere else to park",
            "drivers passing through": "the road must be kept clear",
        },
        proposals=["ban parking on the main road", "change how the gates are used"],
        note="a parking ban alone moves the cars to the gates; the gates need the county",
    )
    assert failed["dispute"]["tier"] == "compound"  # one failed round is not three
    assert failed["dispute"]["failed_rounds_at_tier"] == 1

    # The gates and the fire lane are beyond the compound's powers: up one rung.
    m.clock.set(datetime(2021, 3, 19, 9, 0, tzinfo=CHINA))
    wrong = m.client.post(
        f"/disputes/{case}/escalate",
        json={"grounds": "failed_rounds"},
        headers=secretary,
    )
    assert wrong.status_code == 409
    assert "3 are needed" in wrong.json()["message"]
    up = m.post(
        f"/disputes/{case}/escalate",
        secretary,
        200,
        grounds="outside_powers",
        matter="gates_and_traffic",
        reason="the housing bureau, the fire brigade and the DRC must sit",
    )
    assert up["tier"] == "community"
    assert up["escalations"][0]["from_tier"] == "compound"
    assert up["escalations"][0]["reason"].startswith("outside the compound's powers: ")
    assert row(m, officer, case, tier="community")["next_action"] == (
        "convene a meeting at the community"
    )

    # Led by the party branch: a deliberation council with three county departments.
    m.clock.set(datetime(2021, 3, 19, 11, 0, tzinfo=CHINA))
    council = m.post(
        f"/disputes/{case}/meetings",
        secretary,
        201,
        form="deliberation_council",
        scheduled_for=at(24, 9, 30),
        place="community service centre",
        participants=seat(SECRETARY, OFFICER, COMMITTEE, MANAGER) + COUNTY,
    )
    seated = [p for p in council["participants"] if p["role"] == "county_department_rep"]
    assert [(p["id"], p["department"]) for p in seated] == [
        ("housing-bureau:zhou", "housing-bureau"),
        ("fire-brigade:wu", "fire-brigade"),
        ("development-reform-bureau:qian", "development-reform-bureau"),
    ]
    county_ids = [p["id"] for p in seated]
    m.clock.set(datetime(2021, 3, 24, 11, 0, tzinfo=CHINA))
    m.post(
        f"/meetings/{council['meeting_id']}/rounds",
        officer,
        201,
        attendees=[SECRETARY.id, OFFICER.id, COMMITTEE.id, MANAGER.id, *county_ids],
        outcome="progress",
        positions={
            county_ids[0]: "an entry-only gate needs no building works",
            county_ids[1]: "the main road is a fire lane and must stay clear",
            county_ids[2]: "no funds to widen the road this year",
        },
        proposals=[
            "the south gate by the bus stop and Nanjia middle school entry-only; everyone "
            "leaves by the east and west gates",
            "widen the main road",
        ],
        note="ask the residents before deciding",
    )
    # 向群众征求意见: the residents are asked.
    survey = m.post(
        f"/disputes/{case}/meetings",
        officer,
        201,
        form="opinion_collection",
        scheduled_for=at(25, 9),
        place="door to door and the owners' WeChat group",
        participants=seat(OFFICER, COMMITTEE),
    )["meeting_id"]
    m.clock.set(datetime(2021, 3, 30, 18, 0, tzinfo=CHINA))
    options = ["south gate entry-only", "keep every gate two-way"]
    m.post(
        f"/meetings/{survey}/rounds",
        officer,
        201,
        attendees=["1,280 of 1,650 households"],
        outcome="progress",
        options=options,
        tally={options[0]: 1093, options[1]: 187},
    )
    m.clock.set(datetime(2021, 4, 2, 9, 30, tzinfo=CHINA))
    m.post(
        f"/meetings/{council['meeting_id']}/rounds",
        secretary,
        201,
        attendees=[SECRETARY.id, OFFICER.id, COMMITTEE.id, MANAGER.id, *county_ids],
        outcome="agreed",
        note="the council decides for the south gate entry-only",
    )
    m.clock.set(datetime(2021, 4, 2, 10, 30, tzinfo=CHINA))
    agreed = m.post(
        f"/disputes/{case}/agreement",
        secretary,
        201,
        meeting_id=council["meeting_id"],
        terms=[
            "the south gate, by the bus stop and Nanjia middle school, is entry-only",
            "everyone leaves by the east and west gates",
            "no parking on the main road: it is kept clear as a fire lane",
        ],
        commitments=[
            {"who": county_ids[0], "what": "approve the new traffic plan", "due": "2021-04-06"},
            {"who": MANAGER.id, "what": "fit an entry-only barrier and signs", "due": "2021-04-10"},
            {
                "who": county_ids[1],
                "what": "inspect the main road as a fire lane",
                "due": "2021-04-20",
            },
        ],
        basis="the council, after the residents were asked",
    )
    assert agreed["status"] == "agreed"
    assert agreed["tally_citation"] == (
        f"tally of round 1 of meeting {survey}: south gate entry-only 1093, "
        "keep every gate two-way 187"
    )
    assert row(m, officer, case, status="agreed")["next_commitment_due"] is not None

    # The commitments fall due and are checked back, one by one.
    for index, (when, note) in enumerate(
        [
            (datetime(2021, 4, 7, 9, 0, tzinfo=CHINA), "traffic plan approved"),
            (datetime(2021, 4, 11, 9, 0, tzinfo=CHINA), "barrier and signs in place"),
            (datetime(2021, 4, 21, 9, 0, tzinfo=CHINA), "fire lane inspected: clear"),
        ]
    ):
        m.clock.set(when)
        assert m.rt.scheduler.tick().fell_due == {case: [index]}
        assert row(m, officer, case, commitments_due=1)["next_action"] == (
            f"check back commitment #{index} (due)"
        )
        m.post(
            f"/disputes/{case}/follow-ups",
            officer,
            201,
            commitment_index=index,
            kept=True,
            note=note,
        )
        if index == 1:
            resolved = m.post(
                f"/disputes/{case}/resolution",
                officer,
                200,
                summary="south gate entry-only; exits by the east and west gates; road clear",
            )
            assert resolved["settled_tier"] == "community"
    final = row(m, officer, case, status="resolved", commitments_open=0)
    assert final["next_action"] == "close the case: settled and followed up"

    # The case file tells the story, event by event, and verifies.
    story = [(e.event, e.tier, e.actor_id) for e in m.app.history(case)]
    assert story == [
        ("Reported", "compound", RESIDENT.id),
        ("DeadlinesSet", "compound", RESIDENT.id),
        ("MediationConvened", "compound", SECRETARY.id),
        ("RoundHeld", "compound", SECRETARY.id),
        ("MediationFailed", "compound", SECRETARY.id),
        ("Escalated", "compound", SECRETARY.id),
        ("DeadlinesSet", "community", SECRETARY.id),
        ("MediationConvened", "community", SECRETARY.id),
        ("RoundHeld", "community", OFFICER.id),
        ("MediationConvened", "community", OFFICER.id),
        ("RoundHeld", "community", OFFICER.id),
        ("RoundHeld", "community", SECRETARY.id),
        ("AgreementReached", "community", SECRETARY.id),
        ("CommitmentFellDue", "community", "mediation-service"),
        ("CommitmentFollowedUp", "community", OFFICER.id),
        ("CommitmentFellDue", "community", "mediation-service"),
        ("CommitmentFollowedUp", "community", OFFICER.id),
        ("Resolved", "community", OFFICER.id),
        ("CommitmentFellDue", "community", "mediation-service"),
        ("CommitmentFollowedUp", "community", OFFICER.id),
    ]
    history = m.app.history(case)
    convened = history[7].details
    assert convened["form"] == "deliberation_council"
    assert [p["id"] for p in convened["participants"] if p["role"] == "county_department_rep"] == [
        "housing-bureau:zhou",
        "fire-brigade:wu",
        "development-reform-bureau:qian",
    ]
    escalated = history[5]
    assert (escalated.details["to_tier"], escalated.details["automatic"]) == ("community", False)
    assert "gates and traffic" in escalated.reason
    assert history[10].details["tally"] == {options[0]: 1093, options[1]: 187}
    assert history[12].reason == (
        "the council, after the residents were asked; " + agreed["tally_citation"]
    )
    assert history[12].details["terms"][0].startswith("the south gate")
    assert m.app.verify(case).ok
    assert m.app.get_case(case).snapshot()["settled_tier"] == "community"


SITES = [
    "by the main entrance",
    "north wall by building 3",
    "behind building 7",
    "the old bicycle shed",
    "the car park corner",
    "the garden by building 12",
]


def test_the_charging_sheds_six_sites_three_rounds_three_chosen_on_the_tally(
    nats_mediators: Mediators,
) -> None:
    m = nats_mediators
    secretary = m.secretary()
    m.clock.set(datetime(2021, 5, 6, 9, 0, tzinfo=CHINA))
    case = str(
        m.app.report_dispute(
            RESIDENT,
            COMPOUND,
            "flying cables: e-bikes charged on cables hung from windows; unsafe and ugly",
            "flying_cables",
            ["e-bike owners", "residents under the cables"],
        )
    )
    row(m, secretary, case, tier="compound")
    rounds = [
        # (form, place, who was consulted, tally over the six sites)
        (
            "evening_courtyard_talk",
            "the courtyard of building 7",
            ["61 residents"],
            [31, 12, 20, 9, 22, 14],
        ),
        (
            "door_to_door",
            "buildings 1-62, door to door",
            ["412 households"],
            [301, 88, 240, 75, 260, 120],
        ),
        (
            "opinion_collection",
            "the owners' WeChat group",
            ["1,124 households"],
            [802, 190, 655, 140, 701, 233],
        ),
    ]
    tallies: list[dict[str, int]] = []
    meeting_ids: list[str] = []
    for day, (form, place, consulted, counts) in enumerate(rounds):
        m.clock.set(datetime(2021, 5, 10 + 7 * day, 18, 0, tzinfo=CHINA))
        meeting = m.post(
            f"/disputes/{case}/meetings",
            secretary,
            201,
            form=form,
            scheduled_for=at(11 + 7 * day, 19, 30, month=5),
            place=place,
            participants=seat(SECRETARY, COMMITTEE, MANAGER),
        )["meeting_id"]
        meeting_ids.append(meeting)
        tally = dict(zip(SITES, counts, strict=True))
        tallies.append(tally)
        m.clock.set(datetime(2021, 5, 11 + 7 * day, 21, 0, tzinfo=CHINA))
        m.post(
            f"/meetings/{meeting}/rounds",
            secretary,
            201,
            attendees=consulted,
            outcome="agreed" if day == 2 else "progress",
            options=SITES,
            tally=tally,
            proposals=["the developer pays for three sheds"],
        )
    chosen = sorted(SITES, key=lambda s: -tallies[-1][s])[:3]
    assert chosen == ["by the main entrance", "the car park corner", "behind building 7"]
    agreed = m.post(
        f"/disputes/{case}/agreement",
        secretary,
        201,
        meeting_id=meeting_ids[-1],
        terms=[f"a charging shed {site}" for site in chosen]
        + ["no more cables from windows once the sheds are open"],
        commitments=[
            {
                "who": "developer-wanxin",
                "what": "pay for and build the three sheds",
                "due": "2021-07-31",
            },
            {
                "who": MANAGER.id,
                "what": "run the sheds and take the cables down",
                "due": "2021-08-15",
            },
        ],
        basis="the three sites most households chose",
    )
    assert agreed["tally_citation"] == (
        f"tally of round 1 of meeting {meeting_ids[-1]}: by the main entrance 802, "
        "the car park corner 701, behind building 7 655, the garden by building 12 233, "
        "north wall by building 3 190, the old bicycle shed 140"
    )
    row(m, secretary, case, status="agreed")

    # The tallies are in the history: one tallied round per meeting, over the six sites.
    history = m.app.history(case)
    held = [e for e in history if e.event == "RoundHeld"]
    assert [e.details["tally"] for e in held] == tallies
    assert all(e.details["options"] == SITES for e in held)
    assert [e.details["attendees"] for e in held] == [r[2] for r in rounds]
    decided = next(e for e in history if e.event == "AgreementReached")
    assert decided.reason.endswith(agreed["tally_citation"])
    assert all(f"a charging shed {site}" in decided.details["terms"] for site in chosen)
    view = m.get(f"/disputes/{case}", secretary)
    assert [mt["form"] for mt in view["meetings"]] == [r[0] for r in rounds]
    assert [mt["rounds"][0]["tally"] for mt in view["meetings"]] == tallies
    assert m.app.verify(case).ok


def test_a_broken_commitment_reopens_the_dispute(nats_mediators: Mediators) -> None:
    m = nats_mediators
    leader = m.leader()
    m.clock.set(datetime(2021, 6, 1, 20, 0, tzinfo=CHINA))
    case = str(
        m.app.report_dispute(RESIDENT, FLAT, "drum practice after 22:00", "noise", [NEIGHBOUR.id])
    )
    row(m, leader, case, tier="building")
    talk = m.post(
        f"/disputes/{case}/meetings",
        leader,
        201,
        form="building_talk",
        scheduled_for=at(2, 19, month=6),
        place="building 12 lobby",
        participants=seat(RESIDENT, NEIGHBOUR),
    )["meeting_id"]
    m.clock.set(datetime(2021, 6, 2, 20, 0, tzinfo=CHINA))
    m.post(
        f"/meetings/{talk}/rounds",
        leader,
        201,
        attendees=[RESIDENT.id, NEIGHBOUR.id],
        outcome="agreed",
    )
    m.post(
        f"/disputes/{case}/agreement",
        leader,
        201,
        meeting_id=talk,
        terms=["no drums after 21:00", "a mat under the drum kit"],
        commitments=[
            {"who": NEIGHBOUR.id, "what": "fit a mat under the drum kit", "due": "2021-06-09"}
        ],
    )
    m.post(f"/disputes/{case}/resolution", leader, 200, summary="agreed at the building talk")
    resolved = row(m, leader, case, status="resolved")
    assert resolved["next_action"] == "check back when commitments fall due (next 2021-06-09)"

    m.clock.set(datetime(2021, 6, 9, 23, 0, tzinfo=CHINA))
    assert m.rt.scheduler.tick().fell_due == {}  # due by the end of the 9th, not before
    m.clock.set(datetime(2021, 6, 10, 9, 0, tzinfo=CHINA))
    assert m.rt.scheduler.tick().fell_due == {case: [0]}
    assert m.rt.scheduler.tick().fell_due == {}  # once
    row(m, leader, case, commitments_due=1)
    broken = m.post(
        f"/disputes/{case}/follow-ups",
        leader,
        201,
        commitment_index=0,
        kept=False,
        note="no mat; drums at 23:00 on Friday",
    )
    assert broken["status"] == "in_mediation"
    assert broken["commitments"][0]["status"] == "broken"
    assert broken["terms"] == []
    reopened = row(m, leader, case, status="in_mediation")
    assert reopened["next_action"].startswith("hold the next round")
    tail = [(e.event, e.actor_id, e.reason) for e in m.app.history(case)][-4:]
    assert tail == [
        (
            "CommitmentFellDue",
            "mediation-service",
            f"{NEIGHBOUR.id} was to fit a mat under the drum kit by 2021-06-09; check it back",
        ),
        ("CommitmentFollowedUp", "building-leader-b12", ""),
        ("Reopened", "building-leader-b12", "commitment broken: fit a mat under the drum kit"),
        ("DeadlinesSet", "building-leader-b12", ""),  # the building owes a fresh response
    ]
    assert m.app.verify(case).ok
