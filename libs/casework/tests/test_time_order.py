"""A case file's order is its time order.

The domain refuses a command dated before the case's latest event (`OutOfOrderError`, an
`InvalidTransitionError`: the time is well formed, it just does not fit this case). The
application, whose writers' clocks never quite agree, dates a command that is at most
`max_clock_skew` behind the case's latest event at that event's time, and refuses beyond it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.domain import (
    Actor,
    Address,
    Case,
    CaseworkError,
    InvalidTransitionError,
    OutOfOrderError,
    Repair,
    Role,
    Status,
    ValidationError,
)
from casework.settings import clock_skew
from hypothesis import given, settings
from hypothesis import strategies as st

FLAT = "jiayu-xx/wanxin-intl/b12/0302"
SECOND = timedelta(seconds=1)
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8)))
RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
MANAGER = Actor("manager-wang", Role.PROPERTY_MANAGER)


def test_a_command_dated_before_the_latest_event_is_refused_and_records_nothing(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = Repair.report(resident, t0, Address.parse(FLAT), "tap drips", "plumbing")
    case.acknowledge(staff, t0 + timedelta(minutes=5))
    before = len(case.pending_events)
    with pytest.raises(OutOfOrderError, match=r"latest event is dated .* earlier") as refused:
        case.add_note(staff, t0 + timedelta(minutes=4), "called at 9:04")
    assert isinstance(refused.value, InvalidTransitionError)
    assert len(case.pending_events) == before
    case.add_note(staff, t0 + timedelta(minutes=5), "the same moment is fine")
    assert case.note_count == 1


def test_order_is_judged_by_the_instant_not_the_wall_clock_of_its_zone(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = Repair.report(resident, t0, Address.parse(FLAT), "tap drips", "plumbing")
    tokyo = timezone(timedelta(hours=9))
    with pytest.raises(OutOfOrderError):  # reads 09:59:59 in Tokyo, but is a second earlier
        case.acknowledge(staff, (t0 - SECOND).astimezone(tokyo))
    case.acknowledge(staff, (t0 + SECOND).astimezone(UTC))  # reads 01:00:01, a second later
    assert case.status is Status.ACKNOWLEDGED


@settings(max_examples=40, deadline=None)
@given(
    offsets=st.lists(st.integers(-120, 600), min_size=1, max_size=20),
    picks=st.lists(st.integers(0, 5), min_size=20, max_size=20),
)
def test_whatever_times_commands_carry_the_recorded_file_never_runs_backwards(
    offsets: list[int], picks: list[int]
) -> None:
    resident, staff, manager = RESIDENT, STAFF, MANAGER
    case = Repair.report(resident, T0, Address.parse(FLAT), "tap drips", "plumbing")
    commands: list[Callable[[Case, datetime], Any]] = [
        lambda c, at: c.acknowledge(staff, at),
        lambda c, at: c.add_note(staff, at, "note"),
        lambda c, at: c.assign(manager, at, staff, "on duty"),
        lambda c, at: c.escalate(manager, at, "beyond us"),
        lambda c, at: c.start_work(staff, at),
        lambda c, at: c.finish_work(staff, at, "done"),
    ]
    at = T0
    for offset, pick in zip(offsets, picks, strict=False):
        at += timedelta(seconds=offset)
        latest = case.last_event_at
        try:
            commands[pick](case, at)
        except OutOfOrderError:
            assert at < latest
        except CaseworkError:
            pass
    stamps = [e.timestamp for e in case.pending_events]
    assert stamps == sorted(stamps)


def test_a_writer_slightly_behind_is_dated_at_the_latest_event(
    store_url: str, resident: Actor, staff: Actor, manager: Actor, t0: datetime
) -> None:
    """Two writers on one store, one clock 3 s ahead: the one behind loses nothing and the file
    keeps its order; it is dated at the latest event, never before it."""
    ahead, behind = FakeClock(t0 + 3 * SECOND), FakeClock(t0)
    first, second = Casework(store_url, clock=ahead), Casework(store_url, clock=behind)
    try:
        case_id = first.report_repair(resident, FLAT, "tap drips", "plumbing")
        first.acknowledge(case_id, staff, "seen")
        second.assign(case_id, manager, staff, "plumber on duty")
        history = second.history(case_id)
        assert [e.at for e in history] == sorted(e.at for e in history)
        assert history[-1].at == t0 + 3 * SECOND
        assert second.get_case(case_id).status is Status.ASSIGNED
        assert second.state_as_of(case_id, at=t0 + 3 * SECOND).status is Status.ASSIGNED
        assert second.verify(case_id).ok
    finally:
        first.close()
        second.close()


def test_a_clock_far_behind_is_refused_not_papered_over(
    app: Casework, clock: FakeClock, resident: Actor, staff: Actor, t0: datetime
) -> None:
    case_id = app.report_repair(resident, FLAT, "tap drips", "plumbing")
    clock.set(t0 - app.max_clock_skew - SECOND)
    with pytest.raises(OutOfOrderError, match=r"is this writer's clock behind\?"):
        app.acknowledge(case_id, staff)
    assert len(app.history(case_id)) == 2  # the report and its deadlines, nothing more
    clock.set(t0 - app.max_clock_skew)
    app.acknowledge(case_id, staff)
    assert app.history(case_id)[-1].at == t0


def test_links_are_dated_after_both_cases_latest_event(
    app: Casework, clock: FakeClock, resident: Actor, staff: Actor, t0: datetime
) -> None:
    first = app.report_repair(resident, FLAT, "tap drips", "plumbing")
    clock.advance(2 * SECOND)
    second = app.report_repair(resident, FLAT, "tap drips again", "plumbing")
    clock.set(t0 + SECOND)
    app.link_cases(first, second, staff, "duplicate_of")
    assert app.history(first)[-1].at == app.history(second)[-1].at == t0 + 2 * SECOND


def test_two_writers_racing_with_clocks_a_second_apart_lose_nothing_and_keep_order(
    store_url: str, resident: Actor, staff: Actor, t0: datetime
) -> None:
    """Each writer's commands reload and retry on a clash; whichever clock is behind has its
    notes dated at the case's latest event, so every note is recorded and the file is in order."""
    ahead, behind = FakeClock(t0 + SECOND), FakeClock(t0)
    writers = [Casework(store_url, clock=ahead), Casework(store_url, clock=behind)]
    try:
        case_id = writers[0].report_repair(resident, FLAT, "tap drips", "plumbing")

        def write(app: Casework, name: str) -> None:
            for n in range(10):
                app.add_note(case_id, staff, f"{name} {n}")

        threads = [
            threading.Thread(target=write, args=(app, name))
            for app, name in zip(writers, ("ahead", "behind"), strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        history = writers[1].history(case_id)
        notes = [e for e in history if e.event == "NoteAdded"]
        assert len(notes) == 20
        assert [e.at for e in history] == sorted(e.at for e in history)
        assert [e.version for e in history] == list(range(1, len(history) + 1))
        assert writers[1].verify(case_id).ok
    finally:
        for app in writers:
            app.close()


def test_the_tolerance_comes_from_casework_max_clock_skew_and_holds_as_set(
    store_url: str,
    clock: FakeClock,
    resident: Actor,
    staff: Actor,
    t0: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CASEWORK_MAX_CLOCK_SKEW", " 0.5 ")
    with Casework(store_url, clock=clock) as app:
        assert app.max_clock_skew == timedelta(milliseconds=500)
        case_id = app.report_repair(resident, FLAT, "tap drips", "plumbing")
        clock.set(t0 - timedelta(milliseconds=501))
        with pytest.raises(OutOfOrderError):
            app.acknowledge(case_id, staff)
        clock.set(t0 - timedelta(milliseconds=500))
        app.acknowledge(case_id, staff)
        assert app.history(case_id)[-1].at == t0
    with Casework(store_url, clock=clock, max_clock_skew=timedelta(0)) as told:
        assert told.max_clock_skew == timedelta(0)  # an argument wins over the environment
    monkeypatch.setenv("CASEWORK_MAX_CLOCK_SKEW", "")
    with Casework(store_url, clock=clock) as unset:
        assert unset.max_clock_skew == timedelta(seconds=5)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("-1", "0 or more seconds"),
        ("five", "a number of seconds"),
        ("5s", "a number of seconds"),
        ("nan", "a number of seconds"),
        ("inf", "a number of seconds"),
        ("1e300", "too large"),
    ],
)
def test_a_bad_casework_max_clock_skew_stops_the_application_at_start_saying_why(
    store_url: str, monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    monkeypatch.setenv("CASEWORK_MAX_CLOCK_SKEW", value)
    with pytest.raises(ValidationError, match=problem) as refused:
        Casework(store_url)
    assert str(refused.value).startswith("CASEWORK_MAX_CLOCK_SKEW ")
    assert repr(value) in str(refused.value)


@given(
    seconds=st.floats(min_value=-1e9, max_value=1e9)
    | st.sampled_from([math.nan, math.inf, -math.inf])
    | st.integers(min_value=-(10**6), max_value=10**6)
)
def test_a_clock_skew_is_taken_exactly_when_it_is_a_finite_number_of_seconds_not_below_zero(
    seconds: float,
) -> None:
    for given_as in (seconds, repr(seconds)):
        if math.isfinite(seconds) and seconds >= 0:
            assert clock_skew(given_as) == timedelta(seconds=seconds)
        else:
            with pytest.raises(ValidationError, match="CASEWORK_MAX_CLOCK_SKEW"):
                clock_skew(given_as)
