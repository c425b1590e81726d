"""Taking held work off someone and giving it to another (the property manager's reassignment),
and a member leaving with their work handed on: on SQLite and PostgreSQL, against a holder
acting at the same moment, and a property over any sequence of assign, decline, reassign and
finish — the load over the members always equals the open assigned work."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from typing import Any

import pytest
from casework import Actor, FakeClock, Role
from casework.domain import InvalidTransitionError, NotPermittedError, Status, ValidationError
from casework.domain.errors import ConcurrencyConflictError
from dispatch.application import Dispatch
from dispatch.application.work import HOLDING
from dispatch.testing import (
    FLAT,
    MANAGER,
    RESIDENT,
    STAFF_LI,
    STAFF_ZHOU,
    assignee_of,
    case_events,
    event_names,
    last_event,
    small_roster,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PARTY_SECRETARY = Actor("secretary-chen", Role.PARTY_SECRETARY)


def report_tap(app: Dispatch, address: str = FLAT) -> str:
    return str(app.casework.report_repair(RESIDENT, address, "the kitchen tap drips", "plumbing"))


def dispatch_all(app: Dispatch, case_id: str) -> None:
    for event in case_events(app, case_id):
        app.on_case_event(event)


def loads(app: Dispatch) -> dict[str, int]:
    return {m.actor.id: m.load for m in app.members()}


def test_reassigned_to_a_named_member_the_case_says_who_why_and_the_load_moves(
    app: Dispatch,
) -> None:
    small_roster(app)
    case_id = report_tap(app)
    dispatch_all(app, case_id)
    app.accept(STAFF_LI, case_id)
    app.start(STAFF_LI, case_id)
    outcome = app.reassign(MANAGER, case_id, "Li fell ill this morning", to="staff-zhou")
    assert outcome.assigned_to == "staff-zhou"
    assert assignee_of(app, case_id) == "staff-zhou"
    taken_off = last_event(app, case_id, "AssignmentDeclined")
    assert (taken_off.actor_id, taken_off.actor_role, taken_off.reason) == (
        "manager-wang",
        "property_manager",
        "Li fell ill this morning",
    )
    assigned = last_event(app, case_id, "Assigned")
    assert (assigned.actor_id, assigned.details["assignee_id"]) == ("manager-wang", "staff-zhou")
    assert assigned.reason == "reassigned from staff-li: Li fell ill this morning"
    case = app.casework.get_case(case_id)
    assert case.status is Status.ASSIGNED
    assert case.declined_by == ["staff-li"]
    assert case.accepted_at is None
    assert (app.member("staff-li").load, app.member("staff-zhou").load) == (0, 1)
    released = list(app.casework.events.get(app.member("staff-li").id))[-1]
    assert type(released).__name__ == "WorkReleased"
    assert released.reason == "taken off by manager-wang: Li fell ill this morning"
    dispatch_all(app, case_id)  # the consumer hears it all later: nothing more happens
    assert event_names(app, case_id).count("Assigned") == 2
    assert (app.member("staff-li").load, app.member("staff-zhou").load) == (0, 1)
    app.start(STAFF_ZHOU, case_id)
    app.finish(STAFF_ZHOU, case_id, "washer replaced")
    assert loads(app)["staff-zhou"] == 0
    assert app.member("staff-zhou").completed == 1


def test_reassigned_by_the_rule_never_goes_back_to_the_one_taken_off_and_may_queue(
    app: Dispatch,
) -> None:
    small_roster(app)
    case_id = report_tap(app)
    dispatch_all(app, case_id)
    outcome = app.reassign(MANAGER, case_id, "not answering his phone")
    assert outcome.assigned_to == "staff-zhou"
    assert last_event(app, case_id, "Assigned").actor_id == "dispatch"
    # Zhou taken off too: Li is excluded, Zhao is at work (10:00), nobody else plumbs: it waits.
    outcome = app.reassign(MANAGER, case_id, "called away to a burst main")
    assert outcome.queued
    case = app.casework.get_case(case_id)
    assert case.assignee is None
    assert case.queued_at is not None
    assert case.declined_by == ["staff-li", "staff-zhou"]
    assert sum(loads(app).values()) == 0


def test_who_may_reassign_and_what_is_refused(lite: Dispatch) -> None:
    small_roster(lite)
    case_id = report_tap(lite)
    with pytest.raises(InvalidTransitionError, match="held by nobody"):
        lite.reassign(MANAGER, case_id, "ill")
    dispatch_all(lite, case_id)
    with pytest.raises(NotPermittedError, match="property manager"):
        lite.reassign(STAFF_ZHOU, case_id, "I can do it faster")
    with pytest.raises(ValidationError, match="already holds"):
        lite.reassign(MANAGER, case_id, "ill", to="staff-li")
    with pytest.raises(Exception, match="not on the roster"):
        lite.reassign(MANAGER, case_id, "ill", to="staff-nobody")
    with pytest.raises(ValidationError, match="reason"):
        lite.reassign(MANAGER, case_id, "   ")
    assert assignee_of(lite, case_id) == "staff-li"
    assert loads(lite)["staff-li"] == 1


def test_a_service_task_is_reassigned_the_same_way(lite: Dispatch) -> None:
    small_roster(lite)
    demand = lite.record_demand(
        MANAGER, resident_id="r-0302", address=FLAT, need="carrying", description="rice up"
    )
    task, outcome = lite.order_task(MANAGER, demand.id)
    assert outcome.assigned_to == "vol-qian"
    outcome = lite.reassign(MANAGER, task.id, "Qian's tricycle broke")
    assert outcome.queued  # nobody else carries
    assert lite.task(task.id).declined_by == ["vol-qian"]
    with pytest.raises(InvalidTransitionError, match="held by nobody"):
        lite.reassign(MANAGER, task.id, "again")
    lite.assign_by_hand(MANAGER, task.id, "vol-zhao", "neighbour, willing")
    outcome = lite.reassign(MANAGER, task.id, "Zhao went to her daughter's", to="vol-qian")
    assert outcome.assigned_to == "vol-qian"
    names = [type(e).__name__ for e in lite.casework.events.get(task.id)]
    assert names[-2:] == ["Declined", "Assigned"]
    assert loads(lite) == {"staff-li": 0, "staff-zhou": 0, "vol-qian": 1, "vol-zhao": 0}


def test_leaving_with_work_is_refused_with_the_list_or_hands_it_on(app: Dispatch) -> None:
    small_roster(app)
    first, second = report_tap(app), report_tap(app)
    dispatch_all(app, first)
    dispatch_all(app, second)
    assert (assignee_of(app, first), assignee_of(app, second)) == ("staff-li", "staff-zhou")
    app.reassign(MANAGER, second, "Zhou is on leave", to="staff-li")
    with pytest.raises(InvalidTransitionError, match="still holds 2") as refused:
        app.leave(MANAGER, "staff-li", "moved to another compound")
    assert first in str(refused.value)
    assert second in str(refused.value)
    assert "hand_on" in str(refused.value)
    with pytest.raises(NotPermittedError):
        app.leave(PARTY_SECRETARY, "staff-li", "moved away", hand_on=True)
    assert app.member("staff-li").active
    member, outcomes = app.leave(MANAGER, "staff-li", "moved to another compound", hand_on=True)
    assert not member.active
    # The first goes to Zhou by the rule; the second was taken off Zhou before, so it waits.
    assert {o.work_id: o.assigned_to for o in outcomes} == {first: "staff-zhou", second: None}
    assert app.casework.get_case(second).queued_at is not None
    for case_id in (first, second):
        taken_off = last_event(app, case_id, "AssignmentDeclined")
        assert taken_off.reason == "staff-li leaves the roster: moved to another compound"
        assert taken_off.actor_id == "manager-wang"
    assert app.member("staff-li").load == 0
    assert loads(app) == {"staff-zhou": 1, "vol-qian": 0, "vol-zhao": 0}
    assert "staff-li" not in loads(app)


@pytest.mark.parametrize("holder_acts", ["accept", "finish"])
def test_reassigning_while_the_holder_acts_ends_one_way_or_the_other_never_both(
    store_url: str, clock: FakeClock, holder_acts: str
) -> None:
    manager_side, holder_side = Dispatch(store_url, clock=clock), Dispatch(store_url, clock=clock)
    try:
        small_roster(manager_side)
        for _ in range(4):
            case_id = report_tap(manager_side)
            dispatch_all(manager_side, case_id)
            holder = assignee_of(manager_side, case_id)
            assert holder is not None
            other = "staff-zhou" if holder == "staff-li" else "staff-li"
            worker = Actor(holder, Role.PROPERTY_STAFF)
            if holder_acts == "finish":
                holder_side.start(worker, case_id)
            barrier = threading.Barrier(2)
            errors: dict[str, BaseException] = {}

            def run(
                name: str,
                act: Any,
                barrier: threading.Barrier = barrier,
                errors: dict[str, BaseException] = errors,
            ) -> None:
                barrier.wait()
                try:
                    act()
                except (InvalidTransitionError, ConcurrencyConflictError) as e:
                    errors[name] = e

            acts = {
                "reassign": lambda case_id=case_id, other=other: manager_side.reassign(
                    MANAGER,
                    case_id,
                    "not answering",
                    to=other,
                ),
                "holder": (
                    (lambda case_id=case_id, worker=worker: holder_side.accept(worker, case_id))
                    if holder_acts == "accept"
                    else (
                        lambda case_id=case_id, worker=worker: holder_side.finish(
                            worker, case_id, "fixed"
                        )
                    )
                ),
            }
            threads = [threading.Thread(target=run, args=item) for item in acts.items()]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            case = manager_side.casework.get_case(case_id)
            if "reassign" in errors:  # the holder got there first: the work stayed theirs
                assert "holder" not in errors
                assert holder_acts == "finish"  # an accept leaves the work held: still movable
            elif holder_acts == "finish":
                assert "holder" in errors  # reassigned first: the old holder may not finish
                assert case.assignee is not None
                assert case.assignee.id == other
            if case.status in HOLDING:
                assert case.assignee is not None
                assert manager_side.member(case.assignee.id).holding.keys() >= {case_id}
            # Both replicas' views agree with the record: load over members == open assigned work.
            for side in (manager_side, holder_side):
                held = {m.actor.id: set(m.holding) for m in side.members()}
                assert sum(len(h) for h in held.values()) == open_assigned(side)
            clock.advance(timedelta(minutes=1))
    finally:
        manager_side.close()
        holder_side.close()


def open_assigned(app: Dispatch) -> int:
    """Open cases and tasks the record says someone on the roster holds (the ground truth)."""
    listed = {m.actor.id for m in app.members()}
    count = 0
    for case_id in app.casework.case_ids():
        case = app.casework.get_case(case_id)
        if case.status in HOLDING and case.assignee is not None and case.assignee.id in listed:
            count += 1
    return count


OPS = st.lists(
    st.tuples(
        st.sampled_from(["report", "decline", "reassign_rule", "reassign_named", "finish"]),
        st.integers(min_value=0, max_value=5),
    ),
    min_size=1,
    max_size=14,
)
_compounds = itertools.count()
KEEP_GOING = (InvalidTransitionError, ValidationError)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_load_over_members_equals_the_open_assigned_work_after_any_sequence(
    app: Dispatch, ops: list[tuple[str, int]]
) -> None:
    """Each example on a compound of its own (one store across examples), with its own staff."""
    n = next(_compounds)
    compound = f"jiayu-xx/c{n}"
    staff = [Actor(f"c{n}-staff-{i}", Role.PROPERTY_STAFF) for i in range(3)]
    for person in staff:
        app.join(
            MANAGER,
            person,
            name=person.id,
            skills=["plumbing"],
            places=[compound],
            availability=["daily 00:00-24:00"],
            max_load=2,
        )
    cases: list[str] = []
    for op, i in ops:
        if op == "report":
            case_id = report_tap(app, f"{compound}/b1/0{len(cases)}01")
            dispatch_all(app, case_id)
            cases.append(case_id)
            continue
        if not cases:
            continue
        case_id = cases[i % len(cases)]
        holder = assignee_of(app, case_id)
        try:
            if op == "decline" and holder is not None:
                app.decline(Actor(holder, Role.PROPERTY_STAFF), case_id, "cannot today")
            elif op == "reassign_rule":
                app.reassign(MANAGER, case_id, "not answering")
            elif op == "reassign_named":
                app.reassign(MANAGER, case_id, "ill", to=staff[i % len(staff)].id)
            elif op == "finish" and holder is not None:
                worker = Actor(holder, Role.PROPERTY_STAFF)
                if app.casework.get_case(case_id).status is Status.ASSIGNED:
                    app.start(worker, case_id)
                app.finish(worker, case_id, "done")
        except KEEP_GOING:
            pass  # refused (nothing held, already holds it, finished): must change nothing
        dispatch_all(app, case_id)  # the consumer hearing it later changes nothing either
        held_by: dict[str, set[str]] = {p.id: set(app.member(p.id).holding) for p in staff}
        open_here = {
            c: app.casework.get_case(c).assignee.id  # type: ignore[union-attr]
            for c in cases
            if app.casework.get_case(c).status in HOLDING
        }
        assert sum(len(h) for h in held_by.values()) == len(open_here)
        for c, who in open_here.items():
            assert c in held_by[who]


def test_a_manager_on_the_roster_who_takes_the_work_themselves_keeps_it_when_the_stream_replays(
    lite: Dispatch,
) -> None:
    """The consumer hears "AssignmentDeclined by manager-wang": that is not the manager giving
    back work they now hold."""
    small_roster(lite)
    lite.join(
        MANAGER,
        MANAGER,
        name="王经理",
        skills=["plumbing"],
        places=["jiayu-xx/wanxin-intl"],
        availability=["daily 00:00-24:00"],
    )
    case_id = report_tap(lite)
    dispatch_all(lite, case_id)
    lite.reassign(MANAGER, case_id, "everyone is out; I will go", to="manager-wang")
    recorded = lite.member("manager-wang").version
    dispatch_all(lite, case_id)
    assert lite.member("manager-wang").version == recorded  # not released and taken again
    assert assignee_of(lite, case_id) == "manager-wang"
    assert lite.member("manager-wang").load == 1
    assert sum(loads(lite).values()) == 1
