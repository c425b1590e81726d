"""What dispatch works out from the log folded in memory equals what it works out from the store.

Two shortcuts are checked against the long way round, over random rosters and histories:

- a decision made on the followed roster (the directory indexed by place, each member's
  `Candidate` kept until the member's version moves) equals the rule over every covering member
  loaded afresh from the store;
- a case event that `Assigning._in_line` answers from the board (the case in line with its
  assignee's load) is one the unit of work would have handled by writing nothing.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework import Actor, FakeClock, Role
from casework.domain import Address, Case
from casework.kinds import registry as kinds_registry
from casework.kinds.builtin import REPAIR
from casework.messaging.tracked import position
from casework.privacy import is_sealed
from dispatch.application import Dispatch
from dispatch.board import Board
from dispatch.domain.member import member_id
from dispatch.domain.roster import ROSTER_ID
from dispatch.domain.rule import Candidate, Work, decide
from dispatch.testing import (
    ALWAYS,
    B12,
    COMPOUND,
    FLAT,
    MANAGER,
    OFFICE_HOURS,
    RESIDENT,
    STAFF_LI,
    T0,
    case_events,
    small_roster,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

B3 = f"{COMPOUND}/b3"
ELSEWHERE = "jiayu-xx/lanting"
PLACES = [COMPOUND, B12, B3, ELSEWHERE]
ADDRESSES = [FLAT, f"{B3}/0101", f"{ELSEWHERE}/b1/0202", f"{COMPOUND}/b7/0505"]
SKILLS = ["plumbing", "electrical", "general_repairs"]
ROTAS = [ALWAYS, OFFICE_HOURS, ["sat-sun 09:00-17:00"], ["mon-fri 18:00-21:00"]]
CATEGORY = {"plumbing": "plumbing", "electrical": "lighting", "general_repairs": "other"}

MEMBER = st.fixed_dictionaries(
    {
        "role": st.sampled_from([Role.PROPERTY_STAFF, Role.VOLUNTEER]),
        "skills": st.lists(st.sampled_from(SKILLS), min_size=1, max_size=3, unique=True),
        "places": st.lists(st.sampled_from(PLACES), min_size=1, max_size=2, unique=True),
        "availability": st.sampled_from(ROTAS),
        "max_load": st.integers(min_value=1, max_value=3),
    }
)
STEP = st.tuples(
    st.sampled_from(["report", "places", "leave", "hours"]),
    st.integers(min_value=0, max_value=7),
    st.sampled_from(ADDRESSES),
    st.sampled_from(SKILLS),
)


def fresh_app(tmp: str, clock: FakeClock) -> Dispatch:
    return Dispatch(f"sqlite:///{Path(tmp) / 'cases.db'}", clock=clock)


def handle_all(app: Dispatch, case_id: Any) -> None:
    for event in case_events(app, case_id):
        app.on_case_event(event)


def refused_quietly(command: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """Run a command the history may not allow (leaving while holding work, covering the same
    places again): refused, it changed nothing, and the history goes on."""
    try:
        command(*args, **kwargs)
    except Exception as error:  # the domain's refusals, whatever their class
        if type(error).__name__ not in {
            "InvalidTransitionError",
            "ValidationError",
            "NotPermittedError",
            "NotFoundError",
        }:
            raise


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    members=st.lists(MEMBER, min_size=1, max_size=6),
    steps=st.lists(STEP, max_size=8),
    address=st.sampled_from(ADDRESSES),
    need=st.sampled_from(SKILLS),
    declined=st.sets(st.integers(min_value=0, max_value=5), max_size=2),
    hour=st.integers(min_value=0, max_value=23),
)
def test_a_decision_on_the_followed_roster_is_the_rule_over_members_loaded_afresh(
    members: list[dict[str, Any]],
    steps: list[tuple[str, int, str, str]],
    address: str,
    need: str,
    declined: set[int],
    hour: int,
) -> None:
    clock = FakeClock(T0)
    with tempfile.TemporaryDirectory() as tmp, fresh_app(tmp, clock) as app:
        actors = [Actor(f"member-{n}", m["role"]) for n, m in enumerate(members)]
        for actor, m in zip(actors, members, strict=True):
            profile = {k: v for k, v in m.items() if k != "role"}
            app.join(MANAGER, actor, name=actor.id, **profile)
        app.decide(app.read(), Work("warm", "repair", need, Address.parse(address)))  # cached
        for step, who, where, skill in steps:
            clock.advance(timedelta(minutes=7))
            actor = actors[who % len(actors)]
            if step == "report":
                case_id = app.casework.report_repair(RESIDENT, where, "broken", CATEGORY[skill])
                handle_all(app, case_id)  # moves loads: candidates made again
            elif step == "places":
                places = [PLACES[(who + n) % len(PLACES)] for n in (0, 1)]
                refused_quietly(app.change_places, MANAGER, actor.id, places, "moved")
            elif step == "leave":
                refused_quietly(app.leave, MANAGER, actor.id, "moved away")
            else:
                rota = ROTAS[who % len(ROTAS)]
                refused_quietly(app.set_availability, MANAGER, actor.id, rota, reason="rota")
        clock.advance(timedelta(hours=hour))
        work = Work(
            "w",
            "repair",
            need,
            Address.parse(address),
            frozenset(actors[n % len(actors)].id for n in declined),
        )
        u = app.read()
        roster = app.casework.load(ROSTER_ID)
        loaded = [app.casework.load(member_id(a)) for a in roster.covering(work.address)]
        everyone = [Candidate.of(m) for m in loaded if m is not None and m.active]
        assert app.decide(u, work) == decide(work, everyone, u.at)


def test_a_decision_sees_a_member_changed_in_its_own_unit_not_the_kept_candidate(
    lite: Dispatch,
) -> None:
    small_roster(lite)
    work = Work("w", "repair", "plumbing", Address.parse(FLAT))
    before = lite.decide(lite.read(), work)
    assert before.chosen is not None
    u = lite.read()
    chosen = u.member(before.chosen.candidate.actor.id)
    assert chosen is not None
    chosen.take(MANAGER, u.at, "other-work", "repair", FLAT, "by hand")  # in the unit only
    during = lite.decide(u, work)
    loads = {a.candidate.actor.id: a.candidate.load for a in during.ranked}
    assert loads[chosen.actor.id] == 1
    assert during.chosen is not None
    assert during.chosen.candidate.actor != chosen.actor
    assert lite.decide(lite.read(), work) == before, "nothing was recorded"


def test_a_copy_of_a_followed_member_changes_without_changing_what_is_followed(
    lite: Dispatch,
) -> None:
    small_roster(lite)
    lite.followed.catch_up()
    uid = member_id(STAFF_LI.id)
    with lite.followed.reading() as now:
        followed = now.members[uid]
        version, holding = followed.version, dict(followed.holding)
    copy = lite.followed.copy(uid)
    assert copy is not None
    copy.take(MANAGER, T0, "w-1", "repair", FLAT, "by hand")
    assert copy.load == 1
    assert followed.version == version
    assert followed.holding == holding
    assert not followed.pending_events


# --------------------------------------------------------- events that ask nothing


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "report",
                "report_unhandled",
                "report_unhandled",
                "assign_on_file",
                "assign_on_file",
                "assign_to_outsider",
                "decline_on_file",
                "decline",
                "accept",
                "start",
                "finish",
                "resolve",
                "close",
                "leave",
                "handle",
            ]
        ),
        st.integers(min_value=0, max_value=3),
    ),
    min_size=2,
    max_size=12,
)
OUTSIDER = Actor("staff-agency", Role.PROPERTY_STAFF)


def writes_of_the_long_way(app: Dispatch, case_id: Any, n: int) -> list[Any]:
    """What `on_case_event` records for the case's first event without the board: the unit of
    work on the case and members loaded from the store (inside a tracking block, as the consumer
    runs it; committed if anything was recorded, which fails the test anyway)."""
    view, app.case_view = app.case_view, None
    try:
        reported = case_events(app, case_id)[0]  # the resident's: it reaches the unit
        with app.casework.tracking(
            position("long-way", "CASEWORK", n), position_alone=False
        ) as processing:
            app.on_case_event(reported)
        return list(processing.events)
    finally:
        app.case_view = view


def step_on(app: Dispatch, operation: str, case_id: Any) -> None:
    """One change to a case: on its file (as another service or a person would make it, the
    loads left to dispatch) or through dispatch's own commands."""
    file = app.casework
    holder = file.get_case(case_id).assignee
    if operation == "assign_on_file":
        file.assign(case_id, MANAGER, STAFF_LI, "by hand on the case file")
    elif operation == "assign_to_outsider":
        file.assign(case_id, MANAGER, OUTSIDER, "an agency plumber")
    elif operation == "resolve":
        file.resolve(case_id, MANAGER, "done")
    elif operation == "close":
        file.close_case(case_id, MANAGER, "closed")
    elif operation == "handle":
        handle_all(app, case_id)
    elif holder is None:
        return
    elif operation == "decline":
        app.decline(holder, case_id, "on another job")
    elif operation == "decline_on_file":
        file.decline_assignment(case_id, holder, "on another job")
    elif operation == "accept":
        file.accept_assignment(case_id, holder)
    elif operation == "start":
        file.start_work(case_id, holder)
    elif operation == "finish":
        file.finish_work(case_id, holder, "new washer")
    elif operation == "leave":
        app.leave(MANAGER, holder.id, "moved away")


