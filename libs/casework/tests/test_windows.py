"""The times and texts a person gives: accepted exactly inside their windows, refused outside,
and refused by the library itself, so every caller (not only the HTTP schemas) gets the rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from casework import Actor, Casework, FakeClock, Role, ValidationError
from casework.domain.dispute import Dispute
from casework.domain.mediation_rules import check_commitment_due
from casework.domain.text import CONTROL, check_text
from casework.domain.windows import (
    COMMITMENT_DUE,
    EARLIEST,
    LATEST,
    MAX_OFFSET,
    MEETING,
    TASK_DUE,
    WINDOWS,
    Window,
    check_as_of,
    check_moment,
)
from hypothesis import assume, given
from hypothesis import strategies as st

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=CST)
COMPOUND = "jiayu-xx/wanxin-intl"
RESIDENT = Actor("r-0302", Role.RESIDENT)
MANAGER = Actor("pm-wang", Role.PROPERTY_MANAGER)

offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
nows = st.datetimes(
    min_value=datetime(2001, 1, 1), max_value=datetime(2090, 12, 31), timezones=offsets
)
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2110, 12, 31), timezones=offsets
)


@given(window=st.sampled_from(WINDOWS), now=nows, moment=moments)
def test_a_time_is_accepted_exactly_when_it_lies_inside_its_window(
    window: Window, now: datetime, moment: datetime
) -> None:
    inside = now - window.before <= moment <= now + window.after
    sane = EARLIEST <= moment < LATEST
    if inside and sane:
        assert window.check(moment, now) == moment
    else:
        with pytest.raises(ValidationError, match=r"window|not a time this system keeps"):
            window.check(moment, now)


@given(window=st.sampled_from(WINDOWS), now=nows, seconds=st.integers(0, 10**9))
def test_the_window_edges_are_inside_and_a_microsecond_beyond_them_is_not(
    window: Window, now: datetime, seconds: int
) -> None:
    low, high = window.bounds(now)
    assert window.contains(low, now)
    assert window.contains(high, now)
    assert not window.contains(low - timedelta(microseconds=1), now)
    assert not window.contains(high + timedelta(microseconds=1), now)
    assert not window.contains(high + timedelta(seconds=seconds, microseconds=1), now)


@given(minutes=st.integers(-(24 * 60 - 1), 24 * 60 - 1), when=nows)
def test_an_offset_is_accepted_exactly_when_it_lies_within_fourteen_hours(
    minutes: int, when: datetime
) -> None:
    moment = when.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    assume(EARLIEST <= moment < LATEST)
    if abs(minutes) <= MAX_OFFSET.total_seconds() // 60:
        assert check_moment(moment, "the time") == moment
    else:
        with pytest.raises(ValidationError, match="offsets run from -14:00 to \\+14:00"):
            check_moment(moment, "the time")


def test_the_times_seen_in_the_issue_are_refused_with_words_a_person_can_act_on() -> None:
    with pytest.raises(ValidationError, match="the UTC offset \\+20:40"):
        MEETING.check(datetime.fromisoformat("0001-01-01T01:01:05+20:40"), T0)
    with pytest.raises(ValidationError, match="not a time this system keeps; times fall in 2000"):
        TASK_DUE.check(datetime.fromtimestamp(0, UTC), T0)
    with pytest.raises(ValidationError, match="needs its timezone"):
        MEETING.check(datetime(2026, 11, 25, 9, 0), T0)
    with pytest.raises(ValidationError, match="outside its window, from 1 day before now"):
        MEETING.check(T0 + timedelta(days=366), T0)


@given(due=moments, now=nows)
def test_a_commitment_due_is_accepted_exactly_inside_its_window_as_a_date_or_a_time(
    due: datetime, now: datetime
) -> None:
    text = due.isoformat()
    if COMMITMENT_DUE.contains(due, now) and EARLIEST <= due < LATEST:
        assert check_commitment_due(text, now) == text
    else:
        with pytest.raises(ValidationError):
            check_commitment_due(text, now)


@given(moment=moments, now=nows)
def test_an_as_of_moment_is_accepted_exactly_from_2000_up_to_now(
    moment: datetime, now: datetime
) -> None:
    if EARLIEST <= moment <= now:
        assert check_as_of(moment, now) == moment
    else:
        with pytest.raises(ValidationError):
            check_as_of(moment, now)


@given(text=st.text(max_size=50))
def test_text_is_accepted_exactly_when_it_holds_no_control_character_but_newline_and_tab(
    text: str,
) -> None:
    controls = [c for c in text if (ord(c) < 32 and c not in "\n\t") or c == "\x7f"]
    assert (CONTROL.search(text) is None) == (not controls)
    if controls:
        with pytest.raises(ValidationError, match="control character"):
            check_text(text, "the note")
    else:
        assert check_text(text, "the note") == text


# --------------------------------------------------------- in the library's commands


@pytest.fixture
def app(tmp_path: Path) -> Casework:
    return Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=FakeClock(T0))


def events_in(app: Casework) -> int:
    return app.recorder.max_notification_id() or 0


def test_a_library_caller_gets_the_windows_and_the_text_rule_and_nothing_is_stored(
    app: Casework,
) -> None:
    dispute = app.report_dispute(RESIDENT, COMPOUND, "fees doubled", "fees")
    meeting = app.convene_mediation(
        dispute, MANAGER, "roundtable", T0 + timedelta(days=1), "hall", []
    )
    before = events_in(app)
    absurd = [
        lambda: app.convene_mediation(
            dispute, MANAGER, "roundtable", datetime.fromtimestamp(0, UTC), "hall", []
        ),
        lambda: app.reschedule_meeting(
            dispute,
            MANAGER,
            meeting,
            datetime.fromisoformat("0001-01-01T01:01:05+20:40"),
            "hall",
            "moved",
        ),
        lambda: app.reschedule_meeting(
            dispute, MANAGER, meeting, T0 + timedelta(days=400), "hall", "moved"
        ),
        lambda: app.add_note(dispute, MANAGER, "rang\x00 the bell"),
        lambda: app.report_repair(RESIDENT, f"{COMPOUND}/b12/0302", "tap\x00 drips"),
        lambda: app.reach_agreement(
            dispute, MANAGER, meeting, ["quiet"], [{"who": "a", "what": "b", "due": "1970-01-01"}]
        ),
        lambda: app.state_as_of(dispute, at=T0 + timedelta(days=1)),
        lambda: app.state_as_of(dispute, at=datetime(1999, 12, 31, tzinfo=UTC)),
    ]
    for attempt in absurd:
        with pytest.raises(ValidationError):
            attempt()
    assert events_in(app) == before


def test_the_gate_before_the_store_refuses_a_control_character_in_any_field(
    app: Casework,
) -> None:
    """A text no command checks by name (a party's position at a round) is still refused by
    the gate every new event passes (`casework.domain.storable`), naming the field."""
    dispute = app.report_dispute(RESIDENT, COMPOUND, "fees doubled", "fees")
    meeting = app.convene_mediation(
        dispute, MANAGER, "roundtable", T0 + timedelta(hours=2), "hall", []
    )
    case: Dispute = app.get_case(dispute)  # type: ignore[assignment]
    version = case.version
    with pytest.raises(ValidationError, match=r"positions\.r-0302 holds the control character"):
        case.hold_round(
            MANAGER,
            T0 + timedelta(hours=2),
            meeting,
            [RESIDENT.id],
            "progress",
            positions={RESIDENT.id: "wants quiet\x1b[31m"},
        )
    assert case.version == version
    assert case.rounds_held == 0
