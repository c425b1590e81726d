"""The times a person may give, field by field: each a window around the command's own time.

A time outside its window is a typing slip or a hostile client, never a plan: a meeting in the
year 1, a task due in 1970, an offset of +20:40. Stored, such a time breaks whoever reads it back
(a replay converting it to UTC overflows, a projection stops), so the domain refuses it before it
is recorded, with the window in words. The windows are data, here only, so the library, the
services' schemas (which quote `Window.words` in their OpenAPI descriptions) and the tests read
the same numbers.

Every window is relative to `now`, which is the command's own time (`at`), never the clock: the
domain is told the time. `ANY_TIME` bounds every time an event carries, whatever its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from casework.domain.errors import ValidationError

MAX_OFFSET = timedelta(hours=14)
"""The widest UTC offset in use anywhere (Kiribati, +14:00; the furthest west is -12:00)."""

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""No event of a case-management system begun this century is dated outside [2000, 2100)."""


@dataclass(frozen=True)
class Window:
    """A field's times may lie from `before` ahead of now back to `after` past it, inclusive."""

    field: str
    before: timedelta
    after: timedelta

    @property
    def words(self) -> str:
        """The window as a person reads it, e.g. "from 1 day before now to 365 days after"."""
        return f"from {_span(self.before)} before now to {_span(self.after)} after"

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        return now - self.before, now + self.after

    def contains(self, moment: datetime, now: datetime) -> bool:
        low, high = self.bounds(now)
        return low <= moment <= high

    def check(self, moment: datetime, now: datetime) -> datetime:
        """`moment`, if it is a sane time (`check_moment`) inside the window; else a refusal
        that names the field, the window and the time given."""
        check_moment(moment, self.field)
        if not self.contains(moment, now):
            low, high = self.bounds(now)
            raise ValidationError(
                f"{self.field} {moment.isoformat()} is outside its window, {self.words} "
                f"({low.isoformat(timespec='minutes')} to {high.isoformat(timespec='minutes')})"
            )
        return moment

    def check_day(self, day: date, today: date) -> date:
        """The same window for a calendar date (a recurrence's first day), counted in days."""
        low, high = today - self.before, today + self.after
        if not low <= day <= high:
            raise ValidationError(
                f"{self.field} {day.isoformat()} is outside its window, {self.words} "
                f"({low.isoformat()} to {high.isoformat()})"
            )
        return day


def _span(delta: timedelta) -> str:
    days = delta.days
    if days and not delta.seconds:
        return f"{days} day" + ("s" if days != 1 else "")
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} minute" + ("s" if minutes != 1 else "")


MEETING = Window("a meeting's time", before=timedelta(days=1), after=timedelta(days=365))
"""A meeting is convened or moved for the coming year; a day back lets a meeting held last night
be recorded this morning."""

COMMITMENT_DUE = Window(
    "a commitment's due date", before=timedelta(days=1), after=timedelta(days=2 * 365)
)
"""What a party promises at an agreement falls due within two years (sheds built, fees repaid)."""

TASK_DUE = Window("a task's due_by", before=timedelta(days=1), after=timedelta(days=365))
"""A service task for a resident is wanted within the year."""

RECURRENCE_START = Window(
    "a recurrence's starts_on", before=timedelta(days=1), after=timedelta(days=365)
)
"""A recurring need starts within the coming year (yesterday allowed: the day turned over)."""

AS_OF = "an as-of moment"
"""An as-of query reads the past: from `EARLIEST` to now plus the writers' allowed clock skew
(the caller adds the skew to `now`); see `check_as_of`."""

WINDOWS = (MEETING, COMMITMENT_DUE, TASK_DUE, RECURRENCE_START)
"""The windows of times a person gives in a command (the as-of window bounds a query)."""


def check_moment(moment: datetime, what: str) -> datetime:
    """Any time the store keeps: with a timezone, an offset within ±14:00, in [2000, 2100)."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValidationError(f"{what} needs its timezone (e.g. 2026-11-24T09:30:00+08:00)")
    if abs(offset) > MAX_OFFSET:
        raise ValidationError(
            f"{what} has the UTC offset {moment.isoformat()[-6:]}; offsets run from -14:00 to "
            "+14:00"
        )
    # The year first: converting a time near year 1 or 9999 to UTC would overflow.
    if not EARLIEST.year - 1 <= moment.year <= LATEST.year or not (EARLIEST <= moment < LATEST):
        raise ValidationError(
            f"{what} {moment.isoformat()} is not a time this system keeps; times fall in "
            f"{EARLIEST.year} to {LATEST.year - 1}"
        )
    return moment


def check_as_of(moment: datetime, now: datetime) -> datetime:
    """An as-of moment: not before `EARLIEST`, not after `now` (the reader's clock plus skew)."""
    check_moment(moment, AS_OF)
    if moment > now:
        raise ValidationError(
            f"{AS_OF} {moment.isoformat()} is in the future (now is "
            f"{now.isoformat(timespec='seconds')}); the state as of a moment is read from the past"
        )
    return moment