def play(app: Any, clock: FakeClock, cases: list[Any], operation: str, which: int) -> None:
    """One drawn operation, three minutes after the last: a report (handled by dispatch, or
    not yet), or a step on one of the cases so far (refused quietly where it does not apply)."""
    clock.advance(timedelta(minutes=3))
    if operation in ("report", "report_unhandled"):
        cases.append(app.casework.report_repair(RESIDENT, FLAT, "tap drips", "plumbing"))
        if operation == "report":
            handle_all(app, cases[-1])
    elif cases:
        refused_quietly(step_on, app, operation, cases[which % len(cases)])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS)
def test_a_case_event_answered_from_the_board_is_one_the_unit_of_work_would_not_write_for(
    operations: list[tuple[str, int]],
) -> None:
    clock = FakeClock(T0)
    checks = count(1)
    with tempfile.TemporaryDirectory() as tmp, fresh_app(tmp, clock) as app:
        app.case_view = Board(app)
        small_roster(app)
        cases: list[Any] = []
        for operation, which in operations:
            play(app, clock, cases, operation, which)
            for each in cases:
                if app._in_line(each):
                    assert writes_of_the_long_way(app, each, next(checks)) == [], operations


def test_a_case_assigned_by_dispatch_is_answered_from_the_board_and_a_hand_assignment_is_not(
    lite: Dispatch,
) -> None:
    lite.case_view = Board(lite)
    small_roster(lite)
    by_rule = lite.casework.report_repair(RESIDENT, FLAT, "tap drips", "plumbing")
    assert not lite._in_line(by_rule), "waiting for someone"
    handle_all(lite, by_rule)
    assert lite._in_line(by_rule), "assigned, and counted against its assignee"

    by_hand = lite.casework.report_repair(RESIDENT, FLAT, "sink blocked", "plumbing")
    lite.casework.assign(by_hand, MANAGER, STAFF_LI, "by hand on the case file")
    assert not lite._in_line(by_hand), "Li's load does not count it yet"
    handle_all(lite, by_hand)
    assert str(by_hand) in lite.member(STAFF_LI.id).holding
    assert lite._in_line(by_hand)

    lite.case_view = None
    assert not lite._in_line(by_rule), "no board: always the unit of work"


