"""The rules a mediation service leans on: who mediates where, county seats, grounds to escalate,
matters beyond a tier's powers, commitments falling due, and a decision that cites its tally."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.domain import (
    SYSTEM,
    Actor,
    Address,
    Dispute,
    InvalidTransitionError,
    Role,
    Status,
    Tier,
    ValidationError,
)
from casework.domain.ladder import FAILED_ROUNDS_BEFORE_ESCALATION, LOCAL_TIME
from casework.domain.mediation_rules import MATTERS, commitment_due_at, county_department

COMPOUND = Address.parse("jiayu-xx/wanxin-intl")
FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
HOUR = timedelta(hours=1)
COUNTY = [
    {"id": "housing-bureau:zhou", "role": "county_department_rep"},
    {"id": "fire-brigade", "role": "county_department_rep"},
    {"id": "development-reform-bureau:li", "role": "county_department_rep"},
]


def gate_dispute(resident: Actor, t0: datetime) -> Dispute:
    return Dispute.report(resident, t0, COMPOUND, "main road blocked", "road_and_gates")


def test_a_county_representative_names_a_known_department() -> None:
    assert county_department("housing-bureau:zhou") == "housing-bureau"
    assert county_department("fire-brigade") == "fire-brigade"
    assert county_department("zhou") is None


def test_county_departments_sit_only_at_the_communitys_deliberation_council(
    resident: Actor, secretary: Actor, officer: Actor, t0: datetime
) -> None:
    case = gate_dispute(resident, t0)
    case.escalate(secretary, t0, "gates need the county")
    with pytest.raises(InvalidTransitionError, match="seated at a deliberation council"):
        case.convene_mediation(officer, t0, "r", "roundtable", t0 + HOUR, "hall", COUNTY)
    unnamed = [{"id": "zhou", "role": "county_department_rep"}]
    with pytest.raises(ValidationError, match="must name the department"):
        case.convene_mediation(officer, t0, "c", "deliberation_council", t0 + HOUR, "hall", unnamed)
    with pytest.raises(ValidationError, match="listed twice"):
        case.convene_mediation(
            officer, t0, "c", "deliberation_council", t0 + HOUR, "hall", COUNTY + COUNTY[:1]
        )
    case.convene_mediation(officer, t0, "c", "deliberation_council", t0 + HOUR, "hall", COUNTY)
    meeting = case.meetings["c"].as_dict()
    assert meeting["participants"] == COUNTY
    assert meeting["scheduled_for"] == (t0 + HOUR).isoformat()
    assert meeting["place"] == "hall"


@pytest.mark.parametrize(
    ("role", "tier", "allowed"),
    [
        (Role.BUILDING_LEADER, Tier.BUILDING, True),
        (Role.BUILDING_LEADER, Tier.COMPOUND, False),
        (Role.BUILDING_LEADER, Tier.COMMUNITY, False),
        (Role.PARTY_SECRETARY, Tier.COMPOUND, True),
        (Role.PARTY_SECRETARY, Tier.COMMUNITY, True),
        (Role.PROPERTY_MANAGER, Tier.COMMUNITY, False),
        (Role.COMMUNITY_OFFICER, Tier.BUILDING, False),
        (Role.COMMUNITY_OFFICER, Tier.COMMUNITY, True),
    ],
)
def test_each_tier_has_its_own_mediators(
    resident: Actor, t0: datetime, role: Role, tier: Tier, allowed: bool
) -> None:
    case = Dispute.report(resident, t0, FLAT, "drums at night", "noise", tier=tier)
    form = {
        Tier.BUILDING: "building_talk",
        Tier.COMPOUND: "roundtable",
        Tier.COMMUNITY: "deliberation_council",
    }[tier]
    mediator = Actor(f"someone-{role.value}", role)
    if allowed:
        case.convene_mediation(mediator, t0, "m", form, t0 + HOUR, "lobby", [])
        assert case.status is Status.IN_MEDIATION
    else:
        with pytest.raises(InvalidTransitionError, match="does not mediate at the"):
            case.convene_mediation(mediator, t0, "m", form, t0 + HOUR, "lobby", [])


def test_escalating_on_failed_rounds_needs_the_set_number_of_them(
    resident: Actor, secretary: Actor, t0: datetime
) -> None:
    case = gate_dispute(resident, t0)
    invited = [{"id": "a", "role": "resident"}, {"id": "b", "role": "resident"}]
    case.convene_mediation(secretary, t0, "m", "roundtable", t0, "hall", invited)
    for n in range(1, FAILED_ROUNDS_BEFORE_ESCALATION + 1):
        with pytest.raises(InvalidTransitionError, match=f"failed {n - 1} round"):
            case.escalate_on_grounds(secretary, t0, "failed_rounds")
        case.hold_round(secretary, t0 + n * HOUR, "m", ["a", "b"], "failed")
    case.escalate_on_grounds(secretary, t0 + 9 * HOUR, "failed_rounds", "both sides dug in")
    escalated = case.pending_events[-2]
    assert isinstance(escalated, Dispute.Escalated)
    assert escalated.reason == "mediation failed 3 rounds at the compound: both sides dug in"
    assert (escalated.tier, escalated.to_tier, escalated.automatic) == (
        "compound",
        "community",
        False,
    )


def test_escalating_on_a_passed_deadline_needs_one_to_have_passed(
    resident: Actor, secretary: Actor, t0: datetime
) -> None:
    case = gate_dispute(resident, t0)
    case.acknowledge(secretary, t0)
    with pytest.raises(InvalidTransitionError, match="no deadline"):
        case.escalate_on_grounds(secretary, t0 + HOUR, "deadline_passed")
    assert case.settle_by is not None
    case.escalate_on_grounds(secretary, case.settle_by + HOUR, "deadline_passed")
    assert case.pending_events[-2].reason == "deadline passed: not settled at this tier"
    assert case.tier is Tier.COMMUNITY


def test_a_matter_beyond_the_tiers_powers_climbs_one_rung_at_a_time(
    resident: Actor, leader: Actor, secretary: Actor, t0: datetime
) -> None:
    case = Dispute.report(resident, t0, FLAT, "gate shut on us", "noise")
    assert case.tier is Tier.BUILDING
    with pytest.raises(ValidationError, match="name the matter"):
        case.escalate_on_grounds(leader, t0, "outside_powers", matter="weather")
    with pytest.raises(InvalidTransitionError, match="within the building's powers"):
        case.escalate_on_grounds(leader, t0, "outside_powers", matter="household_terms")
    case.escalate_on_grounds(leader, t0, "outside_powers", "", "gates_and_traffic")
    assert case.tier is Tier.COMPOUND  # not the community: never skip a rung
    first = case.pending_events[-2]
    assert first.reason == (
        f"outside the building's powers: {MATTERS['gates_and_traffic'][0]} is decided at the "
        "community"
    )
    case.escalate_on_grounds(secretary, t0, "outside_powers", "needs county", "gates_and_traffic")
    assert case.tier is Tier.COMMUNITY
    with pytest.raises(InvalidTransitionError, match=r"top of the ladder|within the community"):
        case.escalate_on_grounds(secretary, t0, "outside_powers", matter="public_funds")


def test_other_grounds_need_a_reason_and_unknown_grounds_are_refused(
    resident: Actor, secretary: Actor, t0: datetime
) -> None:
    case = gate_dispute(resident, t0)
    with pytest.raises(ValidationError, match="reason for escalating must not be empty"):
        case.escalate_on_grounds(secretary, t0, "other", "  ")
    with pytest.raises(ValidationError, match="grounds must be one of"):
        case.escalate_on_grounds(secretary, t0, "bored", "x")
    case.escalate_on_grounds(secretary, t0, "other", "the owner lives in another county")
    assert case.pending_events[-2].reason == "the owner lives in another county"


def test_a_date_falls_due_at_the_end_of_that_day_local_time() -> None:
    assert commitment_due_at("2021-04-06") == datetime(2021, 4, 7, tzinfo=LOCAL_TIME)
    assert commitment_due_at("2021-04-06T18:00") == datetime(2021, 4, 6, 18, tzinfo=LOCAL_TIME)
    aware = datetime.fromisoformat("2021-04-06T18:00:00+00:00")
    assert commitment_due_at("2021-04-06T18:00:00+00:00") == aware


def test_commitments_fall_due_once_and_a_due_one_can_still_be_followed_up(
    resident: Actor, leader: Actor, t0: datetime
) -> None:
    case = Dispute.report(resident, t0, FLAT, "drums at night", "noise", ["resident-0402"])
    case.convene_mediation(leader, t0, "m", "building_talk", t0, "lobby", [])
    due = (t0 + timedelta(days=3)).date().isoformat()
    later = (t0 + timedelta(days=10)).date().isoformat()
    case.reach_agreement(
        leader,
        t0,
        "m",
        ["no drums after 21:00"],
        [
            {"who": "resident-0402", "what": "move the drums to the basement", "due": due},
            {"who": "resident-0402", "what": "fit a mat", "due": later},
        ],
    )
    end_of_due_day = commitment_due_at(due)
    assert case.check_back_commitments(SYSTEM, end_of_due_day - timedelta(seconds=1)) == []
    assert case.check_back_commitments(SYSTEM, end_of_due_day) == [0]
    fell = case.pending_events[-1]
    assert isinstance(fell, Dispute.CommitmentFellDue)
    assert (fell.commitment_index, fell.due, fell.actor_role) == (0, due, "system")
    assert "check it back" in fell.reason
    assert case.commitments[0].status == "due"
    assert case.check_back_commitments(SYSTEM, end_of_due_day + HOUR) == []  # once only
    case.record_follow_up(leader, end_of_due_day + HOUR, 0, True, "drums in the basement")
    assert [c.status for c in case.commitments] == ["kept", "pending"]


def test_an_agreement_after_an_opinion_collection_cites_the_latest_tally(
    resident: Actor, secretary: Actor, t0: datetime
) -> None:
    case = Dispute.report(resident, t0, COMPOUND, "flying cables", "ev_charging")
    case.convene_mediation(secretary, t0, "poll", "opinion_collection", t0, "door to door", [])
    options = ["a", "b", "c"]
    case.hold_round(secretary, t0, "poll", ["b1"], "progress", options=options, tally={"a": 3})
    case.hold_round(
        secretary, t0, "poll", ["b1", "b2"], "progress", options=options, tally={"b": 9, "a": 5}
    )
    assert case.snapshot()["tally_citation"] == "tally of round 2 of meeting poll: b 9, a 5"
    case.reach_agreement(secretary, t0, "poll", ["sheds at b"], [], "owners chose b")
    assert case.pending_events[-1].reason == (
        "owners chose b; tally of round 2 of meeting poll: b 9, a 5"
    )


def test_the_application_checks_back_due_commitments_once_even_when_asked_twice(
    app: Casework, clock: FakeClock, resident: Actor, leader: Actor
) -> None:
    case = app.report_dispute(resident, FLAT.path, "drums at night", "noise", ["resident-0402"])
    meeting = app.convene_mediation(case, leader, "building_talk", clock(), "lobby", [])
    due = clock().date().isoformat()
    app.reach_agreement(
        case, leader, meeting, ["quiet"], [{"who": "resident-0402", "what": "quiet", "due": due}]
    )
    assert app.check_back_commitments(case, SYSTEM) == []
    clock.advance(timedelta(days=1))
    assert app.check_back_commitments(case, SYSTEM) == [0]
    assert app.check_back_commitments(case, SYSTEM) == []
    assert [e.event for e in app.history(case)].count("CommitmentFellDue") == 1


def test_the_application_escalates_a_dispute_on_grounds(
    app: Casework, resident: Actor, secretary: Actor
) -> None:
    case = app.report_dispute(resident, COMPOUND.path, "main road blocked", "road_and_gates")
    app.escalate_dispute(case, secretary, "outside_powers", "county needed", "fire_lanes")
    escalated = app.history(case)[-2]
    assert (escalated.event, escalated.tier, escalated.details["to_tier"]) == (
        "Escalated",
        "compound",
        "community",
    )
    assert escalated.reason.endswith(": county needed")


def test_an_agreed_dispute_does_not_climb_when_its_settle_deadline_passes(
    resident: Actor, secretary: Actor, t0: datetime
) -> None:
    case = gate_dispute(resident, t0)
    case.convene_mediation(secretary, t0, "m", "roundtable", t0, "hall", [])
    case.reach_agreement(secretary, t0 + HOUR, "m", ["no parking on the main road"], [])
    assert case.settle_by is not None
    assert case.escalation_reason(case.settle_by + HOUR) is None
    assert case.escalation_due_at() is None
