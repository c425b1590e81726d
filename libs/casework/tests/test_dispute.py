"""The dispute on the aggregate: meetings by tier, rounds, agreements, commitments, failures."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from casework.domain import (
    SYSTEM,
    Actor,
    Address,
    Dispute,
    InvalidTransitionError,
    Status,
    Tier,
    ValidationError,
)
from casework.domain.mediation_rules import starting_tier

FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
COMPOUND = Address.parse("jiayu-xx/wanxin-intl")
HOUR = timedelta(hours=1)
PARTICIPANTS = [
    {"id": "resident-0302", "role": "resident"},
    {"id": "resident-0402", "role": "resident"},
]


def noise_dispute(resident: Actor, t0: datetime) -> Dispute:
    return Dispute.report(
        resident, t0, FLAT, "drum practice after 22:00", "noise", ["resident-0402"]
    )


def convened(case: Dispute, mediator: Actor, at: datetime, meeting_id: str = "m1") -> Dispute:
    case.convene_mediation(
        mediator, at, meeting_id, "building_talk", at + HOUR, "b12 lobby", PARTICIPANTS
    )
    return case


def test_disputes_start_at_the_lowest_tier_that_can_settle_them() -> None:
    assert starting_tier("noise", FLAT) is Tier.BUILDING
    assert starting_tier("noise", COMPOUND) is Tier.COMPOUND
    assert starting_tier("ev_charging", FLAT) is Tier.COMPOUND
    assert starting_tier("noise", FLAT, needs_county=True) is Tier.COMMUNITY


def test_a_dispute_report_records_its_category_and_parties(resident: Actor, t0: datetime) -> None:
    case = Dispute.report(resident, t0, FLAT, "noise", "noise", [" resident-0402 ", " "])
    assert case.parties == ["resident-0402"]
    assert case.category == "noise"
    with pytest.raises(ValidationError, match="dispute category must be one of"):
        Dispute.report(resident, t0, FLAT, "noise", "aliens")


def test_the_charging_shed_story_rounds_then_agreement_then_commitments_kept(
    resident: Actor, secretary: Actor, t0: datetime
) -> None:
    case = Dispute.report(
        resident, t0, COMPOUND, "nowhere safe to charge e-bikes; flying cables", "ev_charging"
    )
    assert case.tier is Tier.COMPOUND
    case.convene_mediation(
        secretary, t0 + HOUR, "shed", "residents_talk_meeting", t0 + 48 * HOUR, "courtyard", []
    )
    convene = case.pending_events[-1]
    assert isinstance(convene, Dispute.MediationConvened)
    assert (convene.form, convene.tier, convene.actor_role) == (
        "residents_talk_meeting",
        "compound",
        "party_secretary",
    )
    assert case.status is Status.IN_MEDIATION
    assert case.acknowledged_at == t0 + HOUR
    sites = ["north wall", "gate 2", "b3 side", "b7 side", "car park", "garden"]
    for n, outcome in enumerate(["progress", "progress", "progress"], start=1):
        case.hold_round(
            secretary,
            t0 + n * 72 * HOUR,
            "shed",
            ["resident-0302", "resident-0505"],
            outcome,
            options=sites,
            tally={"north wall": 20 + n, "gate 2": 10},
        )
        held = case.pending_events[-1]
        assert isinstance(held, Dispute.RoundHeld)
        assert held.round_no == n
    assert case.rounds_held == 3
    assert case.last_tally == {"north wall": 23, "gate 2": 10}
    case.reach_agreement(
        secretary,
        t0 + 300 * HOUR,
        "shed",
        ["sheds at north wall, gate 2 and b3 side"],
        [{"who": "property-co", "what": "build the sheds", "due": "2026-12-31"}],
        "round 3 tally",
    )
    agreed = case.pending_events[-1]
    assert isinstance(agreed, Dispute.AgreementReached)
    assert (
        agreed.reason == "round 3 tally; tally of round 3 of meeting shed: north wall 23, gate 2 10"
    )
    assert case.status is Status.AGREED
    assert [c.as_dict() for c in case.commitments] == [
        {"who": "property-co", "what": "build the sheds", "due": "2026-12-31", "status": "pending"}
    ]
    case.resolve(secretary, t0 + 301 * HOUR, "three sheds agreed")
    assert case.settled_tier is Tier.COMPOUND
    case.confirm_resolution(resident, t0 + 302 * HOUR)
    case.record_return_visit(secretary, t0 + 302 * HOUR, "residents use the sheds")
    with pytest.raises(
        InvalidTransitionError, match=r"commitments not yet checked back \(#0\); record their"
    ):
        case.close_case(secretary, t0 + 302 * HOUR)
    case.record_follow_up(secretary, t0 + 900 * HOUR, 0, True, "sheds built")
    assert case.commitments[0].status == "kept"
    with pytest.raises(InvalidTransitionError, match="already followed up"):
        case.record_follow_up(secretary, t0 + 901 * HOUR, 0, True, "again")
    case.close_case(secretary, t0 + 902 * HOUR)
    assert case.status is Status.CLOSED


def test_a_broken_commitment_reopens_the_dispute_with_the_reason(
    resident: Actor, leader: Actor, t0: datetime
) -> None:
    case = convened(noise_dispute(resident, t0), leader, t0)
    case.reach_agreement(
        leader,
        t0 + HOUR,
        "m1",
        ["no drums after 21:00"],
        [{"who": "resident-0402", "what": "no drums after 21:00", "due": "2026-12-01"}],
    )
    case.resolve(leader, t0 + 2 * HOUR, "agreed")
    case.record_follow_up(leader, t0 + 200 * HOUR, 0, False, "drums at 23:00 on Friday")
    followed, reopened, deadlines = case.pending_events[-3:]
    assert isinstance(followed, Dispute.CommitmentFollowedUp)
    assert isinstance(deadlines, Dispute.DeadlinesSet)  # the tier owes a fresh response
    assert followed.kept is False
    assert isinstance(reopened, Dispute.Reopened)
    assert reopened.reason == "commitment broken: no drums after 21:00"
    assert case.status is Status.IN_MEDIATION
    assert case.terms == []
    assert case.reopen_count == 1


def test_a_failed_round_records_a_mediation_failure_with_a_reason(
    resident: Actor, leader: Actor, t0: datetime
) -> None:
    case = convened(noise_dispute(resident, t0), leader, t0)
    case.hold_round(leader, t0 + HOUR, "m1", ["resident-0302"], "failed")
    held, failed = case.pending_events[-2:]
    assert isinstance(held, Dispute.RoundHeld)
    assert isinstance(failed, Dispute.MediationFailed)
    assert failed.reason == "round 1 of meeting m1 failed"
    assert case.failed_rounds_at_tier == 1
    case.record_mediation_failed(leader, t0 + 2 * HOUR, "m1", "0402 refused to attend")
    assert case.pending_events[-1].reason == "0402 refused to attend"
    assert case.failed_rounds_at_tier == 2


def test_three_failed_rounds_make_the_dispute_climb_and_the_count_restarts_above(
    resident: Actor, leader: Actor, t0: datetime
) -> None:
    case = convened(noise_dispute(resident, t0), leader, t0)
    for n in range(1, 3):
        case.hold_round(leader, t0 + n * HOUR, "m1", ["resident-0302"], "failed")
        assert case.escalation_reason(t0 + n * HOUR) is None
    case.hold_round(leader, t0 + 3 * HOUR, "m1", ["resident-0302"], "failed")
    reason = case.escalation_reason(t0 + 3 * HOUR)
    assert reason == "mediation failed 3 rounds at the building"
    case.escalate(SYSTEM, t0 + 3 * HOUR, reason, automatic=True)
    assert case.tier is Tier.COMPOUND
    assert case.failed_rounds_at_tier == 0
    assert case.escalation_reason(t0 + 4 * HOUR) is None


def test_a_meeting_form_is_refused_at_a_tier_that_does_not_hold_it(
    resident: Actor, leader: Actor, t0: datetime
) -> None:
    case = noise_dispute(resident, t0)
    with pytest.raises(
        InvalidTransitionError, match=r"deliberation_council \(党群议事会\) is held"
    ):
        case.convene_mediation(
            leader, t0, "m1", "deliberation_council", t0 + HOUR, "community hall", []
        )
    with pytest.raises(ValidationError, match="meeting form must be one of"):
        case.convene_mediation(leader, t0, "m1", "duel", t0 + HOUR, "yard", [])


def test_county_representatives_are_refused_below_the_community(
    resident: Actor, secretary: Actor, officer: Actor, county_rep: Actor, t0: datetime
) -> None:
    case = Dispute.report(
        resident, t0, COMPOUND, "south gate closed, road blocked", "road_and_gates"
    )
    county = [{"id": county_rep.id, "role": county_rep.role.value}]
    before = len(case.pending_events)
    with pytest.raises(InvalidTransitionError, match="county departments sit at the community"):
        case.convene_mediation(secretary, t0, "r1", "roundtable", t0 + HOUR, "hall", county)
    assert len(case.pending_events) == before
    case.escalate(secretary, t0 + HOUR, "needs the housing bureau and fire brigade")
    case.convene_mediation(
        officer, t0 + 2 * HOUR, "council", "deliberation_council", t0 + 50 * HOUR, "hall", county
    )
    assert case.meetings["council"].tier == "community"
    assert case.pending_events[-1].participants == county


def test_a_meeting_is_convened_once_and_rounds_need_a_convened_meeting_at_this_tier(
    resident: Actor, leader: Actor, secretary: Actor, t0: datetime
) -> None:
    case = convened(noise_dispute(resident, t0), leader, t0)
    with pytest.raises(InvalidTransitionError, match="meeting m1 is already convened"):
        convened(case, leader, t0)
    with pytest.raises(InvalidTransitionError, match="meeting m9 was not convened"):
        case.hold_round(leader, t0, "m9", ["x"], "progress")
    with pytest.raises(InvalidTransitionError, match="meeting m9 was not convened"):
        case.record_mediation_failed(leader, t0, "m9", "no show")
    case.escalate(leader, t0 + HOUR, "outside the building's reach")
    with pytest.raises(InvalidTransitionError, match="convened at the building tier"):
        case.hold_round(secretary, t0 + 2 * HOUR, "m1", ["x"], "progress")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outcome": "maybe"}, "round outcome must be one of"),
        ({"tally": {"x": 1}, "options": ["y"]}, "tally names options not on the list: x"),
        ({"tally": {"y": -1}, "options": ["y"]}, "tally counts must be whole numbers"),
        ({"tally": {"y": True}, "options": ["y"]}, "tally counts must be whole numbers"),
        ({"attendees": []}, "a round needs its attendees"),
    ],
)
def test_a_malformed_round_is_refused(
    resident: Actor, leader: Actor, t0: datetime, kwargs: dict[str, object], message: str
) -> None:
    case = convened(noise_dispute(resident, t0), leader, t0)
    fields: dict[str, object] = {"attendees": ["resident-0302"], "outcome": "progress", **kwargs}
    with pytest.raises(ValidationError, match=message):
        case.hold_round(leader, t0, "m1", **fields)  # type: ignore[arg-type]


def test_an_agreement_needs_mediation_terms_and_well_formed_commitments(
    resident: Actor, leader: Actor, t0: datetime
) -> None:
    case = noise_dispute(resident, t0)
    with pytest.raises(InvalidTransitionError, match="it must be in_mediation to reach an agree"):
        case.reach_agreement(leader, t0, "m1", ["quiet"], [])
    convened(case, leader, t0)
    with pytest.raises(ValidationError, match="needs at least one term"):
        case.reach_agreement(leader, t0, "m1", [], [])
    with pytest.raises(ValidationError, match="each commitment names who does what"):
        case.reach_agreement(leader, t0, "m1", ["quiet"], [{"who": "a", "due": "2026-12-01"}])
    with pytest.raises(ValidationError, match="due date 'soon' is not an ISO date"):
        case.reach_agreement(
            leader, t0, "m1", ["quiet"], [{"who": "a", "what": "b", "due": "soon"}]
        )
    with pytest.raises(InvalidTransitionError, match="meeting m2 was not convened"):
        case.reach_agreement(leader, t0, "m2", ["quiet"], [])


def test_a_dispute_cannot_be_resolved_without_an_agreement(
    resident: Actor, leader: Actor, t0: datetime
) -> None:
    case = convened(noise_dispute(resident, t0), leader, t0)
    with pytest.raises(InvalidTransitionError, match="it needs an agreement to be resolved"):
        case.resolve(leader, t0, "settled")


def test_a_dispute_is_mediated_not_assigned(
    resident: Actor, staff: Actor, volunteer: Actor, t0: datetime
) -> None:
    case = noise_dispute(resident, t0)
    with pytest.raises(InvalidTransitionError, match="a dispute is mediated, not assigned"):
        case.assign(staff, t0, volunteer, "nearest")


def test_following_up_a_commitment_that_does_not_exist_is_refused(
    resident: Actor, leader: Actor, t0: datetime
) -> None:
    case = convened(noise_dispute(resident, t0), leader, t0)
    with pytest.raises(ValidationError, match="there is no commitment #0"):
        case.record_follow_up(leader, t0, 0, True, "fine")


def test_a_reopened_dispute_goes_back_to_mediation_and_drops_its_old_terms(
    resident: Actor, leader: Actor, t0: datetime
) -> None:
    case = convened(noise_dispute(resident, t0), leader, t0)
    case.reach_agreement(leader, t0, "m1", ["quiet hours"], [])
    case.resolve(leader, t0, "agreed")
    case.reopen(resident, t0 + HOUR, "still loud")
    assert case.status is Status.IN_MEDIATION
    assert case.terms == []


def test_a_participant_with_an_unknown_role_is_told_the_roles_there_are(
    resident: Actor, leader: Actor, t0: datetime
) -> None:
    case = noise_dispute(resident, t0)
    with pytest.raises(ValidationError, match="unknown role 'owners_committee'") as refused:
        case.convene_mediation(
            leader,
            t0,
            "m1",
            "building_talk",
            t0 + HOUR,
            "hall",
            [{"id": "chen", "role": "owners_committee"}],
        )
    assert "owners_committee_member," in str(refused.value)
    assert "system" not in str(refused.value)
