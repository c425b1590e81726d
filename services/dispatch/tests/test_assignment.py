"""Assignment on a real store: a repair or leak gets its assignee with the why, or waits in the
queue; declines go to the next person; the assignee's actions land on the case file, and the
load and the volunteer service list follow in the same transaction."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from casework import Actor, FakeClock, Role
from casework.domain import InvalidTransitionError, NotPermittedError, Status
from dispatch.application import DISPATCHER, Dispatch
from dispatch.testing import (
    B12,
    FLAT,
    MANAGER,
    NIGHT,
    RESIDENT,
    STAFF_LI,
    STAFF_ZHOU,
    VOLUNTEER_QIAN,
    VOLUNTEER_ZHAO,
    assignee_of,
    case_events,
    event_names,
    last_event,
    small_roster,
)


def report_tap(app: Dispatch, address: str = FLAT) -> str:
    return str(app.casework.report_repair(RESIDENT, address, "the kitchen tap drips", "plumbing"))


def dispatch_all(app: Dispatch, case_id: str) -> None:
    """As the consumer does: every event of the case, in order."""
    for event in case_events(app, case_id):
        app.on_case_event(event)


def test_a_reported_repair_is_assigned_once_with_why_and_counts_against_the_assignee(
    app: Dispatch,
) -> None:
    small_roster(app)
    case_id = report_tap(app)
    dispatch_all(app, case_id)
    dispatch_all(app, case_id)  # redelivered, or a second replica: nothing more happens
    assert event_names(app, case_id).count("Assigned") == 1
    assigned = last_event(app, case_id, "Assigned")
    assert (assigned.actor_id, assigned.actor_role) == ("dispatch", "system")
    # 10:00 on a Tuesday: the volunteer in b12 is at work; both staff are free, equal load and
    # place, neither has taken work yet: the id decides.
    assert assigned.details["assignee_id"] == "staff-li"
    assert assigned.reason.startswith("水暖 plumbing; covers the whole compound")
    assert "ahead of staff-zhou (same standing; by id)" in assigned.reason
    li = app.member("staff-li")
    assert li.load == 1
    assert li.holding[case_id].why == assigned.reason


def test_the_next_repair_goes_to_the_less_loaded_plumber(app: Dispatch) -> None:
    small_roster(app)
    first, second = report_tap(app), report_tap(app)
    dispatch_all(app, first)
    dispatch_all(app, second)
    assert (assignee_of(app, first), assignee_of(app, second)) == ("staff-li", "staff-zhou")
    assert "staff-li (load 1)" in last_event(app, second, "Assigned").reason


def test_in_the_evening_the_volunteer_living_in_the_building_is_sent_first(
    lite: Dispatch, clock: FakeClock
) -> None:
    small_roster(lite)
    clock.set(NIGHT.replace(hour=19))  # Zhao is free 18:00-21:00 on weekdays; Li is off duty
    case_id = report_tap(lite)
    dispatch_all(lite, case_id)
    assert assignee_of(lite, case_id) == "vol-zhao"
    assert (
        "covers the building (jiayu-xx/wanxin-intl/b12)"
        in last_event(lite, case_id, "Assigned").reason
    )


def test_nobody_suitable_free_queues_the_case_once_and_the_deadline_runs_on(
    lite: Dispatch, clock: FakeClock
) -> None:
    lite.join(
        MANAGER,
        STAFF_LI,
        name="李师傅",
        skills=["plumbing"],
        places=[B12],
        availability=["mon-fri 08:00-18:00"],
    )
    clock.set(NIGHT)
    case_id = report_tap(lite)
    dispatch_all(lite, case_id)
    dispatch_all(lite, case_id)
    assert event_names(lite, case_id).count("QueuedForAssignment") == 1
    queued = last_event(lite, case_id, "QueuedForAssignment")
    assert queued.reason == (
        "nobody suitable is free for this repair needing plumbing at "
        "jiayu-xx/wanxin-intl/b12/0302: 1 off duty now (first back on duty 2026-11-25T08:00+08:00)"
    )
    case = lite.casework.get_case(case_id)
    assert case.acknowledged_at is None
    assert case.escalation_due_at() == case.respond_by
    # Next morning Li comes on duty; the queue's drain sends him.
    clock.set(NIGHT + timedelta(hours=9, minutes=1))
    outcome = lite.redispatch(case_id)
    assert outcome is not None
    assert outcome.assigned_to == "staff-li"
    assert lite.casework.get_case(case_id).queued_at is None


def test_a_decline_goes_to_the_next_suitable_person_in_the_same_transaction(
    app: Dispatch,
) -> None:
    small_roster(app)
    case_id = report_tap(app)
    dispatch_all(app, case_id)
    app.decline(STAFF_LI, case_id, "my van is in for repair today")
    assert assignee_of(app, case_id) == "staff-zhou"
    assert app.member("staff-li").load == 0
    assert app.member("staff-zhou").load == 1
    declined = last_event(app, case_id, "AssignmentDeclined")
    assert (declined.actor_id, declined.reason) == ("staff-li", "my van is in for repair today")
    dispatch_all(app, case_id)  # the consumer sees the decline later: nothing changes
    assert event_names(app, case_id).count("Assigned") == 2
    # Zhou declines too: nobody else is free at 10:00 (Zhao works days), so it waits.
    app.decline(STAFF_ZHOU, case_id, "at a burst pipe in b3")
    case = app.casework.get_case(case_id)
    assert case.assignee is None
    assert case.queued_at is not None
    assert "2 declined it" in last_event(app, case_id, "QueuedForAssignment").reason


def test_the_assignees_actions_appear_on_the_case_and_the_done_work_on_the_service_list(
    app: Dispatch,
) -> None:
    small_roster(app)
    case_id = report_tap(app)
    dispatch_all(app, case_id)
    with pytest.raises(InvalidTransitionError, match="assigned to staff-li"):
        app.accept(STAFF_ZHOU, case_id)
    app.accept(STAFF_LI, case_id)
    app.start(STAFF_LI, case_id)
    app.finish(STAFF_LI, case_id, "replaced the tap washer")
    names = event_names(app, case_id)
    assert names[-5:] == ["Assigned", "AssignmentAccepted", "WorkStarted", "WorkDone", "Resolved"]
    for name in ("AssignmentAccepted", "WorkStarted", "WorkDone"):
        assert last_event(app, case_id, name).actor_id == "staff-li"
    resolved = last_event(app, case_id, "Resolved")
    assert (resolved.actor_id, resolved.details["summary"]) == (
        "dispatch",
        "work done by staff-li: replaced the tap washer; for the resident to confirm",
    )
    app.casework.confirm_resolution(case_id, RESIDENT)  # the resident can now confirm (or reopen)
    li = app.member("staff-li")
    assert (li.load, li.completed) == (0, 1)
    done = [e for e in app.casework.events.get(li.id) if type(e).__name__ == "WorkCompleted"]
    assert [(d.work_id, d.summary, d.for_whom) for d in done] == [
        (case_id, "replaced the tap washer", ["r-0302"])
    ]
    assert app.casework.verify(case_id).ok


def test_a_leak_goes_to_on_duty_staff_and_its_protocol_completes_the_work(
    app: Dispatch, clock: FakeClock
) -> None:
    small_roster(app)
    clock.set(NIGHT)
    leak_id = str(
        app.casework.report_leak(
            RESIDENT, FLAT, "water under the door of 0402", "0402", source_unoccupied=True
        )
    )
    dispatch_all(app, leak_id)
    assert assignee_of(app, leak_id) == "staff-zhou"  # the only staff on call at night
    app.contact_owner(STAFF_ZHOU, leak_id, "phone", "no_answer", "rang twice")
    app.contact_owner(STAFF_ZHOU, leak_id, "wechat", "reached", "owner on the way")
    app.start(STAFF_ZHOU, leak_id)
    with pytest.raises(InvalidTransitionError, match="stop the water and record the cause"):
        app.finish(STAFF_ZHOU, leak_id, "done")
    app.water_stopped(STAFF_ZHOU, leak_id, "owner_closed_valve")
    assert app.member("staff-zhou").load == 1
    app.cause_found(STAFF_ZHOU, leak_id, "renovation worker left a valve open", "ceiling", ["0302"])
    zhou = app.member("staff-zhou")
    assert (zhou.load, zhou.completed) == (0, 1)
    names = event_names(app, leak_id)
    assert names.count("OwnerContactAttempted") == 2
    assert "ArrivedOnSite" in names
    app.finish(STAFF_ZHOU, leak_id, "valve closed by the owner; renovation firm warned")
    resolved = last_event(app, leak_id, "Resolved")
    assert (resolved.actor_id, resolved.tier) == ("staff-zhou", "building")


def test_leak_damage_opens_a_dispute_linked_both_ways(lite: Dispatch) -> None:
    small_roster(lite)
    leak_id = lite.casework.report_leak(RESIDENT, FLAT, "water through the ceiling", "0402")
    dispute_id = lite.open_damage_dispute(
        STAFF_LI,
        leak_id,
        address=FLAT,
        description="the ceiling of 0302 is stained; who pays for repainting?",
        parties=["r-0302", "owner-0402"],
    )
    dispute = lite.casework.get_case(dispute_id)
    assert dispute.KIND == "dispute"
    assert dispute.links == [(str(leak_id), "damage_dispute")]
    assert lite.casework.get_case(leak_id).links == [(str(dispute_id), "damage_dispute")]
    assert getattr(dispute, "category", "") == "leak_between_flats"


def test_a_member_holding_work_cannot_leave_until_it_is_done_or_declined(
    lite: Dispatch,
) -> None:
    small_roster(lite)
    case_id = report_tap(lite)
    dispatch_all(lite, case_id)
    with pytest.raises(InvalidTransitionError, match="still holds 1 piece"):
        lite.leave(MANAGER, "staff-li", "moved to another compound")
    lite.decline(STAFF_LI, case_id, "leaving this week")
    lite.leave(MANAGER, "staff-li", "moved to another compound")
    assert not lite.member("staff-li").active
    assert "staff-li" not in [m.actor.id for m in lite.members()]


def test_residents_needs_are_ordered_and_sent_to_volunteers_the_same_way(
    app: Dispatch,
) -> None:
    small_roster(app)
    demand = app.record_demand(
        MANAGER,
        resident_id="r-0302",
        address=FLAT,
        need="carrying",
        description="82 years old; rice and water carried up to the 3rd floor",
        how_often="every Saturday morning",
    )
    task, outcome = app.order_task(MANAGER, demand.id, description="10 kg rice, 2 water bottles")
    assert outcome.assigned_to == "vol-qian"
    app.accept(VOLUNTEER_QIAN, task.id)
    app.start(VOLUNTEER_QIAN, task.id)
    done = app.finish(VOLUNTEER_QIAN, task.id, "carried up; stayed for tea")
    assert done.status.value == "done"
    qian = app.member("vol-qian")
    assert (qian.load, qian.completed) == (0, 1)
    events = [type(e).__name__ for e in app.casework.events.get(task.id)]
    assert events == ["Requested", "Assigned", "Accepted", "Started", "Finished"]
    assert app.demand(demand.id).tasks_ordered == 1


def test_only_roster_keepers_change_the_roster_and_every_change_says_who_and_why(
    lite: Dispatch,
) -> None:
    small_roster(lite)
    with pytest.raises(NotPermittedError, match="may not change skills"):
        lite.change_skills(STAFF_LI, "staff-li", ["plumbing", "lifts"], "I learnt lifts")
    lite.change_skills(MANAGER, "staff-li", ["plumbing", "lifts"], "passed the lift course")
    lite.set_availability(VOLUNTEER_ZHAO, "vol-zhao", [], reason="in hospital this week")
    with pytest.raises(NotPermittedError, match="someone else's availability"):
        lite.set_availability(VOLUNTEER_ZHAO, "staff-li", [], reason="he is away")
    events = list(lite.casework.events.get(lite.member("vol-zhao").id))
    last = events[-1]
    assert type(last).__name__ == "AvailabilitySet"
    assert (last.actor_id, last.actor_role, last.reason) == (
        "vol-zhao",
        "volunteer",
        "in hospital this week",
    )
    from casework.audit import verify_events

    member_id = lite.member("staff-li").id
    stored = list(lite.casework.recorder.select_events(member_id))
    assert verify_events(member_id, stored, lite.casework.mapper).ok


def test_two_dispatchers_racing_on_one_case_assign_it_once(
    store_url: str, clock: FakeClock
) -> None:
    first, second = Dispatch(store_url, clock=clock), Dispatch(store_url, clock=clock)
    try:
        small_roster(first)
        case_ids = [report_tap(first) for _ in range(6)]
        barrier = threading.Barrier(2)

        def run(app: Dispatch) -> None:
            barrier.wait()
            for case_id in case_ids:
                dispatch_all(app, case_id)

        threads = [threading.Thread(target=run, args=(a,)) for a in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        for case_id in case_ids:
            assert event_names(first, case_id).count("Assigned") == 1
        loads = {m.actor.id: m.load for m in first.members()}
        # Six repairs at 10:00: Li and Zhou take three each (capacity 3); Zhao is at work.
        assert loads == {"staff-li": 3, "staff-zhou": 3, "vol-qian": 0, "vol-zhao": 0}
        assert sum(loads.values()) == 6
    finally:
        first.close()
        second.close()


def test_dispatch_refuses_a_leak_action_on_a_repair_and_a_case_it_cannot_find(
    lite: Dispatch,
) -> None:
    small_roster(lite)
    case_id = report_tap(lite)
    with pytest.raises(InvalidTransitionError, match="not a leak"):
        lite.water_stopped(STAFF_LI, case_id, "staff_closed_valve")
    with pytest.raises(Exception, match="not a case or task id"):
        lite.accept(STAFF_LI, "not-a-uuid")
    assert lite.casework.get_case(case_id).status is Status.REPORTED
    assert DISPATCHER.role.value == "system"


def test_a_repair_done_by_someone_off_the_roster_is_still_resolved_for_the_resident(
    lite: Dispatch,
) -> None:
    """Assigned and finished through the library elsewhere; dispatch hears it over the stream."""
    case_id = report_tap(lite)
    outsider = Actor("staff-temp", Role.PROPERTY_STAFF)
    lite.casework.assign(case_id, MANAGER, outsider, "temporary plumber, by phone")
    lite.casework.start_work(case_id, outsider)
    lite.casework.finish_work(case_id, outsider, "tap replaced")
    dispatch_all(lite, case_id)
    assert lite.casework.get_case(case_id).status is Status.RESOLVED
    assert event_names(lite, case_id).count("Resolved") == 1
