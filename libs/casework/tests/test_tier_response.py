"""Each tier owes its own response by its own `respond_by`.

A case that climbs gets new deadlines (`DeadlinesSet`); what the tier below did (acknowledging,
assigning) does not answer for the tier above. The first response ever (`acknowledged_at`, which
the measures read) is kept; the ladder reads `responded_at_tier`. An assigned case that climbs
keeps its assignee and is not due at once: its new tier has `respond_within` to take it up
(acknowledge, or the kind's own responses: a call to the leak's owner, a meeting convened).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from casework.domain import (
    SYSTEM,
    Actor,
    Address,
    Case,
    CaseworkError,
    Dispute,
    InvalidTransitionError,
    LeakEmergency,
    Repair,
    Role,
    Status,
    Tier,
)
from casework.domain.ladder import deadlines_for
from hypothesis import given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8)))
FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
MANAGER = Actor("manager-wang", Role.PROPERTY_MANAGER)
OFFICER = Actor("officer-sun", Role.COMMUNITY_OFFICER)
SECRETARY = Actor("secretary-chen", Role.PARTY_SECRETARY)
LEADER = Actor("leader-b12", Role.BUILDING_LEADER)
SECOND = timedelta(seconds=1)
NO_RESPONSE = "deadline passed: no response"


def climb(case: Case, at: datetime) -> str:
    reason = case.escalation_reason(at)
    assert reason is not None
    case.escalate(SYSTEM, at, reason, automatic=True)
    return reason


def assigned_repair() -> Repair:
    case = Repair.report(RESIDENT, T0, FLAT, "boiler out", "plumbing")
    case.acknowledge(STAFF, T0 + timedelta(minutes=5), "on it")
    case.assign(MANAGER, T0 + timedelta(minutes=10), STAFF, "plumber on duty")
    return case


def test_an_assigned_repair_that_climbs_is_not_due_at_once_but_owes_the_compound_a_response() -> (
    None
):
    case = assigned_repair()
    assert case.settle_by is not None
    entered = case.settle_by + SECOND
    assert climb(case, entered) == "deadline passed: not settled at this tier"
    assert (case.tier, case.status, case.assignee) == (Tier.COMPOUND, Status.ASSIGNED, STAFF)
    assert case.acknowledged_at == T0 + timedelta(minutes=5)  # the first response, kept
    assert case.responded_at_tier is None
    respond_by = entered + deadlines_for("repair", "routine", Tier.COMPOUND).respond_within
    assert case.respond_by == respond_by
    assert case.escalation_reason(entered + SECOND) is None
    assert case.escalation_due_at() == respond_by
    assert case.escalation_reason(respond_by) is None
    assert case.escalation_reason(respond_by + SECOND) == NO_RESPONSE


def test_the_manager_takes_a_climbed_case_up_without_undoing_the_assignment() -> None:
    case = assigned_repair()
    assert case.settle_by is not None
    entered = case.settle_by + SECOND
    climb(case, entered)
    case.acknowledge(MANAGER, entered + timedelta(minutes=20), "compound takes it over")
    assert (case.status, case.assignee) == (Status.ASSIGNED, STAFF)
    assert case.responded_at_tier == entered + timedelta(minutes=20)
    assert case.acknowledged_at == T0 + timedelta(minutes=5)
    assert case.settle_by is not None
    assert case.escalation_due_at() == case.settle_by  # only the settle deadline is left
    assert case.escalation_reason(case.settle_by) is None
    with pytest.raises(InvalidTransitionError, match="already answered at the compound tier"):
        case.acknowledge(MANAGER, entered + timedelta(minutes=30))
    case.start_work(STAFF, entered + timedelta(hours=1))
    case.finish_work(STAFF, entered + timedelta(hours=2), "valve replaced")
    case.resolve(MANAGER, entered + timedelta(hours=3), "fixed")
    with pytest.raises(InvalidTransitionError, match="already resolved"):
        case.acknowledge(MANAGER, entered + timedelta(hours=4))


def test_an_unanswered_climbed_case_climbs_again_to_the_community() -> None:
    case = assigned_repair()
    assert case.settle_by is not None
    climb(case, case.settle_by + SECOND)
    assert case.respond_by is not None
    assert climb(case, case.respond_by + SECOND) == NO_RESPONSE
    assert case.tier is Tier.COMMUNITY
    assert case.escalation_due_at() is None  # the top of the ladder


def test_a_reported_case_is_acknowledged_as_before_even_after_a_leak_call() -> None:
    leak = LeakEmergency.report(RESIDENT, T0, FLAT, "water", "0402")
    leak.attempt_owner_contact(STAFF, T0 + SECOND, "phone", "no_answer")
    leak.acknowledge(STAFF, T0 + 2 * SECOND, "logged")
    assert leak.status is Status.ACKNOWLEDGED
    assert leak.acknowledged_at == leak.responded_at_tier == T0 + SECOND


def test_a_leak_is_answered_at_the_compound_by_the_riser_valve() -> None:
    leak = LeakEmergency.report(RESIDENT, T0, FLAT, "water", "0402", source_unoccupied=True)
    leak.attempt_owner_contact(STAFF, T0 + timedelta(minutes=1), "phone", "no_answer")
    entered = T0 + timedelta(minutes=16)
    climb(leak, entered)
    assert leak.responded_at_tier is None
    leak.stop_water(MANAGER, entered + timedelta(minutes=5), "riser_valve_shut")
    assert leak.responded_at_tier == entered + timedelta(minutes=5)
    assert leak.escalation_due_at() is None


def test_a_dispute_is_answered_at_the_new_tier_by_a_meeting_convened_there() -> None:
    case = Dispute.report(RESIDENT, T0, FLAT, "noise at night", "noise", ["resident-0402"])
    assert case.tier is Tier.BUILDING
    case.convene_mediation(
        LEADER, T0 + timedelta(hours=1), "m1", "door_to_door", T0 + timedelta(hours=5), "0402",
        [],
    )  # fmt: skip
    case.escalate(LEADER, T0 + timedelta(hours=2), "the neighbours will not meet")
    assert (case.tier, case.status, case.responded_at_tier) == (
        Tier.COMPOUND,
        Status.IN_MEDIATION,
        None,
    )
    assert case.escalation_due_at() == case.respond_by
    case.convene_mediation(
        SECRETARY, T0 + timedelta(hours=3), "m2", "roundtable", T0 + timedelta(days=1), "hall",
        [],
    )  # fmt: skip
    assert case.responded_at_tier == T0 + timedelta(hours=3)
    assert case.acknowledged_at == T0 + timedelta(hours=1)
    assert case.escalation_due_at() == case.settle_by


def steps() -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(["acknowledge", "assign", "escalate"]), max_size=3)


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["repair", "leak"]),
    priority=st.sampled_from(["routine", "urgent", "emergency"]),
    before=steps(),
    minutes=st.lists(st.integers(0, 300), min_size=4, max_size=4),
)
def test_a_case_unanswered_at_the_tier_it_climbed_to_climbs_again_after_its_respond_within(
    kind: str, priority: str, before: list[str], minutes: list[int]
) -> None:
    """Whatever was done below, a case nobody answers at its new tier is due when that tier's
    own respond_within has run from the moment it entered, and not before."""
    if kind == "repair":
        case: Case = Repair.report(RESIDENT, T0, FLAT, "tap", "plumbing", priority)
    else:
        case = LeakEmergency.report(
            RESIDENT, T0, FLAT, "water", "0402", source_unoccupied=priority == "emergency"
        )
    at = T0
    for step, later in zip(before, minutes, strict=False):
        at += timedelta(minutes=later)
        try:
            if step == "acknowledge":
                case.acknowledge(STAFF, at, "seen")
            elif step == "assign":
                case.assign(MANAGER, at, STAFF, "on duty")
            else:
                case.escalate(MANAGER, at, "outside our powers")
        except CaseworkError:
            continue
    if case.tier.next_up() is None:
        return  # already at the community: no rung left to climb to
    entered = at + timedelta(minutes=minutes[-1])
    case.escalate(MANAGER, entered, "the tier below cannot settle it")
    within = deadlines_for(kind, case.priority.value, case.tier).respond_within
    due = case.escalation_due_at()
    if case.tier.next_up() is None:
        assert due is None  # landed at the top: it owes a response, but cannot climb further
        return
    assert due is not None
    assert due <= entered + within
    assert case.escalation_reason(entered) is None
    late = case.escalation_reason(entered + within + SECOND)
    assert late is not None
    if kind == "repair":
        assert late == NO_RESPONSE
        assert due == entered + within