def test_a_case_event_the_board_has_folded_is_answered_without_reading_the_log_again(
    lite: Dispatch,
) -> None:
    board = lite.case_view = Board(lite)
    small_roster(lite)
    first = lite.casework.report_repair(RESIDENT, FLAT, "tap drips", "plumbing")
    handle_all(lite, first)
    board.catch_up()
    held = board.position
    second = lite.casework.report_repair(RESIDENT, FLAT, "sink blocked", "plumbing")

    reported = case_events(lite, first)[0]  # the resident's: it reaches `_in_line`
    assert lite.on_case_event(reported) is None
    assert board.position == held, "the board held the case past that event: no log read"

    assert lite.on_case_event(case_events(lite, second)[0]) is not None
    assert board.position > held, "a case the board has not folded yet: caught up first"
    assert lite._in_line(second)


class _UndoneError(Exception):
    """Raised to leave a tracking block without committing what it recorded."""


def writes_for(app: Dispatch, event: Any, view: Any, n: int) -> list[dict[str, Any]]:
    """What `on_case_event(event)` records with `view` as its case view (None: the case loaded
    from the store), as stored (sealed, hashed), by class and field; nothing is committed."""
    kept, app.case_view = app.case_view, view
    recorded: list[dict[str, Any]] = []
    try:
        with app.casework.tracking(
            position("compare", "CASEWORK", n), position_alone=False
        ) as processing:
            app.on_case_event(event)
            recorded = [{"class": type(e).__name__, **vars(e)} for e in processing.events]
            raise _UndoneError
    except _UndoneError:
        pass
    finally:
        app.case_view = kept
    return recorded


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPERATIONS)
def test_a_waiting_case_decided_on_the_boards_copy_records_what_a_fresh_load_would(
    operations: list[tuple[str, int]],
) -> None:
    clock = FakeClock(T0)
    checks = count(1)
    with tempfile.TemporaryDirectory() as tmp, fresh_app(tmp, clock) as app:
        board = Board(app)
        small_roster(app)
        cases: list[Any] = []
        for operation, which in operations:
            play(app, clock, cases, operation, which)
            board.catch_up()  # as far as a message's handler has it: past the message's event
            for each in cases:
                for event in case_events(app, each):
                    if event.actor_id == RESIDENT.id:  # reaches the unit of work
                        from_board = writes_for(app, event, board, next(checks))
                        from_store = writes_for(app, event, None, next(checks))
                        assert from_board == from_store, operations


