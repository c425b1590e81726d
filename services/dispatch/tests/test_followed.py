"""The followed roster: what a replica keeps in memory is what the store holds, decisions see
what another replica recorded a moment ago, and a choice overtaken by another replica's
assignment is made again rather than failing or assigning twice."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from casework import FakeClock
from casework.domain import InvalidTransitionError, ValidationError
from dispatch.application import AssignedMeanwhileError, Dispatch, needs_assignment, work_for_case
from dispatch.board import Board
from dispatch.domain.member import member_id
from dispatch.domain.roster import ROSTER_ID
from dispatch.testing import (
    ALWAYS,
    B12,
    COMPOUND,
    FLAT,
    MANAGER,
    RESIDENT,
    STAFF_LI,
    STAFF_ZHOU,
    T0,
    VOLUNTEER_ZHAO,
    case_events,
    event_names,
    small_roster,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def report_tap(app: Dispatch) -> str:
    return str(app.casework.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing"))


def dispatch_all(app: Dispatch, case_id: str) -> None:
    for event in case_events(app, case_id):
        app.on_case_event(event)


def state(aggregate: Any) -> tuple[Any, ...]:
    """What a member (or the directory) is, for comparing two copies."""
    profile = aggregate.profile() if hasattr(aggregate, "profile") else dict(aggregate.places)
    return (aggregate.version, aggregate.chain_head, profile)


def assert_follows_the_store(follower: Dispatch) -> None:
    everyone = [member_id(m.id) for m in (STAFF_LI, STAFF_ZHOU, VOLUNTEER_ZHAO)]
    for uid in [*everyone, ROSTER_ID]:  # before catching up: a stale copy, fast-forwarded
        assert state(follower.load(uid)) == state(follower.casework.repository.get(uid))
    follower.followed.catch_up()
    with follower.followed.reading() as now:
        assert now.roster is not None
        assert state(now.roster) == state(follower.casework.repository.get(ROSTER_ID))
        assert {member_id(a) for a in now.roster.places} <= set(now.members)
        for uid, member in now.members.items():
            assert state(member) == state(follower.casework.repository.get(uid))


OPERATIONS = st.lists(
    st.sampled_from(["report", "decline", "finish", "max_load", "skills", "leave", "rejoin"]),
    max_size=10,
)


def assert_roster_as_stored(follower: Dispatch) -> None:
    """The follower's roster, as it holds it now (not caught up first), equals the store."""
    with follower.followed.reading() as now:
        assert now.roster is not None
        assert state(now.roster) == state(follower.casework.repository.get(ROSTER_ID))
        for uid, member in now.members.items():
            assert state(member) == state(follower.casework.repository.get(uid))
        stored = {member_id(a) for a in now.roster.places}
        assert stored <= set(now.members)


