"""Property: `escalation_due_at` is exactly when `escalation_reason` starts giving a reason.

A scheduler sleeps until `escalation_due_at()` and then asks `escalation_reason(now)`; if the two
disagreed it would escalate late (sleeping past a reason that already held) or wake for nothing.
Hypothesis drives repairs, leaks and disputes through random commands at random times (among
them escalations to tiers that owe their own response, and the responses there), and after each
accepted one checks the two against each other around the due moment and at random moments.
Disputes' rounds are left out: three failed rounds are a reason whatever the time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from casework.domain import (
    SYSTEM,
    Actor,
    Address,
    Case,
    CaseworkError,
    Dispute,
    LeakEmergency,
    Repair,
    Role,
)
from casework.domain.leak import CONTACT_OUTCOMES, STOP_METHODS
from hypothesis import given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8)))
FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
MANAGER = Actor("manager-wang", Role.PROPERTY_MANAGER)
SECRETARY = Actor("secretary-chen", Role.PARTY_SECRETARY)
SECOND = timedelta(seconds=1)

Command = Callable[[Any, datetime], None]


def escalate_if_due(case: Case, at: datetime) -> None:
    reason = case.escalation_reason(at)
    if reason is not None:
        case.escalate(SYSTEM, at, reason, automatic=True)


def commands(draw: st.DrawFn, kind: str) -> list[Command]:
    shared: list[Command] = [
        lambda c, at: c.acknowledge(STAFF, at, "seen"),
        lambda c, at: c.escalate(MANAGER, at, "outside our powers"),
        escalate_if_due,
        escalate_if_due,
        lambda c, at: c.resolve(MANAGER, at, "settled"),
        lambda c, at: c.reopen(RESIDENT, at, "again"),
        lambda c, at: c.close_case(MANAGER, at),
        lambda c, at: c.assign(MANAGER, at, STAFF, "plumbing, on duty"),
        lambda c, at: c.decline_assignment(STAFF, at, "off sick"),
    ]
    if kind == "dispute":
        return [
            lambda c, at: c.acknowledge(SECRETARY, at, "we take it up"),
            lambda c, at: c.escalate(SECRETARY, at, "outside our powers"),
            escalate_if_due,
            escalate_if_due,
            lambda c, at: c.convene_mediation(
                SECRETARY,
                at,
                f"m{len(c.meetings) + 1}",
                draw(st.sampled_from(["door_to_door", "roundtable"])),
                at + timedelta(days=1),
                "courtyard",
                [],
            ),
            lambda c, at: c.reach_agreement(
                SECRETARY, at, next(iter(c.meetings), "m0"), ["quiet after 22:00"], []
            ),
            lambda c, at: c.resolve(SECRETARY, at, "agreed"),
            lambda c, at: c.reopen(RESIDENT, at, "noise again"),
        ]
    if kind == "repair":
        return [
            *shared,
            lambda c, at: c.start_work(STAFF, at),
            lambda c, at: c.finish_work(STAFF, at, "fixed"),
        ]
    return [
        *shared,
        lambda c, at: c.attempt_owner_contact(
            STAFF, at, "phone", draw(st.sampled_from(CONTACT_OUTCOMES))
        ),
        lambda c, at: c.arrive_on_site(STAFF, at),
        lambda c, at: c.stop_water(MANAGER, at, draw(st.sampled_from(STOP_METHODS))),
        lambda c, at: c.record_cause(STAFF, at, "valve left open", "", []),
    ]


def check(case: Case, moments: list[datetime]) -> None:
    due = case.escalation_due_at()
    probes = list(moments)
    if due is not None:
        probes += [due - SECOND, due, due + SECOND]
    for t in probes:
        reason = case.escalation_reason(t)
        expected = due is not None and t > due
        assert (reason is not None) == expected, (t, due, reason, case.snapshot())
        if reason is not None:
            assert reason.startswith("deadline passed")


@settings(max_examples=90, deadline=None)
@given(kind=st.sampled_from(["repair", "leak", "dispute"]), data=st.data())
def test_the_due_moment_is_when_a_deadline_reason_starts_to_hold(
    kind: str, data: st.DataObject
) -> None:
    if kind == "repair":
        priority = data.draw(st.sampled_from(["routine", "urgent", "emergency"]))
        case: Case = Repair.report(RESIDENT, T0, FLAT, "tap drips", "plumbing", priority)
    elif kind == "dispute":
        priority = data.draw(st.sampled_from(["routine", "urgent", "emergency"]))
        case = Dispute.report(RESIDENT, T0, FLAT, "noise", "noise", ["r-0402"], priority=priority)
    else:
        unoccupied = data.draw(st.booleans())
        case = LeakEmergency.report(
            RESIDENT, T0, FLAT, "water", "0402", source_unoccupied=unoccupied
        )
    at = T0
    minutes = st.integers(0, 3 * 24 * 60)
    for _ in range(data.draw(st.integers(1, 25), label="steps")):
        at += timedelta(minutes=data.draw(st.integers(0, 600), label="minutes later"))
        command = data.draw(st.sampled_from(commands(data.draw, kind)), label="command")
        try:
            command(case, at)
        except CaseworkError:
            continue
        probes = [T0 + timedelta(minutes=data.draw(minutes)) for _ in range(3)]
        check(case, probes)


def test_an_unanswered_leak_is_due_when_the_owner_contact_window_closes() -> None:
    leak = LeakEmergency.report(RESIDENT, T0, FLAT, "water", "0402", source_unoccupied=True)
    assert leak.escalation_due_at() == T0 + timedelta(minutes=10)  # respond within 10 min
    leak.attempt_owner_contact(STAFF, T0 + timedelta(minutes=2), "phone", "no_answer")
    assert leak.escalation_due_at() == T0 + timedelta(minutes=15)  # owner not reached
    leak.attempt_owner_contact(STAFF, T0 + timedelta(minutes=5), "phone", "reached")
    assert leak.escalation_due_at() == T0 + timedelta(minutes=30)  # water stopped, emergency


def test_a_case_at_the_top_or_settled_is_never_due() -> None:
    repair = Repair.report(RESIDENT, T0, FLAT, "lift stuck", "lift")
    repair.escalate(MANAGER, T0, "needs the county")
    repair.escalate(MANAGER, T0, "needs the county")
    assert repair.escalation_due_at() is None
