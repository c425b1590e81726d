"""Accepting an assignment (接单) and waiting for one (排队待派): facts on the case file."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from casework.application import Casework
from casework.domain import (
    SYSTEM,
    Actor,
    Address,
    Dispute,
    InvalidTransitionError,
    NotPermittedError,
    Repair,
    Status,
)

FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
MINUTE = timedelta(minutes=1)


def repair(resident: Actor, t0: datetime) -> Repair:
    return Repair.report(resident, t0, FLAT, "the kitchen tap drips", "plumbing")


def test_only_the_assignee_accepts_once_and_the_case_stays_assigned(
    resident: Actor, staff: Actor, volunteer: Actor, manager: Actor, t0: datetime
) -> None:
    case = repair(resident, t0)
    case.assign(manager, t0 + MINUTE, volunteer, "plumbing, lives in b12, free now")
    with pytest.raises(InvalidTransitionError, match="assigned to volunteer-zhao"):
        case.accept_assignment(staff, t0 + 2 * MINUTE)
    case.accept_assignment(volunteer, t0 + 2 * MINUTE)
    assert case.accepted_at == t0 + 2 * MINUTE
    assert case.status is Status.ASSIGNED
    with pytest.raises(InvalidTransitionError, match="already accepted"):
        case.accept_assignment(volunteer, t0 + 3 * MINUTE)
    accepted = case.pending_events[-1]
    assert type(accepted).__name__ == "AssignmentAccepted"
    assert (accepted.actor_id, accepted.actor_role) == ("volunteer-zhao", "volunteer")


def test_a_decline_after_accepting_clears_the_acceptance_for_the_next_assignee(
    resident: Actor, staff: Actor, volunteer: Actor, manager: Actor, t0: datetime
) -> None:
    case = repair(resident, t0)
    case.assign(manager, t0, volunteer, "plumbing")
    case.accept_assignment(volunteer, t0 + MINUTE)
    case.decline_assignment(volunteer, t0 + 2 * MINUTE, "called away to my mother")
    assert case.accepted_at is None
    case.assign(manager, t0 + 3 * MINUTE, staff, "plumbing, on duty")
    assert case.accepted_at is None
    case.accept_assignment(staff, t0 + 4 * MINUTE)


def test_a_case_waits_once_with_a_reason_and_the_wait_is_not_a_response(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = repair(resident, t0)
    case.queue_for_assignment(SYSTEM, t0, "nobody with plumbing is on duty in b12 now")
    queued = case.pending_events[-1]
    assert queued.reason == "nobody with plumbing is on duty in b12 now"
    assert case.queued_at == t0
    assert case.acknowledged_at is None  # the response deadline runs on
    assert case.escalation_reason(case.respond_by + MINUTE) == "deadline passed: no response"  # type: ignore[operator]
    with pytest.raises(InvalidTransitionError, match="already waiting"):
        case.queue_for_assignment(SYSTEM, t0 + MINUTE, "still nobody")
    case.assign(SYSTEM, t0 + 5 * MINUTE, staff, "plumbing, came on duty")
    assert case.queued_at is None


def test_residents_cannot_queue_and_disputes_are_not_queued(resident: Actor, t0: datetime) -> None:
    with pytest.raises(NotPermittedError):
        repair(resident, t0).queue_for_assignment(resident, t0, "hurry")
    dispute = Dispute.report(resident, t0, FLAT, "drums at night", "noise", ["resident-0402"])
    with pytest.raises(InvalidTransitionError, match="mediated"):
        dispute.queue_for_assignment(SYSTEM, t0, "nobody")


def test_both_facts_are_stored_and_replayed(
    app: Casework, resident: Actor, volunteer: Actor
) -> None:
    case_id = app.report_repair(resident, str(FLAT), "the kitchen tap drips", "plumbing")
    app.queue_for_assignment(case_id, SYSTEM, "nobody free")
    app.assign(case_id, SYSTEM, volunteer, "plumbing, came on duty")
    app.accept_assignment(case_id, volunteer)
    events = [e.event for e in app.history(case_id)]
    assert events[-3:] == ["QueuedForAssignment", "Assigned", "AssignmentAccepted"]
    assert app.get_case(case_id).accepted_at is not None
    assert app.verify(case_id).ok
