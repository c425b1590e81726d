"""Taking held work off its assignee: the manager's reassignment, told with existing events."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from casework.domain import (
    Actor,
    Address,
    InvalidTransitionError,
    NotPermittedError,
    Repair,
    Role,
    Status,
)

T0 = datetime(2026, 11, 24, 9, 0).astimezone()
FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
REPORTER = Actor("resident-0302", Role.RESIDENT)
MANAGER = Actor("manager-wang", Role.PROPERTY_MANAGER)
LI = Actor("staff-li", Role.PROPERTY_STAFF)
ZHAO = Actor("staff-zhao", Role.PROPERTY_STAFF)
MINUTE = timedelta(minutes=1)


def assigned_to_li() -> Repair:
    case = Repair.report(REPORTER, T0, FLAT, "tap drips", "plumbing")
    case.assign(MANAGER, T0 + MINUTE, LI, "plumber for b12")
    return case


def replayed(case: Repair) -> Repair:
    events = case.collect_events()
    again: Repair | None = None
    for event in events:
        again = event.mutate(again)
    assert again is not None
    return again


def test_taken_off_the_holder_excludes_them_and_names_the_manager() -> None:
    case = assigned_to_li()
    case.start_work(LI, T0 + 2 * MINUTE)
    case.take_off(MANAGER, T0 + 3 * MINUTE, "fell ill")
    case.assign(MANAGER, T0 + 3 * MINUTE, ZHAO, "reassigned from staff-li: fell ill")
    last_two = case.pending_events[-2:]
    assert [type(e).__name__ for e in last_two] == ["AssignmentDeclined", "Assigned"]
    assert last_two[0].actor_id == MANAGER.id  # type: ignore[attr-defined]
    assert last_two[0].reason == "fell ill"
    assert case.declined_by == [LI.id]
    assert case.assignee == ZHAO
    assert case.status is Status.ASSIGNED
    again = replayed(case)
    assert again.declined_by == [LI.id]
    assert again.assignee == ZHAO


def test_a_declining_assignee_is_still_the_one_excluded() -> None:
    case = assigned_to_li()
    case.decline_assignment(LI, T0 + 2 * MINUTE, "away")
    assert case.declined_by == [LI.id]
    assert case.assignee is None


def test_take_off_needs_held_work_a_reason_and_staff() -> None:
    case = Repair.report(REPORTER, T0, FLAT, "tap drips", "plumbing")
    with pytest.raises(InvalidTransitionError):
        case.take_off(MANAGER, T0 + MINUTE, "ill")
    case = assigned_to_li()
    with pytest.raises(NotPermittedError):
        case.take_off(REPORTER, T0 + 2 * MINUTE, "ill")
    with pytest.raises(Exception, match="reason"):
        case.take_off(MANAGER, T0 + 2 * MINUTE, "  ")
