"""The leak emergency on the aggregate: minutes, every contact attempt, the valve decisions."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from casework.domain import (
    SYSTEM,
    Actor,
    Address,
    InvalidTransitionError,
    LeakEmergency,
    Role,
    Status,
    Tier,
    ValidationError,
)

SEEN_AT = Address.parse("jiayu-xx/wanxin-intl/b9/0401")
MINUTE = timedelta(minutes=1)


def new_leak(resident: Actor, t0: datetime, *, unoccupied: bool = True) -> LeakEmergency:
    return LeakEmergency.report(
        resident,
        t0,
        SEEN_AT,
        "water seeping under the door of 0402, flat under renovation",
        "0402",
        source_unoccupied=unoccupied,
    )


def test_a_leak_from_an_empty_flat_is_an_emergency_reported_in_the_building(
    resident: Actor, t0: datetime
) -> None:
    case = new_leak(resident, t0)
    reported = case.pending_events[0]
    assert isinstance(reported, LeakEmergency.Reported)
    assert (reported.source_unit, reported.source_unoccupied) == ("0402", True)
    assert case.priority.value == "emergency"
    assert case.tier is Tier.BUILDING
    assert case.respond_by == t0 + timedelta(minutes=10)
    assert case.settle_by == t0 + timedelta(minutes=30)


def test_a_leak_that_stays_in_an_occupied_flat_is_urgent(resident: Actor, t0: datetime) -> None:
    case = new_leak(resident, t0, unoccupied=False)
    assert case.priority.value == "urgent"
    spreading = LeakEmergency.report(
        resident, t0, SEEN_AT, "ceiling dripping", "0501", reaches_other_flat=True
    )
    assert spreading.priority.value == "emergency"


def test_a_leak_report_needs_the_building_and_the_source_flat(
    resident: Actor, t0: datetime
) -> None:
    with pytest.raises(ValidationError, match="needs the building"):
        LeakEmergency.report(resident, t0, Address.parse("jiayu-xx/wanxin-intl"), "water", "0402")
    with pytest.raises(ValidationError, match="name the flat the water comes from"):
        LeakEmergency.report(resident, t0, SEEN_AT, "water", "  ")


def test_the_article_story_owner_called_reached_valve_closed_cause_recorded(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    owner_phone = Actor("staff-li", staff.role)
    case = new_leak(resident, t0)
    case.attempt_owner_contact(owner_phone, t0 + MINUTE, "phone", "no_answer", "first try")
    assert case.contact_attempts == 1
    assert case.acknowledged_at == t0 + MINUTE
    assert case.owner_reached_at is None
    case.attempt_owner_contact(owner_phone, t0 + 3 * MINUTE, "phone", "reached")
    attempted, reached = case.pending_events[-2:]
    assert isinstance(attempted, LeakEmergency.OwnerContactAttempted)
    assert (attempted.channel, attempted.outcome) == ("phone", "reached")
    assert isinstance(reached, LeakEmergency.OwnerReached)
    assert reached.timestamp == t0 + 3 * MINUTE
    assert case.owner_reached_at == t0 + 3 * MINUTE
    case.arrive_on_site(staff, t0 + 12 * MINUTE)
    assert case.status is Status.IN_PROGRESS
    case.stop_water(staff, t0 + 15 * MINUTE, "owner_closed_valve", "owner came, closed it")
    stopped = case.pending_events[-1]
    assert isinstance(stopped, LeakEmergency.WaterStopped)
    assert (stopped.method, stopped.reason, stopped.tier) == (
        "owner_closed_valve",
        "owner came, closed it",
        "building",
    )
    assert case.status is Status.IN_PROGRESS
    case.record_cause(
        staff, t0 + 20 * MINUTE, "worker left a valve open", "0401 ceiling stained", ["0401", " "]
    )
    assert case.status is Status.WORK_DONE
    assert case.damaged_units == ["0401"]
    case.resolve(staff, t0 + 25 * MINUTE, "water stopped, damage noted")
    assert case.settled_tier is Tier.BUILDING
    assert case.escalation_reason(t0 + timedelta(days=1)) is None


def test_the_cause_may_be_recorded_before_the_water_is_stopped(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = new_leak(resident, t0)
    case.record_cause(staff, t0, "burst flexi hose", "", [])
    assert case.status is Status.REPORTED
    case.stop_water(staff, t0 + MINUTE, "staff_closed_valve")
    assert case.status is Status.WORK_DONE


def test_a_leak_cannot_be_resolved_before_the_water_is_stopped_and_the_cause_known(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = new_leak(resident, t0)
    with pytest.raises(InvalidTransitionError, match="stop the water and record the cause"):
        case.resolve(staff, t0, "fine")
    case.stop_water(staff, t0, "staff_closed_valve")
    with pytest.raises(InvalidTransitionError, match="stop the water and record the cause"):
        case.resolve(staff, t0, "fine")


def test_the_owner_is_reached_only_once(resident: Actor, staff: Actor, t0: datetime) -> None:
    case = new_leak(resident, t0)
    case.attempt_owner_contact(staff, t0, "phone", "reached")
    with pytest.raises(InvalidTransitionError, match="already reached"):
        case.attempt_owner_contact(staff, t0 + MINUTE, "wechat", "reached")
    case.attempt_owner_contact(staff, t0 + MINUTE, "wechat", "message_left")
    assert case.contact_attempts == 2


@pytest.mark.parametrize(
    ("channel", "outcome", "message"),
    [("fax", "reached", "contact channel must be one of"), ("phone", "ok", "outcome must be one")],
)
def test_an_unknown_contact_channel_or_outcome_is_refused(
    resident: Actor, staff: Actor, t0: datetime, channel: str, outcome: str, message: str
) -> None:
    case = new_leak(resident, t0)
    with pytest.raises(ValidationError, match=message):
        case.attempt_owner_contact(staff, t0, channel, outcome)


def test_the_riser_valve_cannot_be_shut_below_the_compound(
    resident: Actor, staff: Actor, manager: Actor, t0: datetime
) -> None:
    case = new_leak(resident, t0)
    before = len(case.pending_events)
    with pytest.raises(InvalidTransitionError, match="riser valve is a compound decision"):
        case.stop_water(staff, t0 + MINUTE, "riser_valve_shut")
    assert len(case.pending_events) == before
    case.escalate(manager, t0 + 16 * MINUTE, "owner unreachable")
    case.stop_water(staff, t0 + 20 * MINUTE, "riser_valve_shut")
    assert case.water_stopped_tier is Tier.COMPOUND


def test_entry_with_witnesses_needs_the_community(
    resident: Actor, staff: Actor, manager: Actor, officer: Actor, t0: datetime
) -> None:
    case = new_leak(resident, t0)
    case.escalate(manager, t0 + 16 * MINUTE, "owner unreachable")
    with pytest.raises(InvalidTransitionError, match="entry with witnesses needs the community"):
        case.stop_water(officer, t0 + 17 * MINUTE, "entry_with_witnesses")
    case.escalate(manager, t0 + 32 * MINUTE, "still unreachable, water spreading")
    case.stop_water(officer, t0 + 40 * MINUTE, "entry_with_witnesses", "two neighbours present")
    assert case.water_stopped_tier is Tier.COMMUNITY


def test_water_is_stopped_once_and_by_a_known_method(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = new_leak(resident, t0)
    with pytest.raises(ValidationError, match="method must be one of"):
        case.stop_water(staff, t0, "prayer")
    case.stop_water(staff, t0, "staff_closed_valve")
    with pytest.raises(InvalidTransitionError, match="already stopped"):
        case.stop_water(staff, t0, "other")


def test_arrival_on_site_is_recorded_once(resident: Actor, staff: Actor, t0: datetime) -> None:
    case = new_leak(resident, t0)
    case.arrive_on_site(staff, t0)
    with pytest.raises(InvalidTransitionError, match="already recorded on site"):
        case.arrive_on_site(staff, t0 + MINUTE)


def test_recording_a_cause_needs_the_cause(resident: Actor, staff: Actor, t0: datetime) -> None:
    case = new_leak(resident, t0)
    with pytest.raises(ValidationError, match="the cause must not be empty"):
        case.record_cause(staff, t0, " ", "", [])


def test_an_owner_not_reached_within_15_minutes_makes_the_leak_climb(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = new_leak(resident, t0)
    case.attempt_owner_contact(staff, t0 + MINUTE, "phone", "no_answer")
    assert case.escalation_reason(t0 + 15 * MINUTE) is None
    reason = case.escalation_reason(t0 + 15 * MINUTE + timedelta(seconds=1))
    assert reason == "deadline passed: owner of the source flat not reached"
    case.escalate(SYSTEM, t0 + 16 * MINUTE, reason, automatic=True)
    assert case.tier is Tier.COMPOUND
    # The compound owes its own response (10 minutes for an emergency) ...
    assert case.escalation_reason(t0 + 26 * MINUTE) is None
    no_response = case.escalation_reason(t0 + 26 * MINUTE + timedelta(seconds=1))
    assert no_response == "deadline passed: no response"
    # ... which the manager's own call to the owner gives; then the compound has its own 15
    # minutes to reach the owner, counted from when the case entered it.
    manager = Actor("manager-wang", Role.PROPERTY_MANAGER)
    case.attempt_owner_contact(manager, t0 + 20 * MINUTE, "phone", "no_answer")
    assert case.escalation_reason(t0 + 31 * MINUTE) is None
    assert case.escalation_reason(t0 + 31 * MINUTE + timedelta(seconds=1)) == reason


def test_a_reached_owner_stops_the_owner_rule_but_not_the_settle_deadline(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = new_leak(resident, t0)
    case.attempt_owner_contact(staff, t0 + MINUTE, "phone", "reached")
    assert case.escalation_reason(t0 + 20 * MINUTE) is None
    assert case.escalation_reason(t0 + 31 * MINUTE) == "deadline passed: not settled at this tier"


def test_stopped_water_settles_the_leak_for_the_ladder_even_before_resolution(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = new_leak(resident, t0)
    case.stop_water(staff, t0 + 5 * MINUTE, "staff_closed_valve")
    assert case.escalation_reason(t0 + timedelta(hours=2)) is None


def test_a_reopened_leak_is_back_in_progress(resident: Actor, staff: Actor, t0: datetime) -> None:
    case = new_leak(resident, t0)
    case.stop_water(staff, t0, "staff_closed_valve")
    case.record_cause(staff, t0, "valve", "", [])
    case.resolve(staff, t0, "done")
    case.reopen(resident, t0 + timedelta(hours=3), "dripping again")
    assert case.status is Status.IN_PROGRESS


def test_the_leak_snapshot_carries_contacts_and_water(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = new_leak(resident, t0)
    case.attempt_owner_contact(staff, t0, "phone", "busy")
    case.stop_water(staff, t0 + MINUTE, "staff_closed_valve")
    snap = case.snapshot()
    assert snap["kind"] == "leak"
    assert snap["contact_attempts"] == 1
    assert snap["owner_reached_at"] is None
    assert snap["water_stopped_at"] == (t0 + MINUTE).isoformat()
    assert snap["source_unit"] == "0402"


def test_arriving_on_site_counts_as_the_first_response(
    resident: Actor, volunteer: Actor, t0: datetime
) -> None:
    case = new_leak(resident, t0)
    case.arrive_on_site(volunteer, t0 + 4 * MINUTE)
    assert case.acknowledged_at == t0 + 4 * MINUTE
    case.attempt_owner_contact(
        Actor("staff-li", Role.PROPERTY_STAFF), t0 + 5 * MINUTE, "door", "reached"
    )
    assert case.escalation_reason(t0 + 29 * MINUTE) is None
    assert case.escalation_reason(t0 + 31 * MINUTE) == "deadline passed: not settled at this tier"
