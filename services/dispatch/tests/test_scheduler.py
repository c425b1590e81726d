"""The deadline scheduler on a fake clock: passed deadlines become `Escalated` exactly once —
with two replicas ticking at the same moment, and after a restart — read from the deadlines
recorded on the cases; and a leak whose owner never answers climbs building → compound →
community with the right reasons and replays identically."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework import Actor, FakeClock, Role
from dispatch.application import Dispatch
from dispatch.board import Board
from dispatch.runtime import Runtime
from dispatch.scheduler import Drain, Scheduler
from dispatch.testing import (
    FLAT,
    MANAGER,
    NIGHT,
    RESIDENT,
    STAFF_LI,
    STAFF_ZHOU,
    T0,
    case_events,
    event_names,
    make_settings,
    small_roster,
)
from eventsourcing.persistence import OperationalError

OFFICER = Actor("officer-sun", Role.COMMUNITY_OFFICER)
SECOND = timedelta(seconds=1)
OWNER_NOT_REACHED = "deadline passed: owner of the source flat not reached"


def replica(store_url: str, clock: FakeClock) -> tuple[Dispatch, Scheduler]:
    app = Dispatch(store_url, clock=clock)
    return app, Scheduler(app, Board(app))


def escalations(app: Dispatch, case_id: UUID | str) -> list[tuple[str, str, str, bool, str]]:
    return [
        (e.tier, e.details["to_tier"], e.reason, e.details["automatic"], e.actor_id)
        for e in app.casework.history(case_id)
        if e.event == "Escalated"
    ]


def unanswered_leak(app: Dispatch, clock: FakeClock) -> str:
    """23:00: water under the door of a flat nobody lives in; the on-call plumber is sent and
    rings the owner, who does not answer."""
    leak_id = str(
        app.casework.report_leak(
            RESIDENT, FLAT, "water seeping under 0402's door", "0402", source_unoccupied=True
        )
    )
    for event in case_events(app, leak_id):
        app.on_case_event(event)
    clock.advance(timedelta(minutes=2))
    app.contact_owner(STAFF_ZHOU, leak_id, "phone", "no_answer", "rang twice")
    return leak_id


def run_leak_story(app: Dispatch, scheduler: Scheduler, clock: FakeClock) -> str:
    leak_id = unanswered_leak(app, clock)
    clock.set(NIGHT + timedelta(minutes=15))
    assert scheduler.tick() == []  # exactly 15 minutes: not yet passed
    clock.advance(SECOND)
    assert [e.reason for e in scheduler.tick()] == [OWNER_NOT_REACHED]
    clock.advance(timedelta(minutes=3))
    app.contact_owner(STAFF_ZHOU, leak_id, "wechat", "no_answer", "message left unread")
    clock.advance(timedelta(minutes=12))
    assert scheduler.tick() == []  # 15 minutes at the compound have not passed
    clock.advance(SECOND)
    assert [e.reason for e in scheduler.tick()] == [OWNER_NOT_REACHED]
    clock.advance(timedelta(hours=6))
    assert scheduler.tick() == []  # the community is the top of the ladder
    app.water_stopped(OFFICER, leak_id, "entry_with_witnesses", "with the building leader")
    return leak_id


def test_an_unanswered_leak_climbs_building_compound_community_with_its_reasons(
    store_url: str,
) -> None:
    clock = FakeClock(NIGHT)
    small_roster_app, scheduler = replica(store_url, clock)
    clock.set(NIGHT - timedelta(hours=1))
    small_roster(small_roster_app)
    clock.set(NIGHT)
    leak_id = run_leak_story(small_roster_app, scheduler, clock)
    assert escalations(small_roster_app, leak_id) == [
        ("building", "compound", OWNER_NOT_REACHED, True, "scheduler"),
        ("compound", "community", OWNER_NOT_REACHED, True, "scheduler"),
    ]
    history = small_roster_app.casework.history(leak_id)
    climbed = [e.at for e in history if e.event == "Escalated"]
    assert climbed == [
        NIGHT + timedelta(minutes=15) + SECOND,
        NIGHT + timedelta(minutes=30, seconds=2),
    ]
    stopped = next(e for e in history if e.event == "WaterStopped")
    assert (stopped.tier, stopped.details["method"]) == ("community", "entry_with_witnesses")
    small_roster_app.close()


def _story(store_url: str) -> tuple[list[tuple[Any, ...]], dict[str, Any], Dispatch, str]:
    clock = FakeClock(NIGHT - timedelta(hours=1))
    app, scheduler = replica(store_url, clock)
    small_roster(app)
    clock.set(NIGHT)
    leak_id = run_leak_story(app, scheduler, clock)
    lines = [
        (e.version, e.event, e.tier, e.reason, e.actor_id, e.actor_role, e.at - NIGHT)
        for e in app.casework.history(leak_id)
    ]
    return lines, app.casework.get_case(leak_id).snapshot(), app, leak_id


def test_the_leak_story_replays_identically_from_the_store_and_when_run_again(
    tmp_path: Any,
) -> None:
    first_lines, first_state, app, leak_id = _story(f"sqlite:///{tmp_path / 'one.db'}")
    # Replayed from the store by a fresh application: the same case, and every step of it.
    reader = Dispatch(f"sqlite:///{tmp_path / 'one.db'}")
    assert reader.casework.get_case(leak_id).snapshot() == first_state
    for version in range(1, len(first_lines) + 1):
        assert (
            reader.casework.state_as_of(leak_id, version=version).snapshot()
            == app.casework.state_as_of(leak_id, version=version).snapshot()
        )
    assert reader.casework.verify(leak_id).ok
    # Run again from scratch on the same fake clock: the same facts at the same moments.
    second_lines, second_state, again, _ = _story(f"sqlite:///{tmp_path / 'two.db'}")
    assert second_lines == first_lines
    ignore = {"id", "chain_head", "links"}
    assert {k: v for k, v in second_state.items() if k not in ignore} == {
        k: v for k, v in first_state.items() if k not in ignore
    }
    for application in (app, reader, again):
        application.close()


def test_two_replicas_ticking_at_the_same_moment_escalate_each_case_once(
    store_url: str,
) -> None:
    clock = FakeClock(T0)
    (one, s1), (two, s2) = replica(store_url, clock), replica(store_url, clock)
    try:
        cases = [
            str(one.casework.report_repair(RESIDENT, FLAT, f"corridor light {n} out", "lighting"))
            for n in range(5)
        ]
        # Nobody answers: the routine repair's 4-hour response deadline passes.
        clock.advance(timedelta(hours=4) + SECOND)
        barrier = threading.Barrier(2)
        results: dict[str, list[Any]] = {}

        def tick(name: str, scheduler: Scheduler) -> None:
            barrier.wait()
            results[name] = scheduler.tick()

        threads = [
            threading.Thread(target=tick, args=("one", s1)),
            threading.Thread(target=tick, args=("two", s2)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(results["one"]) + len(results["two"]) == 5
        for case_id in cases:
            assert escalations(one, case_id) == [
                ("building", "compound", "deadline passed: no response", True, "scheduler")
            ]
        # Both tick again at once: nothing more (the compound's 2-hour deadline runs).
        assert s1.tick() == []
        assert s2.tick() == []
    finally:
        one.close()
        two.close()


def test_after_a_restart_nothing_is_escalated_twice_and_the_next_rung_comes_on_time(
    store_url: str,
) -> None:
    clock = FakeClock(T0)
    app, scheduler = replica(store_url, clock)
    case_id = str(app.casework.report_repair(RESIDENT, FLAT, "the lift is stuck", "lift", "urgent"))
    clock.advance(timedelta(minutes=31))
    assert len(scheduler.tick()) == 1
    app.close()
    # A new process: its board is rebuilt from the log, its clock is where time really is.
    restarted, after = replica(store_url, clock)
    assert after.tick() == []
    clock.advance(timedelta(minutes=29))
    assert after.tick() == []  # the compound's 30 minutes run from the escalation
    clock.advance(timedelta(minutes=1, seconds=1))
    assert [e.reason for e in after.tick()] == ["deadline passed: no response"]
    assert [x[:2] for x in escalations(restarted, case_id)] == [
        ("building", "compound"),
        ("compound", "community"),
    ]
    restarted.close()


def test_a_waiting_repair_is_escalated_by_its_deadline_and_drained_when_someone_is_free(
    tmp_path: Any,
) -> None:
    clock = FakeClock(NIGHT)
    app, scheduler = replica(f"sqlite:///{tmp_path / 'c.db'}", clock)
    app.join(
        MANAGER,
        STAFF_LI,
        name="李师傅",
        skills=["plumbing"],
        places=["jiayu-xx/wanxin-intl"],
        availability=["mon-fri 08:00-18:00"],
    )
    case_id = str(
        app.casework.report_repair(RESIDENT, FLAT, "the toilet overflows", "plumbing", "urgent")
    )
    for event in case_events(app, case_id):
        app.on_case_event(event)
    board = scheduler.board
    drain = Drain(app, board)
    assert drain.run_once() == []
    waiting = board.waiting("jiayu-xx/wanxin-intl")
    assert [w.work_id for w in waiting] == [case_id]
    assert waiting[0].reason.startswith("nobody suitable is free")
    clock.advance(timedelta(minutes=30, seconds=1))  # urgent: respond within 30 minutes
    assert [e.reason for e in scheduler.tick()] == ["deadline passed: no response"]
    clock.set(NIGHT + timedelta(hours=9, minutes=5))  # 08:05 next day: Li is on duty
    assert [o.assigned_to for o in drain.run_once()] == ["staff-li"]
    assert board.waiting() == []
    assert event_names(app, case_id)[-3:] == ["Escalated", "DeadlinesSet", "Assigned"]
    app.close()


def test_one_tick_escalates_and_raises_on_one_read_of_the_log_and_a_failing_scheduler_spares_the_calendar(  # noqa: E501
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runtime's periodic step (`Runtime.on_the_tick`): deadlines and recurring needs
    together, the board caught up once for both when nothing was recorded."""
    clock = FakeClock(NIGHT - timedelta(hours=1))
    runtime = Runtime.build(make_settings(tmp_path, store_url), clock, background=False)
    app = runtime.app
    try:
        small_roster(app)
        need = app.record_demand(
            MANAGER,
            resident_id="r-0302",
            address=FLAT,
            need="carrying",
            description="rice and water carried up",
            recurrence={"kind": "weekly", "weekdays": ["tue"], "time": "23:05"},
        )
        clock.set(NIGHT)
        leak_id = unanswered_leak(app, clock)
        read = 0
        catch_up = runtime.board.catch_up

        def counted() -> int:
            nonlocal read
            read += 1
            return catch_up()

        monkeypatch.setattr(runtime.board, "catch_up", counted)
        runtime.on_the_tick()  # 23:02: nothing due
        assert read == 1
        clock.set(NIGHT + timedelta(minutes=15) + SECOND)  # both due
        runtime.on_the_tick()
        assert [e[2] for e in escalations(app, leak_id)] == [OWNER_NOT_REACHED]
        assert raised(app, need.id) == [NIGHT + timedelta(minutes=5)]

        def failing(*, caught_up: bool = False) -> list[Any]:
            raise RuntimeError("a bug in the escalation round")

        monkeypatch.setattr(runtime.scheduler, "tick", failing)
        clock.set(NIGHT + timedelta(days=7, minutes=6))  # next Tuesday's occurrence due
        with pytest.raises(RuntimeError, match="escalation round"):
            runtime.on_the_tick()
        assert raised(app, need.id) == [
            NIGHT + timedelta(minutes=5),
            NIGHT + timedelta(days=7, minutes=5),
        ]

        def store_away(*, caught_up: bool = False) -> list[Any]:
            raise OperationalError("the store is away")

        monkeypatch.setattr(runtime.scheduler, "tick", store_away)
        clock.set(NIGHT + timedelta(days=14, minutes=6))  # the third Tuesday's occurrence due
        with pytest.raises(OperationalError):  # at once, for the periodic loop to ride out
            runtime.on_the_tick()
        assert len(raised(app, need.id)) == 2  # the calendar not tried against a store away
    finally:
        app.close()


def raised(app: Dispatch, need_id: UUID) -> list[Any]:
    """The occurrences of the need raised so far, in order."""
    return [
        e.occurrence
        for e in app.casework.events.get(need_id)
        if type(e).__name__ == "OccurrenceRaised"
    ]
