"""A dispute's lead mediator: who may take the lead or name one, that it lapses on a climb, and
that the case file says who, when and why."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.contracts import to_contract
from casework.contracts.mapping import CasePlace
from casework.domain import (
    Actor,
    Address,
    Dispute,
    InvalidTransitionError,
    NotPermittedError,
    Role,
    ValidationError,
)
from casework.domain.ladder import LOCAL_TIME
from casework.domain.mediation_rules import CONVENERS, TIER_HEADS
from casework.domain.places import Tier
from casework.timeline import EVENT_LABELS
from hypothesis import given, settings
from hypothesis import strategies as st

COMPOUND = Address.parse("jiayu-xx/wanxin-intl")
MINUTE = timedelta(minutes=1)
REPORTER = Actor("resident-0302", Role.RESIDENT)
SECRETARY = Actor("party-secretary-wanxin", Role.PARTY_SECRETARY)
MANAGER = Actor("manager-wang", Role.PROPERTY_MANAGER)
COMMITTEE = Actor("committee-liu", Role.OWNERS_COMMITTEE)
OFFICER = Actor("officer-sun", Role.COMMUNITY_OFFICER)
T0 = datetime(2021, 3, 1, 9, tzinfo=LOCAL_TIME)


def parking() -> Dispute:
    return Dispute.report(REPORTER, T0, COMPOUND, "cars on the main road", "parking", ["a", "b"])


def test_a_mediator_of_the_tier_takes_the_lead_with_a_reason() -> None:
    case = parking()
    case.name_lead_mediator(MANAGER, T0 + MINUTE, MANAGER, "the cars are in my car park")
    assert case.lead_mediator is not None
    assert case.lead_mediator.as_dict() == {
        "id": "manager-wang",
        "role": "property_manager",
        "tier": "compound",
        "named_by": "manager-wang",
        "since": (T0 + MINUTE).isoformat(),
    }
    event = case.pending_events[-1]
    assert isinstance(event, Dispute.LeadMediatorNamed)
    assert (event.actor_id, event.actor_role, event.reason) == (
        "manager-wang",
        "property_manager",
        "the cars are in my car park",
    )
    assert case.snapshot()["lead_mediator"]["id"] == "manager-wang"


def test_a_colleague_cannot_take_over_a_lead_but_the_head_can_name_another() -> None:
    case = parking()
    case.name_lead_mediator(MANAGER, T0 + MINUTE, MANAGER, "my car park")
    with pytest.raises(InvalidTransitionError, match=r"manager-wang .* leads .* can name another"):
        case.name_lead_mediator(COMMITTEE, T0 + 2 * MINUTE, COMMITTEE, "I know the owners")
    with pytest.raises(InvalidTransitionError, match="already leads"):
        case.name_lead_mediator(MANAGER, T0 + 2 * MINUTE, MANAGER, "again")
    case.name_lead_mediator(SECRETARY, T0 + 3 * MINUTE, COMMITTEE, "knows the owners")
    lead = case.lead_mediator
    assert lead is not None
    assert (lead.id, lead.named_by) == ("committee-liu", "party-secretary-wanxin")
    case.name_lead_mediator(SECRETARY, T0 + 4 * MINUTE, SECRETARY, "I take it over myself")
    assert case.lead_mediator is not None
    assert case.lead_mediator.id == SECRETARY.id


def test_only_the_tiers_head_names_someone_else() -> None:
    case = parking()
    with pytest.raises(NotPermittedError, match="only the party_secretary"):
        case.name_lead_mediator(MANAGER, T0 + MINUTE, COMMITTEE, "you do it")
    with pytest.raises(NotPermittedError, match="may not convene mediation"):
        case.name_lead_mediator(REPORTER, T0 + MINUTE, REPORTER, "I will sort it out")


def test_the_lead_is_a_mediator_of_the_tier() -> None:
    case = parking()
    leader = Actor("leader-b3", Role.BUILDING_LEADER)
    with pytest.raises(InvalidTransitionError, match="does not mediate at the compound"):
        case.name_lead_mediator(leader, T0 + MINUTE, leader, "I live there")
    with pytest.raises(InvalidTransitionError, match="cannot lead a dispute there"):
        case.name_lead_mediator(SECRETARY, T0 + MINUTE, leader, "he lives there")
    with pytest.raises(ValidationError, match="the reason for this lead must not be empty"):
        case.name_lead_mediator(SECRETARY, T0 + MINUTE, SECRETARY, "  ")
    with pytest.raises(ValidationError, match="leads as one"):
        case.name_lead_mediator(MANAGER, T0 + MINUTE, Actor(MANAGER.id, Role.OWNERS_COMMITTEE), "x")


def test_the_lead_lapses_when_the_dispute_climbs_and_the_new_tier_takes_it() -> None:
    case = parking()
    case.name_lead_mediator(MANAGER, T0 + MINUTE, MANAGER, "my car park")
    case.escalate_on_grounds(
        MANAGER, T0 + 2 * MINUTE, "outside_powers", "the gates", "gates_and_traffic"
    )
    assert case.tier is Tier.COMMUNITY
    assert case.lead_mediator is None
    assert case.snapshot()["lead_mediator"] is None
    with pytest.raises(InvalidTransitionError, match="does not mediate at the community"):
        case.name_lead_mediator(MANAGER, T0 + 3 * MINUTE, MANAGER, "still mine")
    case.name_lead_mediator(OFFICER, T0 + 3 * MINUTE, OFFICER, "the gates are ours")
    assert case.lead_mediator is not None
    assert case.lead_mediator.tier == "community"


def test_a_settled_dispute_takes_no_lead() -> None:
    case = parking()
    case.convene_mediation(SECRETARY, T0, "m1", "roundtable", T0 + MINUTE, "hall", [])
    case.reach_agreement(SECRETARY, T0 + MINUTE, "m1", ["park in the lot"], [])
    case.resolve(SECRETARY, T0 + 2 * MINUTE, "agreed")
    with pytest.raises(InvalidTransitionError, match="already resolved"):
        case.name_lead_mediator(SECRETARY, T0 + 3 * MINUTE, SECRETARY, "late")


ROLES = st.sampled_from(
    [
        Role.BUILDING_LEADER,
        Role.PARTY_SECRETARY,
        Role.OWNERS_COMMITTEE,
        Role.PROPERTY_MANAGER,
        Role.COMMUNITY_OFFICER,
        Role.PROPERTY_STAFF,
        Role.RESIDENT,
    ]
)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("name"), ROLES, st.integers(0, 2), ROLES, st.integers(0, 2)),
        st.tuples(st.just("climb")),
    ),
    max_size=8,
)


@settings(max_examples=80, deadline=None)
@given(steps=STEPS)
def test_the_lead_is_whoever_was_last_named_at_the_tier_and_only_as_the_rules_allow(
    steps: list[tuple[object, ...]],
) -> None:
    """For every run of attempts and climbs: an attempt is recorded exactly when the lead is a
    mediator of the tier and either takes it themself while no colleague leads, or is named by
    the tier's head (who may also take it over); the lead is then the last recorded one at the
    dispute's current tier, and nobody after a climb."""
    case = Dispute.report(
        REPORTER, T0, Address.parse("jiayu-xx/wanxin-intl/b3"), "noise", "noise", ["a", "b"]
    )
    expected: str | None = None
    at = T0
    for step in steps:
        at += MINUTE
        if step[0] == "climb":
            if case.tier.next_up() is not None:
                case.escalate(SECRETARY, at, "cannot settle it here")
                expected = None
            continue
        _, actor_role, actor_n, lead_role, lead_n = step
        assert isinstance(actor_role, Role)
        assert isinstance(lead_role, Role)
        actor = Actor(f"{actor_role.value}-{actor_n}", actor_role)
        lead = (
            actor
            if (lead_role, lead_n) == (actor_role, actor_n)
            else Actor(f"{lead_role.value}-{lead_n}", lead_role)
        )
        head = TIER_HEADS[case.tier]
        mediates = lead.role in CONVENERS[case.tier]
        if lead == actor:
            allowed = mediates and (expected in (None, actor.id) or actor.role is head)
        else:
            allowed = actor.role is head and mediates
        allowed = allowed and expected != lead.id
        if allowed:
            case.name_lead_mediator(actor, at, lead, "why")
            expected = lead.id
        else:
            with pytest.raises((InvalidTransitionError, NotPermittedError)):
                case.name_lead_mediator(actor, at, lead, "why")
        current = case.lead_mediator
        assert (current.id if current else None) == expected


