"""The repair story, on the aggregate itself: reported → assigned → work → resolved → confirmed."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from casework.domain import (
    Actor,
    Address,
    InvalidTransitionError,
    Repair,
    Role,
    Status,
    Tier,
    ValidationError,
)
from casework.domain.chain import GENESIS

FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
MINUTE = timedelta(minutes=1)


def new_repair(resident: Actor, t0: datetime, **kwargs: Any) -> Repair:
    return Repair.report(
        resident, t0, FLAT, "corridor light on floor 3 is dead", "lighting", **kwargs
    )


def count(case: Repair) -> int:
    return len(case.pending_events)


def test_a_reported_repair_starts_in_the_building_with_its_deadlines(
    resident: Actor, t0: datetime
) -> None:
    case = new_repair(resident, t0)
    reported, deadlines = case.pending_events
    assert isinstance(reported, Repair.Reported)
    assert isinstance(deadlines, Repair.DeadlinesSet)
    assert case.status is Status.REPORTED
    assert case.tier is Tier.BUILDING
    assert case.category == "lighting"
    assert case.reporter_ids == [resident.id]
    assert reported.actor_id == resident.id
    assert reported.actor_role == "resident"
    assert reported.timestamp == t0
    assert reported.tier == "building"
    assert reported.prev_hash == GENESIS
    assert deadlines.prev_hash == reported.hash
    assert case.chain_head == deadlines.hash


def test_a_repair_of_a_shared_area_starts_at_the_compound(resident: Actor, t0: datetime) -> None:
    case = Repair.report(
        resident, t0, Address.parse("jiayu-xx/wanxin-intl"), "the south gate lock is broken"
    )
    assert case.tier is Tier.COMPOUND
    assert case.category == "other"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"category": "spaceship"}, "repair category must be one of"),
        ({"priority": "whenever"}, "priority must be one of"),
        ({"channel": "pigeon"}, "channel must be one of"),
    ],
)
def test_a_report_with_an_unknown_choice_is_refused_and_names_the_choices(
    resident: Actor, t0: datetime, kwargs: dict[str, str], message: str
) -> None:
    fields = {"category": "lighting", **kwargs}
    with pytest.raises(ValidationError, match=message):
        Repair.report(resident, t0, FLAT, "light", **fields)


def test_a_report_without_a_description_is_refused(resident: Actor, t0: datetime) -> None:
    with pytest.raises(ValidationError, match="the description must not be empty"):
        Repair.report(resident, t0, FLAT, "   ")


def test_a_report_at_a_time_without_a_timezone_is_refused(resident: Actor, t0: datetime) -> None:
    with pytest.raises(ValidationError, match="timezone"):
        Repair.report(resident, t0.replace(tzinfo=None), FLAT, "light")


def test_the_whole_repair_story_records_who_when_and_where_for_each_step(
    resident: Actor, staff: Actor, volunteer: Actor, t0: datetime
) -> None:
    case = new_repair(resident, t0)
    case.acknowledge(staff, t0 + MINUTE, "received by phone")
    assert case.status is Status.ACKNOWLEDGED
    assert case.acknowledged_at == t0 + MINUTE
    case.assign(staff, t0 + 2 * MINUTE, volunteer, "party member, electrician, lives in b12")
    assert case.status is Status.ASSIGNED
    assert case.assignee == volunteer
    case.start_work(volunteer, t0 + 30 * MINUTE)
    assert case.status is Status.IN_PROGRESS
    case.finish_work(volunteer, t0 + 45 * MINUTE, "replaced the bulb and the switch")
    assert case.status is Status.WORK_DONE
    assert case.work_summary == "replaced the bulb and the switch"
    case.resolve(staff, t0 + 50 * MINUTE, "light works again")
    assert case.status is Status.RESOLVED
    assert case.settled_tier is Tier.BUILDING
    case.confirm_resolution(resident, t0 + 60 * MINUTE)
    assert case.status is Status.CONFIRMED
    case.rate_satisfaction(resident, t0 + 61 * MINUTE, 5, "quick and tidy")
    assert case.satisfaction == 5
    case.record_return_visit(staff, t0 + timedelta(days=1), "resident happy")
    assert case.return_visits == 1
    case.close_case(staff, t0 + timedelta(days=1, minutes=1))
    assert case.status is Status.CLOSED
    assert case.closed_at == t0 + timedelta(days=1, minutes=1)

    events = case.pending_events
    assert [type(e).__name__ for e in events] == [
        "Reported",
        "DeadlinesSet",
        "Acknowledged",
        "Assigned",
        "WorkStarted",
        "WorkDone",
        "Resolved",
        "ConfirmedByResident",
        "SatisfactionRated",
        "ReturnVisitRecorded",
        "Closed",
    ]
    expected_actors = [resident, resident, staff, staff, volunteer, volunteer, staff, resident]
    expected_actors += [resident, staff, staff]
    assert [(e.actor_id, e.actor_role) for e in events] == [
        (a.id, a.role.value) for a in expected_actors
    ]
    assert all(e.tier == "building" for e in events)
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    assert events[3].reason == "party member, electrician, lives in b12"
    assert events[3].assignee_id == volunteer.id
    for earlier, later in itertools.pairwise(events):
        assert later.prev_hash == earlier.hash
    assert len({e.hash for e in events}) == len(events)


def test_a_repair_can_be_assigned_straight_from_reported(
    resident: Actor, manager: Actor, staff: Actor, t0: datetime
) -> None:
    case = new_repair(resident, t0)
    case.assign(manager, t0 + MINUTE, staff, "on duty")
    assert case.status is Status.ASSIGNED
    assert case.acknowledged_at == t0 + MINUTE


def test_work_done_before_assignment_is_refused_and_says_so(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = new_repair(resident, t0)
    case.acknowledge(staff, t0)
    before = count(case)
    with pytest.raises(InvalidTransitionError, match="is acknowledged; it must be in_progress"):
        case.finish_work(staff, t0 + MINUTE, "done")
    with pytest.raises(InvalidTransitionError, match="it must be assigned to have work started"):
        case.start_work(staff, t0 + MINUTE)
    assert count(case) == before
    assert case.status is Status.ACKNOWLEDGED


def test_only_the_assignee_may_start_finish_or_decline_the_work(
    resident: Actor, staff: Actor, volunteer: Actor, t0: datetime
) -> None:
    case = new_repair(resident, t0)
    case.assign(staff, t0, volunteer, "nearest")
    other = Actor("volunteer-qian", Role.VOLUNTEER)
    with pytest.raises(InvalidTransitionError, match="assigned to volunteer-zhao"):
        case.start_work(other, t0 + MINUTE)
    with pytest.raises(InvalidTransitionError, match="assigned to volunteer-zhao"):
        case.decline_assignment(other, t0 + MINUTE, "busy")
    case.start_work(volunteer, t0 + MINUTE)
    with pytest.raises(InvalidTransitionError, match="assigned to volunteer-zhao"):
        case.finish_work(other, t0 + 2 * MINUTE, "done")


def test_a_declined_assignment_records_why_and_frees_the_case_for_someone_else(
    resident: Actor, staff: Actor, volunteer: Actor, t0: datetime
) -> None:
    case = new_repair(resident, t0)
    case.assign(staff, t0, volunteer, "nearest")
    case.decline_assignment(volunteer, t0 + MINUTE, "out of town until Friday")
    declined = case.pending_events[-1]
    assert isinstance(declined, Repair.AssignmentDeclined)
    assert declined.reason == "out of town until Friday"
    assert declined.actor_id == volunteer.id
    assert case.assignee is None
    assert case.declined_by == [volunteer.id]
    assert case.status is Status.ACKNOWLEDGED
    case.assign(staff, t0 + 2 * MINUTE, staff, "took it myself")
    assert case.assignee == staff


def test_declining_without_a_reason_is_refused(
    resident: Actor, staff: Actor, volunteer: Actor, t0: datetime
) -> None:
    case = new_repair(resident, t0)
    case.assign(staff, t0, volunteer, "nearest")
    with pytest.raises(ValidationError, match="the reason must not be empty"):
        case.decline_assignment(volunteer, t0, "  ")


def test_work_cannot_go_to_a_resident_or_a_mediator(
    resident: Actor, staff: Actor, leader: Actor, t0: datetime
) -> None:
    case = new_repair(resident, t0)
    for wrong in (resident, leader):
        with pytest.raises(ValidationError, match=f"not to a {wrong.role.value}"):
            case.assign(staff, t0, wrong, "why not")
    with pytest.raises(ValidationError, match="why this assignee must not be empty"):
        case.assign(staff, t0, staff, "")


def test_an_assigned_repair_cannot_be_assigned_again(
    resident: Actor, staff: Actor, volunteer: Actor, t0: datetime
) -> None:
    case = new_repair(resident, t0)
    case.assign(staff, t0, volunteer, "nearest")
    with pytest.raises(InvalidTransitionError, match="is assigned; it must be reported or ack"):
        case.assign(staff, t0, staff, "mine now")


def test_resolving_before_the_work_is_done_is_refused(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = new_repair(resident, t0)
    case.assign(staff, t0, staff, "on duty")
    case.start_work(staff, t0)
    with pytest.raises(InvalidTransitionError, match="finish the work before resolving it"):
        case.resolve(staff, t0 + MINUTE, "fixed")


def test_a_reopened_repair_goes_back_to_its_assignee(
    resident: Actor, staff: Actor, volunteer: Actor, t0: datetime
) -> None:
    case = new_repair(resident, t0)
    case.assign(staff, t0, volunteer, "nearest")
    case.start_work(volunteer, t0)
    case.finish_work(volunteer, t0, "bulb")
    case.resolve(staff, t0, "done")
    case.reopen(resident, t0 + timedelta(days=2), "the light flickers again")
    reopened, deadlines = case.pending_events[-2:]
    assert isinstance(reopened, Repair.Reopened)
    assert isinstance(deadlines, Repair.DeadlinesSet)
    assert reopened.reason == "the light flickers again"
    assert case.status is Status.ASSIGNED
    assert case.reopen_count == 1
    assert case.settled_tier is None
    assert case.resolved_at is None
    case.start_work(volunteer, t0 + timedelta(days=2, hours=1))
    assert case.status is Status.IN_PROGRESS


def test_the_snapshot_carries_the_repair_fields(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = new_repair(resident, t0, priority="urgent", channel="wechat")
    snap = case.snapshot()
    assert snap["kind"] == "repair"
    assert snap["category"] == "lighting"
    assert snap["priority"] == "urgent"
    assert snap["channel"] == "wechat"
    assert snap["version"] == 2
    assert snap["respond_by"] == (t0 + timedelta(minutes=30)).isoformat()
    assert snap["chain_head"] == case.pending_events[-1].hash
