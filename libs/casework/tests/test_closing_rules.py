"""Closing a case file (结案) is held to its rules in the aggregate, whoever calls `close_case`.

A case closes only once resolved; unconfirmed, only after the reopening window; only with a
return visit (回访) since it was last resolved; a dispute only with no commitment waiting to be
checked back. The property below drives cases through random lifecycle commands at random times
and, at every attempt to close, compares the domain's answer with the same rules read straight
from the events recorded so far (an oracle that shares no state with the aggregate).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from casework.domain import (
    Actor,
    Address,
    Case,
    CaseworkError,
    Dispute,
    InvalidTransitionError,
    Repair,
    Role,
    Status,
    Tier,
)
from casework.domain.ladder import REOPEN_WITHIN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8)))
FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
LEADER = Actor("leader-b12", Role.BUILDING_LEADER)
MINUTE = timedelta(minutes=1)

Command = Callable[[Any, datetime], None]


def close(case: Case, at: datetime) -> None:
    case.close_case(LEADER if isinstance(case, Dispute) else STAFF, at, "done")


def advance(case: Any, at: datetime) -> None:
    """The next step along the usual path, so that random runs also reach the closable states
    (commands drawn blindly would mostly be refused long before)."""
    waiting = [i for i, c in enumerate(getattr(case, "commitments", [])) if c.status == "pending"]
    steps: dict[Status, Command] = {
        Status.REPORTED: lambda c, at: c.assign(STAFF, at, STAFF, "on duty"),
        Status.ACKNOWLEDGED: lambda c, at: c.assign(STAFF, at, STAFF, "on duty"),
        Status.ASSIGNED: lambda c, at: c.start_work(STAFF, at),
        Status.IN_PROGRESS: lambda c, at: c.finish_work(STAFF, at, "new washer"),
        Status.WORK_DONE: lambda c, at: c.resolve(STAFF, at, "tap fixed"),
    }
    if isinstance(case, Dispute):
        steps = {
            Status.REPORTED: lambda c, at: c.convene_mediation(
                LEADER, at, "m1", "building_talk", at, "lobby", []
            ),
            Status.ACKNOWLEDGED: lambda c, at: c.convene_mediation(
                LEADER, at, "m1", "building_talk", at, "lobby", []
            ),
            Status.IN_MEDIATION: lambda c, at: c.reach_agreement(
                LEADER,
                at,
                "m1",
                ["quiet"],
                [{"who": "r-0402", "what": "quiet", "due": "2027-01-01"}],
            ),
            Status.AGREED: lambda c, at: c.resolve(LEADER, at, "agreed"),
        }
    if case.status in (Status.RESOLVED, Status.CONFIRMED):
        if waiting:
            case.record_follow_up(LEADER, at, waiting[0], True, "kept")
        elif not case.visited_since_resolved:
            case.record_return_visit(STAFF, at, "called back")
        elif case.status is Status.RESOLVED:
            case.confirm_resolution(RESIDENT, at)
        return
    if case.status in steps:
        steps[case.status](case, at)


def shared_commands() -> list[Command]:
    return [
        advance,
        advance,
        advance,
        lambda c, at: c.confirm_resolution(RESIDENT, at),
        lambda c, at: c.reopen(RESIDENT, at, "not fixed"),
        lambda c, at: c.reopen(RESIDENT, at, "not fixed"),
        lambda c, at: c.record_return_visit(STAFF, at, "called back"),
        lambda c, at: c.add_note(STAFF, at, "a note"),
        close,
        close,
    ]


def repair_commands(draw: st.DrawFn) -> list[Command]:
    return [
        lambda c, at: c.assign(STAFF, at, STAFF, "on duty"),
        lambda c, at: c.start_work(STAFF, at),
        lambda c, at: c.finish_work(STAFF, at, "new washer"),
        lambda c, at: c.resolve(STAFF, at, "tap fixed"),
    ]


def dispute_commands(draw: st.DrawFn) -> list[Command]:
    commitments = draw(st.integers(0, 2))
    return [
        lambda c, at: c.convene_mediation(LEADER, at, "m1", "building_talk", at, "lobby", []),
        lambda c, at: c.hold_round(LEADER, at, "m1", ["resident-0302"], "agreed"),
        lambda c, at: c.reach_agreement(
            LEADER,
            at,
            "m1",
            ["quiet after 21:00"],
            [
                {"who": "r-0402", "what": f"promise {i}", "due": "2026-12-31"}
                for i in range(commitments)
            ],
        ),
        lambda c, at: c.record_follow_up(
            LEADER, at, draw(st.integers(0, 1)), draw(st.booleans()), "checked"
        ),
        lambda c, at: c.resolve(LEADER, at, "agreed"),
    ]


def open_case(kind: str) -> Case:
    if kind == "repair":
        return Repair.report(RESIDENT, T0, FLAT, "tap drips", "plumbing")
    return Dispute.report(
        RESIDENT, T0, FLAT, "drums at night", "noise", ["r-0402"], tier=Tier.BUILDING
    )


def what_stands_in_the_way(events: list[Any], at: datetime) -> str | None:
    """The closing rules, read from the events alone: the first one unmet, or None."""
    names = [type(e).__name__ for e in events]
    if "Closed" in names:
        return "already closed"
    resolved = max((i for i, n in enumerate(names) if n == "Resolved"), default=None)
    reopened = max((i for i, n in enumerate(names) if n == "Reopened"), default=-1)
    if resolved is None or reopened > resolved:
        return "closed only after it is resolved"
    since = names[resolved + 1 :]
    if "ConfirmedByResident" not in since and at <= events[resolved].timestamp + REOPEN_WITHIN:
        return "reopening window ends"
    if "ReturnVisitRecorded" not in since:
        return "回访"
    agreed = max((i for i, n in enumerate(names) if n == "AgreementReached"), default=None)
    if agreed is not None:
        promised = set(range(len(events[agreed].commitments)))
        followed = {
            e.commitment_index for e in events[agreed + 1 :] if n_of(e) == "CommitmentFollowedUp"
        }
        if promised - followed:
            return "not yet checked back"
    return None


def n_of(event: Any) -> str:
    return type(event).__name__


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["repair", "dispute"]), data=st.data())
def test_a_case_closes_exactly_when_the_rules_read_from_its_events_allow(
    kind: str, data: st.DataObject
) -> None:
    case = open_case(kind)
    at = T0
    for _ in range(data.draw(st.integers(5, 40), label="steps")):
        gap = data.draw(st.sampled_from([0, 1, 60, 24 * 60, 8 * 24 * 60]))
        at += timedelta(minutes=gap)
        commands = shared_commands() + (repair_commands if kind == "repair" else dispute_commands)(
            data.draw
        )
        command = data.draw(st.sampled_from(commands), label="command")
        if command is not close:
            with contextlib.suppress(CaseworkError):
                command(case, at)
            continue
        expected = what_stands_in_the_way(list(case.pending_events), at)
        before = (case.version, case.snapshot())
        if expected is None:
            close(case, at)
            assert case.status is Status.CLOSED
        else:
            with pytest.raises(InvalidTransitionError) as refused:
                close(case, at)
            assert expected in str(refused.value)
            assert (case.version, case.snapshot()) == before
    replayed: Any = None
    for event in case.pending_events:
        replayed = event.mutate(replayed)
    assert replayed.visited_since_resolved == case.visited_since_resolved


def test_the_close_property_reaches_both_answers() -> None:
    """Guards the property above against only ever seeing refusals (or only closes)."""
    answers: set[str | None] = set()

    @settings(max_examples=150, deadline=None, database=None, derandomize=True)
    @given(kind=st.sampled_from(["repair", "dispute"]), data=st.data())
    def explore(kind: str, data: st.DataObject) -> None:
        case = open_case(kind)
        at = T0
        for _ in range(data.draw(st.integers(1, 30))):
            at += timedelta(minutes=data.draw(st.sampled_from([1, 8 * 24 * 60])))
            commands = shared_commands() + (
                repair_commands if kind == "repair" else dispute_commands
            )(data.draw)
            command = data.draw(st.sampled_from(commands))
            if command is close:
                answers.add(what_stands_in_the_way(list(case.pending_events), at))
            with contextlib.suppress(CaseworkError):
                command(case, at)

    explore()
    assert None in answers
    assert {"closed only after it is resolved", "回访", "reopening window ends"} <= answers


def resolved_repair() -> Repair:
    case = Repair.report(RESIDENT, T0, FLAT, "tap drips", "plumbing")
    case.assign(STAFF, T0, STAFF, "on duty")
    case.start_work(STAFF, T0)
    case.finish_work(STAFF, T0, "new washer")
    case.resolve(STAFF, T0, "tap fixed")
    return case


def test_unconfirmed_a_case_closes_only_after_the_reopening_window_and_says_when() -> None:
    case = resolved_repair()
    case.record_return_visit(STAFF, T0 + MINUTE, "called back")
    window_ends = T0 + REOPEN_WITHIN
    with pytest.raises(InvalidTransitionError, match="can be closed after 2026-12-01T09:00"):
        case.close_case(STAFF, window_ends)
    case.close_case(STAFF, window_ends + MINUTE)
    assert case.status is Status.CLOSED


def test_a_return_visit_before_a_reopening_does_not_count_for_the_next_resolution() -> None:
    case = resolved_repair()
    case.record_return_visit(STAFF, T0, "called back")
    assert case.visited_since_resolved
    case.reopen(RESIDENT, T0 + MINUTE, "drips again")
    assert not case.visited_since_resolved
    case.start_work(STAFF, T0 + 2 * MINUTE)
    case.finish_work(STAFF, T0 + 3 * MINUTE, "new tap")
    case.resolve(STAFF, T0 + 4 * MINUTE, "tap replaced")
    case.confirm_resolution(RESIDENT, T0 + 5 * MINUTE)
    with pytest.raises(InvalidTransitionError, match=r"no return visit \(回访\).*record one first"):
        case.close_case(STAFF, T0 + 6 * MINUTE)
    case.record_return_visit(STAFF, T0 + 6 * MINUTE, "called back again")
    case.close_case(STAFF, T0 + 7 * MINUTE)
    assert case.status is Status.CLOSED


def test_a_closed_case_says_it_is_already_closed() -> None:
    case = resolved_repair()
    case.confirm_resolution(RESIDENT, T0)
    case.record_return_visit(STAFF, T0, "called back")
    case.close_case(STAFF, T0)
    with pytest.raises(InvalidTransitionError, match="is already closed"):
        case.close_case(STAFF, T0 + MINUTE)