def test_the_lead_is_a_public_contract_with_a_label(app: Casework, clock: FakeClock) -> None:
    case_id = app.report_dispute(REPORTER, str(COMPOUND), "cars", "parking", ["a", "b"])
    case = app.get_case(case_id)
    assert isinstance(case, Dispute)
    case.name_lead_mediator(MANAGER, clock(), MANAGER, "my car park")
    app.save(case)
    entry = app.history(case_id)[-1]
    assert (entry.event, entry.reason, entry.details) == (
        "LeadMediatorNamed",
        "my car park",
        {"lead_id": "manager-wang", "lead_role": "property_manager"},
    )
    assert EVENT_LABELS["LeadMediatorNamed"] == "确定主调解人"
    place = CasePlace("jiayu-xx", "wanxin-intl")
    stored = app.recorder.select_notifications(start=1, limit=1000)
    contracts = [to_contract(app.mapper.to_domain_event(n), place) for n in stored]
    named = [c for c in contracts if c.type == "casework.dispute.lead_mediator_named.v1"]
    assert len(named) == 1
    assert (named[0].model_dump()["lead_id"], named[0].actor_id) == ("manager-wang", MANAGER.id)
    reloaded = app.get_case(case_id)
    assert isinstance(reloaded, Dispute)
    assert reloaded.lead_mediator is not None
    assert reloaded.lead_mediator.id == "manager-wang"
    assert app.verify(case_id).ok