@contextmanager
def two_processes() -> Iterator[tuple[Dispatch, Dispatch, FakeClock]]:
    """A writer and a follower (as two dispatch replicas) on one SQLite store, one clock."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'cases.db'}"
        clock = FakeClock(T0)
        writer, follower = Dispatch(url, clock=clock), Dispatch(url, clock=clock)
        try:
            yield writer, follower, clock
        finally:
            writer.close()
            follower.close()


def test_the_board_catching_up_brings_the_roster_along_without_its_own_read() -> None:
    """The board reads every notification; the roster's events among them are folded into the
    followed roster as they pass, so the roster's catch-up before the next decision finds
    nothing to read (`FollowedRoster.offer`)."""
    with two_processes() as (writer, follower, _):
        board = Board(follower)
        small_roster(writer)
        dispatch_all(writer, report_tap(writer))
        board.catch_up()
        assert follower.followed.position == board.position > 0
        assert_roster_as_stored(follower)
        assert follower.member("staff-li").holding == writer.member("staff-li").holding


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS, st.lists(st.sampled_from(["board", "roster", "both", "none"]), min_size=10))
def test_a_roster_fed_by_the_board_holds_what_a_fresh_load_gives(
    operations: list[str], catch_ups: list[str]
) -> None:
    """Whichever of the board and the roster catches up after each change (the roster ahead of
    the board, behind it, or in step), the roster holds what the store holds as of its
    position, and once the board has caught up, as of now."""
    with two_processes() as (writer, follower, clock):
        board = Board(follower)
        small_roster(writer)
        for operation, catch_up in zip(operations, catch_ups, strict=False):
            clock.advance(timedelta(minutes=1))
            held = sorted(writer.member("staff-li").holding)
            try:
                if operation == "report":
                    dispatch_all(writer, report_tap(writer))
                elif operation == "decline" and held:
                    writer.decline(STAFF_LI, held[0], "on another job")
                elif operation == "max_load":
                    writer.set_max_load(MANAGER, "staff-zhou", 2, "busy")
                elif operation == "leave":
                    writer.leave(MANAGER, VOLUNTEER_ZHAO.id, "moved away")
                elif operation == "finish" and held:
                    writer.accept(STAFF_LI, held[0])
                    writer.start(STAFF_LI, held[0])
                    writer.finish(STAFF_LI, held[0], "new washer")
            except (InvalidTransitionError, ValidationError):
                pass
            if catch_up in ("roster", "both"):
                follower.followed.catch_up()
            if catch_up in ("board", "both"):
                board.catch_up()
                assert follower.followed.position == board.position
                assert_roster_as_stored(follower)
        board.catch_up()
        assert follower.followed.position == board.position
        assert_roster_as_stored(follower)
        assert_follows_the_store(follower)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS)
def test_a_replica_following_the_log_holds_what_a_fresh_load_gives(operations: list[str]) -> None:
    """Whatever another replica records (work taken, declined, done; the roster changed), the
    follower's members, and its fast-forwarded copies, equal members loaded from the store."""
    with two_processes() as (writer, follower, clock):
        small_roster(writer)
        follower.followed.catch_up()  # from here on it follows, not starts afresh
        cases: list[str] = []
        for operation in operations:
            clock.advance(timedelta(minutes=1))
            held = sorted(writer.member("staff-li").holding)
            try:
                if operation == "report":
                    cases.append(report_tap(writer))
                    dispatch_all(writer, cases[-1])
                elif operation == "decline" and held:
                    writer.decline(STAFF_LI, held[0], "on another job")
                elif operation == "finish" and held:
                    writer.accept(STAFF_LI, held[0])
                    writer.start(STAFF_LI, held[0])
                    writer.finish(STAFF_LI, held[0], "new washer")
                elif operation == "max_load":
                    writer.set_max_load(MANAGER, "staff-zhou", 1 + len(cases) % 4, "busy")
                elif operation == "skills":
                    skills = ["plumbing"] if len(cases) % 2 else ["plumbing", "electrical"]
                    writer.change_skills(MANAGER, "staff-zhou", skills, "trained")
                elif operation == "leave":
                    writer.leave(MANAGER, VOLUNTEER_ZHAO.id, "moved away")
                elif operation == "rejoin":
                    writer.join(
                        MANAGER,
                        VOLUNTEER_ZHAO,
                        name="赵大姐",
                        skills=["plumbing"],
                        places=[B12],
                        availability=ALWAYS,
                        max_load=1,
                    )
            except (InvalidTransitionError, ValidationError):
                pass  # refused (leaving while holding work, joining twice): nothing changed
            assert_follows_the_store(follower)


def test_a_decision_weighs_the_load_another_replica_recorded_a_moment_ago(
    store_url: str, clock: FakeClock
) -> None:
    first, second = Dispatch(store_url, clock=clock), Dispatch(store_url, clock=clock)
    try:
        small_roster(first)
        first.followed.catch_up()
        dispatch_all(second, report_tap(second))  # the other replica gives Li the first repair
        work = work_for_case(first.casework.get_case(report_tap(first)))
        decision = first.decide(first.read(), work)
        loads = {a.candidate.actor.id: a.candidate.load for a in decision.ranked}
        assert loads == {"staff-li": 1, "staff-zhou": 0}
        assert decision.chosen is not None
        assert decision.chosen.candidate.actor == STAFF_ZHOU
    finally:
        first.close()
        second.close()


def test_a_choice_overtaken_by_another_replicas_assignment_is_made_again_not_twice(
    store_url: str, clock: FakeClock
) -> None:
    """Replica one reads the case, replica two assigns it to the only plumber, then replica one
    chooses that plumber on its stale copy: the unit runs again and finds the case assigned."""
    first, second = Dispatch(store_url, clock=clock), Dispatch(store_url, clock=clock)
    try:
        first.join(
            MANAGER,
            STAFF_LI,
            name="李师傅",
            skills=["plumbing"],
            places=[COMPOUND],
            availability=ALWAYS,
        )
        case_id = report_tap(first)
        attempts: list[str] = []

        def change(u: Any) -> Any:
            case = u.case(case_id)
            if not attempts:
                dispatch_all(second, case_id)  # meanwhile, on the other replica
            attempts.append("stale" if needs_assignment(case) else "fresh")
            try:
                return first._assign_case(u, case) if needs_assignment(case) else None
            except AssignedMeanwhileError:
                attempts.append("clash")
                raise

        assert first.run(change) is None
        assert attempts == ["stale", "clash", "fresh"]
        assert event_names(first, case_id).count("Assigned") == 1
        assert first.member("staff-li").load == 1
    finally:
        first.close()
        second.close()
