"""`ANSWERS_A_TIER` is the one list of events that answer a case at its tier.

The aggregate applies it (`Case.Event.apply`), and readers without the aggregate (the intake's
measures) fold the same list over the log. These tests hold the list to the event classes that
exist, and hold the aggregate's `acknowledged_at`/`responded_at_tier` to a fold over its own
events by name alone: if a kind answered a tier some other way, the two would part.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from casework.domain import (
    Actor,
    Address,
    Case,
    Dispute,
    LeakEmergency,
    Repair,
    Role,
)
from casework.domain.case import ANSWERS_A_TIER

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8)))
FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
COMPOUND = Address.parse("jiayu-xx/wanxin-intl")
RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
MANAGER = Actor("manager-wang", Role.PROPERTY_MANAGER)
MINUTE = timedelta(minutes=1)


def event_names(kind: type[Case]) -> set[str]:
    return {
        name
        for name in dir(kind)
        if isinstance(getattr(kind, name), type) and issubclass(getattr(kind, name), Case.Event)
    }


def test_every_name_on_the_list_is_an_event_some_kind_records() -> None:
    known = event_names(Repair) | event_names(LeakEmergency) | event_names(Dispute)
    assert set(ANSWERS_A_TIER) <= known
    assert "DeadlinesSet" not in ANSWERS_A_TIER  # entering a tier is what owes the response


def fold(events: list[Any]) -> tuple[datetime | None, datetime | None]:
    """(first response ever, response at the current tier), by event names alone."""
    first: datetime | None = None
    at_tier: datetime | None = None
    for event in events:
        name = type(event).__name__
        if name == "DeadlinesSet":
            at_tier = None
        elif name in ANSWERS_A_TIER:
            first = first or event.timestamp
            at_tier = at_tier or event.timestamp
    return first, at_tier


def check(case: Case, events: list[Any]) -> None:
    events += case.collect_events()
    assert fold(events) == (case.acknowledged_at, case.responded_at_tier)


def test_the_aggregate_answers_a_tier_exactly_when_the_list_says() -> None:
    repair = Repair.report(RESIDENT, T0, FLAT, "boiler out", "plumbing")
    log: list[Any] = []
    check(repair, log)
    repair.assign(MANAGER, T0 + MINUTE, STAFF, "plumber on duty")
    check(repair, log)
    repair.escalate(MANAGER, T0 + 2 * MINUTE, "needs a new boiler")
    check(repair, log)
    assert repair.responded_at_tier is None
    assert repair.acknowledged_at == T0 + MINUTE
    repair.acknowledge(MANAGER, T0 + 3 * MINUTE)
    check(repair, log)

    leak = LeakEmergency.report(RESIDENT, T0, FLAT, "water under the door", "0301")
    log = []
    leak.escalate(MANAGER, T0 + MINUTE, "owner abroad")
    check(leak, log)
    leak.attempt_owner_contact(MANAGER, T0 + 2 * MINUTE, "phone", "no_answer")
    check(leak, log)
    assert leak.responded_at_tier == T0 + 2 * MINUTE

    dispute = Dispute.report(RESIDENT, T0, COMPOUND, "parking on the lawn", "parking")
    log = []
    dispute.escalate(MANAGER, T0 + MINUTE, "the compound cannot decide")
    check(dispute, log)
    dispute.convene_mediation(
        Actor("officer-sun", Role.COMMUNITY_OFFICER),
        T0 + 2 * MINUTE,
        "m1",
        "roundtable",
        T0 + timedelta(days=1),
        "community office",
        [{"id": RESIDENT.id, "role": "resident"}],
    )
    check(dispute, log)
    assert dispute.responded_at_tier == T0 + 2 * MINUTE
