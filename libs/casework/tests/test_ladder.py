"""The escalation ladder: one rung at a time, deadlines from the table, reasons from given times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from casework.domain import (
    SYSTEM,
    Actor,
    Address,
    Case,
    Dispute,
    InvalidTransitionError,
    LeakEmergency,
    Repair,
    Role,
    Tier,
    ValidationError,
)
from casework.domain.ladder import DEADLINES, PRIORITIES, deadlines_for
from casework.kinds.registry import BUILTIN as KINDS

FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
MANAGER = Actor("manager-wang", Role.PROPERTY_MANAGER)
HOUR = timedelta(hours=1)


def test_the_tiers_climb_building_compound_community() -> None:
    assert [t.rank for t in Tier] == [0, 1, 2]
    assert Tier.BUILDING.next_up() is Tier.COMPOUND
    assert Tier.COMPOUND.next_up() is Tier.COMMUNITY
    assert Tier.COMMUNITY.next_up() is None
    assert [t.label for t in Tier] == ["楼栋", "小区", "社区"]


def test_the_deadline_table_covers_every_kind_priority_and_tier() -> None:
    assert set(DEADLINES) == {(k, p, t) for k in KINDS for p in PRIORITIES for t in Tier}
    for deadlines in DEADLINES.values():
        assert timedelta(0) < deadlines.respond_within <= deadlines.settle_within


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("tier", list(Tier))
def test_a_more_pressing_priority_never_gets_a_later_first_response(kind: str, tier: Tier) -> None:
    responses = [deadlines_for(kind, p, tier).respond_within for p in PRIORITIES]
    assert responses == sorted(responses, reverse=True)


CASES: list[tuple[str, Callable[[Actor, datetime], Case]]] = [
    *[
        (
            f"repair-{p}",
            lambda a, t, p=p: Repair.report(a, t, FLAT, "lift stuck", "lift", priority=p),  # type: ignore[misc]
        )
        for p in PRIORITIES
    ],
    ("leak-urgent", lambda a, t: LeakEmergency.report(a, t, FLAT, "drip", "0402")),
    (
        "leak-emergency",
        lambda a, t: LeakEmergency.report(a, t, FLAT, "flood", "0402", source_unoccupied=True),
    ),
    *[
        (
            f"dispute-{p}",
            lambda a, t, p=p: Dispute.report(a, t, FLAT, "drums", "noise", priority=p),  # type: ignore[misc]
        )
        for p in PRIORITIES
    ],
]


@pytest.mark.parametrize("make", [m for _, m in CASES], ids=[n for n, _ in CASES])
def test_each_escalation_climbs_one_rung_and_records_the_new_tiers_deadlines(
    make: Callable[[Actor, datetime], Case], resident: Actor, t0: datetime
) -> None:
    case = make(resident, t0)
    assert case.tier is Tier.BUILDING
    first = case.pending_events[1]
    assert isinstance(first, Case.DeadlinesSet)
    table = deadlines_for(case.KIND, case.priority.value, Tier.BUILDING)
    assert (first.respond_by, first.settle_by) == (
        t0 + table.respond_within,
        t0 + table.settle_within,
    )
    at = t0
    for expected in (Tier.COMPOUND, Tier.COMMUNITY):
        at += 2 * HOUR
        was = case.tier
        case.escalate(MANAGER, at, f"cannot be settled at the {was.value}")
        escalated, deadlines = case.pending_events[-2:]
        assert isinstance(escalated, Case.Escalated)
        assert (escalated.tier, escalated.to_tier) == (was.value, expected.value)
        assert escalated.reason == f"cannot be settled at the {was.value}"
        assert (escalated.actor_id, escalated.actor_role) == (MANAGER.id, "property_manager")
        assert escalated.automatic is False
        assert escalated.timestamp == at
        assert isinstance(deadlines, Case.DeadlinesSet)
        assert deadlines.tier == expected.value
        table = deadlines_for(case.KIND, case.priority.value, expected)
        assert deadlines.respond_by == at + table.respond_within
        assert deadlines.settle_by == at + table.settle_within
        assert case.tier is expected
        assert (case.respond_by, case.settle_by, case.tier_entered_at) == (
            deadlines.respond_by,
            deadlines.settle_by,
            at,
        )
    assert case.escalations == 2
    assert case.entry_tier is Tier.BUILDING
    before = len(case.pending_events)
    with pytest.raises(InvalidTransitionError, match="already at the community, the top"):
        case.escalate(MANAGER, at + HOUR, "further")
    assert len(case.pending_events) == before
    assert case.escalation_reason(at + 1000 * HOUR) is None


def test_an_escalation_needs_a_reason(resident: Actor, t0: datetime) -> None:
    case = Repair.report(resident, t0, FLAT, "lift stuck", "lift")
    with pytest.raises(ValidationError, match="the reason for escalating must not be empty"):
        case.escalate(MANAGER, t0, "  ")


def test_only_the_scheduler_records_an_automatic_escalation(resident: Actor, t0: datetime) -> None:
    case = Repair.report(resident, t0, FLAT, "lift stuck", "lift")
    with pytest.raises(ValidationError, match="only the scheduler records automatic"):
        case.escalate(MANAGER, t0, "deadline", automatic=True)
    case.escalate(SYSTEM, t0, "deadline passed: no response", automatic=True)
    escalated = case.pending_events[-2]
    assert isinstance(escalated, Case.Escalated)
    assert escalated.automatic is True
    assert (escalated.actor_id, escalated.actor_role) == ("scheduler", "system")


def test_a_resolved_case_is_not_escalated(resident: Actor, staff: Actor, t0: datetime) -> None:
    case = Repair.report(resident, t0, FLAT, "lift stuck", "lift")
    case.assign(staff, t0, staff, "on duty")
    case.start_work(staff, t0)
    case.finish_work(staff, t0, "reset")
    case.resolve(staff, t0, "runs")
    with pytest.raises(InvalidTransitionError, match="already resolved; reopen it"):
        case.escalate(MANAGER, t0, "anyway")
    assert case.escalation_reason(t0 + 1000 * HOUR) is None


def test_a_case_nobody_answered_climbs_once_its_response_deadline_passes(
    resident: Actor, t0: datetime
) -> None:
    case = Repair.report(resident, t0, FLAT, "lift stuck", "lift", priority="urgent")
    assert case.respond_by == t0 + timedelta(minutes=30)
    assert case.escalation_reason(t0 + timedelta(minutes=30)) is None
    assert case.escalation_reason(t0 + timedelta(minutes=31)) == "deadline passed: no response"


def test_an_answered_case_climbs_only_once_its_settle_deadline_passes(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = Repair.report(resident, t0, FLAT, "lift stuck", "lift", priority="urgent")
    case.acknowledge(staff, t0 + timedelta(minutes=5))
    assert case.escalation_reason(t0 + timedelta(minutes=31)) is None
    assert case.escalation_reason(t0 + timedelta(days=1)) is None
    assert case.escalation_reason(t0 + timedelta(days=1, seconds=1)) == (
        "deadline passed: not settled at this tier"
    )