def assigned_with_a_board(lite: Dispatch) -> tuple[UUID, Case]:
    """A repair reported and its `Reported` handled with the board as dispatch's case view,
    inside a tracking block: the case id, and the case the assignment was decided on."""
    lite.case_view = Board(lite)
    small_roster(lite)
    case_id = lite.casework.report_repair(RESIDENT, FLAT, "tap drips", "plumbing")
    with lite.casework.tracking(
        position("copy", "CASEWORK", 1), position_alone=False
    ) as processing:
        outcome = lite.on_case_event(case_events(lite, case_id)[0])
        decided_on = processing.aggregates[case_id]
    assert outcome is not None
    assert outcome.assigned_to is not None
    return case_id, decided_on


def test_a_waiting_case_is_assigned_on_the_boards_copy_with_its_personal_values_unopened(
    lite: Dispatch,
) -> None:
    case_id, decided_on = assigned_with_a_board(lite)
    assert is_sealed(decided_on.description), "the board's copy: never replayed nor opened"
    assert lite.casework.get_case(case_id).description == "tap drips"
    assert lite.casework.get_case(case_id).assignee is not None


def test_a_board_that_lags_behind_the_assignment_is_caught_up_rather_than_sent_to_the_unit(
    lite: Dispatch,
) -> None:
    board = Board(lite)
    small_roster(lite)
    case_id = lite.casework.report_repair(RESIDENT, FLAT, "tap drips", "plumbing")
    board.catch_up()  # holds the case waiting
    handle_all(lite, case_id)  # assigned meanwhile (no view: the unit of work)
    lite.case_view = board
    held = board.position
    reported = case_events(lite, case_id)[0]

    assert lite._in_line(case_id, since=reported.version), "asked again of the log: in line"
    assert board.position > held
    assert lite.on_case_event(reported) is None


def test_a_kind_whose_need_may_read_personal_values_has_its_case_loaded_and_opened(
    lite: Dispatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed kind's `need` is given the case as a load gives it (personal values
    opened) unless the kind says it reads none (`Kind.need_reads_personal`, False for repairs):
    the board's sealed copy would hand it a token and the case a wrong skill."""
    seen: list[str] = []

    def need(case: Case) -> str:
        seen.append(case.description)
        return "plumbing"

    reading = dataclasses.replace(REPAIR, need=need, need_reads_personal=True)
    monkeypatch.setitem(kinds_registry._kinds, "repair", reading)
    _, decided_on = assigned_with_a_board(lite)
    assert seen
    assert set(seen) == {"tap drips"}, seen
    assert not is_sealed(decided_on.description)
