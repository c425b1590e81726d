"""Availability windows as a duty rota writes them, in the member's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from casework.domain import ValidationError
from dispatch.domain.availability import (
    Window,
    available_at,
    next_available,
    parse_windows,
)
from hypothesis import given
from hypothesis import strategies as st

CST = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 11, 23, 0, 0, tzinfo=CST)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("mon-fri 08:00-18:00", "mon-fri 08:00-18:00"),
        ("Sat,Sun 09:00-12:00", "sat-sun 09:00-12:00"),
        ("daily 00:00-24:00", "daily 00:00-24:00"),
        ("weekdays 08:30-17:30", "mon-fri 08:30-17:30"),
        ("mon,wed,fri 19:00-21:00", "mon,wed,fri 19:00-21:00"),
        ("fri 22:00-06:00", "fri 22:00-06:00"),
    ],
)
def test_windows_are_read_and_written_back_in_one_canonical_form(text: str, canonical: str) -> None:
    assert parse_windows([text]) == (canonical,)


@pytest.mark.parametrize(
    "text",
    [
        "mon-fri",
        "mon-fri 8:00-18:00",
        "fri-mon 08:00-18:00",
        "mon 25:00-26:00",
        "mon 09:00-09:00",
        "someday 08:00-09:00",
        "mon 24:00-08:00",
        "mon 08:60-09:00",
    ],
)
def test_a_malformed_window_is_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValidationError, match=r"mon|time|empty|backwards"):
        parse_windows([text])


def test_a_night_shift_runs_past_midnight_into_the_next_day() -> None:
    night = ("fri 22:00-06:00",)
    friday_23 = MONDAY + timedelta(days=4, hours=23)
    assert available_at(night, "Asia/Shanghai", friday_23)
    assert available_at(night, "Asia/Shanghai", friday_23 + timedelta(hours=6, minutes=59))
    assert not available_at(night, "Asia/Shanghai", friday_23 + timedelta(hours=7))
    assert not available_at(night, "Asia/Shanghai", MONDAY + timedelta(hours=3))  # sun night: no


def test_the_member_zone_decides_not_the_server_zone() -> None:
    nine_am_beijing = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert available_at(("mon-fri 08:00-18:00",), "Asia/Shanghai", nine_am_beijing)
    assert not available_at(("mon-fri 08:00-18:00",), "Europe/London", nine_am_beijing)


def test_nobody_is_available_with_no_windows_and_next_available_finds_the_next_shift() -> None:
    assert not available_at((), "Asia/Shanghai", MONDAY)
    assert next_available((), "Asia/Shanghai", MONDAY) is None
    saturday_shift = ("sat 09:00-12:00",)
    assert next_available(saturday_shift, "Asia/Shanghai", MONDAY) == MONDAY + timedelta(
        days=5, hours=9
    )
    during = MONDAY + timedelta(days=5, hours=10)
    assert next_available(saturday_shift, "Asia/Shanghai", during) == during


windows = st.builds(
    Window,
    st.frozensets(st.integers(0, 6), min_size=1),
    st.integers(0, 24 * 60 - 1),
    st.integers(1, 24 * 60),
).filter(lambda w: w.start != w.end)


@given(windows)
def test_any_window_survives_being_written_and_read_back(window: Window) -> None:
    assert Window.parse(window.text) == window


@given(windows, st.integers(0, 7 * 24 * 60 - 1))
def test_next_available_is_available_and_nothing_earlier_is(window: Window, minute: int) -> None:
    at = MONDAY + timedelta(minutes=minute)
    texts = (window.text,)
    found = next_available(texts, "Asia/Shanghai", at)
    assert found is not None
    assert available_at(texts, "Asia/Shanghai", found)
    if found > at:
        assert not available_at(texts, "Asia/Shanghai", found - timedelta(minutes=1))
