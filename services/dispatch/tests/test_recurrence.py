"""The recurrence rule of a standing need, for all rules: occurrences strictly increase, each on a
stated weekday (or N days on) at the stated UTC+8 time, none skipped; and a need ticked at any
moments raises each occurrence at most once, the latest due, counting the ones it passes over."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from casework import SYSTEM
from casework.domain.errors import InvalidTransitionError, NotPermittedError, ValidationError
from dispatch.domain.availability import DAYS
from dispatch.domain.demand import Demand
from dispatch.domain.recurrence import CST, Recurrence
from dispatch.testing import FLAT, MANAGER, T0
from hypothesis import given, settings
from hypothesis import strategies as st

TODAY = T0.date()
MICRO = timedelta(microseconds=1)

weekly = st.builds(
    lambda days, h, m, start: {
        "kind": "weekly",
        "weekdays": days,
        "time": f"{h:02d}:{m:02d}",
        "starts_on": start.isoformat(),
    },
    st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True),
    st.integers(0, 23),
    st.integers(0, 59),
    st.dates(date(2000, 1, 1), date(2085, 12, 31)),
)
every_n = st.builds(
    lambda n, h, m, start: {
        "kind": "every_n_days",
        "every_days": n,
        "time": f"{h:02d}:{m:02d}",
        "starts_on": start.isoformat(),
    },
    st.integers(1, 366),
    st.integers(0, 23),
    st.integers(0, 59),
    st.dates(date(2000, 1, 1), date(2085, 12, 31)),
)
rules = st.one_of(weekly, every_n).map(lambda d: Recurrence.parse(d, TODAY))
zones = st.sampled_from([UTC, CST, timezone(timedelta(hours=-5)), timezone(timedelta(hours=14))])
# Up to 2085: twelve occurrences of a rule every 366 days from then still fall before the
# rule's last day (2099-12-31), which the property asks for.
moments = st.builds(
    lambda naive, tz: naive.replace(tzinfo=tz),
    st.datetimes(datetime(2000, 1, 1), datetime(2085, 12, 31)),
    zones,
)


def is_occurrence(rule: Recurrence, moment: datetime) -> bool:
    local = moment.astimezone(CST)
    if local.timetz().replace(tzinfo=None) != rule.at or local.date() < rule.starts_on:
        return False
    if rule.kind == "weekly":
        return local.weekday() in rule.weekdays
    return (local.date() - rule.starts_on).days % rule.every_days == 0


@settings(max_examples=300)
@given(rules, moments)
def test_occurrences_strictly_increase_on_the_stated_days_at_the_stated_time(
    rule: Recurrence, start: datetime
) -> None:
    found = []
    moment = start
    for _ in range(12):
        following = rule.next_after(moment)
        assert following is not None
        assert following > moment
        assert is_occurrence(rule, following)
        found.append(following)
        moment = following
    gaps = {b - a for a, b in itertools.pairwise(found)}
    if rule.kind == "every_n_days":
        assert gaps == {timedelta(days=rule.every_days)}
    else:
        assert max(gaps) <= timedelta(days=7)
        assert len(found[:7]) == len(set(found[:7]))


@settings(max_examples=300)
@given(rules, moments)
def test_none_is_skipped_between_one_occurrence_and_the_next(
    rule: Recurrence, moment: datetime
) -> None:
    following = rule.next_after(moment)
    assert following is not None
    # Every local day from the moment's (or the day before the rule starts: none earlier can
    # be one) to the next occurrence's: nothing in between.
    day = max(moment.astimezone(CST).date(), rule.starts_on - timedelta(days=1))
    while day <= following.astimezone(CST).date():
        candidate = datetime.combine(day, rule.at, CST)
        if moment < candidate < following:
            assert not is_occurrence(rule, candidate)
        day += timedelta(days=1)
    # The latest at or before a moment is the one just before the next after it.
    latest = rule.latest_at_or_before(moment)
    assert rule.latest_at_or_before(following - MICRO) == latest
    if latest is not None:
        assert latest <= moment
        assert is_occurrence(rule, latest)
        assert rule.next_after(latest) == following
    else:
        assert following.astimezone(CST).date() >= rule.starts_on
    assert rule.latest_at_or_before(following) == following


def recurring_need(rule: dict[str, Any], at: datetime) -> Demand:
    need = Demand.record_need(
        MANAGER,
        at,
        resident_id="r-0302",
        address=FLAT,
        need="carrying",
        description="rice and water carried up",
    )
    need.set_recurrence(MANAGER, at, Recurrence.parse(rule, at.astimezone(CST).date()), "")
    return need


@settings(max_examples=200)
@given(
    st.one_of(weekly, every_n).map(lambda d: {**d, "starts_on": None}),
    st.lists(st.timedeltas(timedelta(minutes=1), timedelta(days=20)), min_size=1, max_size=25),
)
def test_a_need_ticked_at_any_moments_raises_each_due_occurrence_once_and_counts_the_missed(
    rule: dict[str, Any], steps: list[timedelta]
) -> None:
    need = recurring_need(rule, T0)
    assert need.recurrence is not None
    now, raised, missed = T0, [], 0
    for step in steps:
        before = now
        now += step
        due = need.due_occurrence(now)
        falling = need.recurrence.count_between(before, now + MICRO)
        if due is None:
            assert falling == 0
            continue
        occurrence, passed_over = due
        assert occurrence == need.recurrence.latest_at_or_before(now)
        assert passed_over == falling - 1  # none lost silently; one per tick: none missed
        need.raise_occurrence(SYSTEM, now, occurrence, f"task-{len(raised)}", passed_over)
        raised.append(occurrence)
        missed += passed_over
        assert need.due_occurrence(now) is None  # raised once, however often ticked
    assert raised == sorted(set(raised))
    assert all(T0 < r <= now for r in raised)
    assert len(raised) + missed == need.recurrence.count_between(T0, now + MICRO)
    assert need.tasks_ordered == len(raised)


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"kind": "weekly", "weekdays": [], "time": "09:00"}, "names its weekdays"),
        ({"kind": "weekly", "weekdays": ["sat", "sat"], "time": "09:00"}, "named twice"),
        ({"kind": "weekly", "weekdays": ["saturday"], "time": "09:00"}, "weekdays are mon"),
        ({"kind": "weekly", "weekdays": ["sat"], "time": "24:00"}, "00:00 to 23:59"),
        ({"kind": "weekly", "weekdays": ["sat"], "time": "9am"}, "HH:MM"),
        ({"kind": "every_n_days", "every_days": 0, "time": "09:00"}, "1 to 366"),
        ({"kind": "every_n_days", "every_days": True, "time": "09:00"}, "every how many"),
        ({"kind": "every_n_days", "time": "09:00"}, "every how many"),
        ({"kind": "every_n_days", "every_days": 3, "time": "09:00", "weekdays": ["sat"]}, "weekly"),
        ({"kind": "monthly", "time": "09:00"}, "weekly, every_n_days"),
        (
            {"kind": "weekly", "weekdays": ["sat"], "time": "09:00", "starts_on": "1999-12-31"},
            "2000",
        ),
        ({"kind": "weekly", "weekdays": ["sat"], "time": "09:00", "starts_on": "soon"}, "a date"),
    ],
)
def test_nonsense_is_refused_saying_what_is_accepted(rule: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        Recurrence.parse(rule, TODAY)


def test_only_the_scheduler_raises_and_pausing_or_retiring_stops_occurrences() -> None:
    need = recurring_need({"kind": "weekly", "weekdays": ["sat"], "time": "09:00"}, T0)
    saturday = datetime.combine(date(2026, 11, 28), time(9), CST)
    assert need.next_occurrence() == saturday
    with pytest.raises(NotPermittedError):
        need.raise_occurrence(MANAGER, saturday, saturday, "t", 0)
    with pytest.raises(InvalidTransitionError):
        need.raise_occurrence(SYSTEM, saturday - MICRO, saturday, "t", 0)  # not due yet
    need.pause(MANAGER, T0, "in hospital")
    assert need.due_occurrence(saturday + timedelta(days=30)) is None
    assert need.next_occurrence() is None
    need.resume(MANAGER, saturday + timedelta(hours=1), "home again")
    assert need.next_occurrence() == saturday + timedelta(days=7)  # the paused one is not owed
    need.retire(MANAGER, saturday + timedelta(days=1), "moved in with family")
    assert need.due_occurrence(saturday + timedelta(days=30)) is None
    with pytest.raises(InvalidTransitionError):
        need.pause(MANAGER, saturday + timedelta(days=1), "again")
