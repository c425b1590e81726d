"""When a standing need falls due: a small recurrence rule, in China Standard Time (UTC+8).

Two shapes, enough for the demand list and small enough to read at a glance:

- `weekly`: on the given weekdays at a local time ("sat 09:00": carry rice and water up);
- `every_n_days`: every N days (1-366) at a local time, counted from `starts_on`.

Both start on `starts_on` (a local date; no occurrence before it). The time zone is fixed at
UTC+8, as every page of the stack shows times, and has no daylight saving, so an occurrence is
always exactly the stated wall-clock time and no day has two or none. Nonsense (no weekdays, a
weekday twice, 24:30, every 0 days) is refused with a message saying what is accepted.

The rule is pure: `next_after` and `latest_at_or_before` are what the scheduler's decision reads
(demand.py), so their properties (strictly increasing, on a stated day at the stated time, none
skipped) are tested for all rules (tests/test_recurrence.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from casework.domain.errors import ValidationError

from dispatch.domain.availability import DAYS

CST = timezone(timedelta(hours=8), "UTC+08:00")
KINDS = ("weekly", "every_n_days")
MAX_EVERY_DAYS = 366
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
_DAY = timedelta(days=1)


def _parse_time(text: Any) -> time:
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise ValidationError(f"time is HH:MM on a 24-hour clock (e.g. 09:00), not {text!r}")
    hours, minutes = text[:2], text[3:]
    if not (hours.isdigit() and minutes.isdigit()) or int(hours) > 23 or int(minutes) > 59:
        raise ValidationError(f"time is HH:MM from 00:00 to 23:59, not {text!r}")
    return time(int(hours), int(minutes))


def _parse_day(text: Any) -> date:
    try:
        day = date.fromisoformat(str(text))
    except ValueError:
        raise ValidationError(f"starts_on is a date like 2026-11-28, not {text!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(f"starts_on must fall between {FIRST_DAY} and {LAST_DAY}")
    return day


@dataclass(frozen=True)
class Recurrence:
    kind: str
    at: time
    starts_on: date
    weekdays: tuple[int, ...] = ()
    every_days: int = 0

    @classmethod
    def parse(cls, data: dict[str, Any], today: date) -> Recurrence:
        """From what the API (or a recorded event) says; `today` is the default `starts_on`."""
        kind = data.get("kind")
        if kind not in KINDS:
            raise ValidationError(f"a recurrence's kind is one of {', '.join(KINDS)}, not {kind!r}")
        at = _parse_time(data.get("time"))
        raw_start = data.get("starts_on")
        starts_on = today if raw_start is None else _parse_day(raw_start)
        if kind == "weekly":
            names = data.get("weekdays") or []
            if not isinstance(names, list) or not names:
                raise ValidationError("a weekly recurrence names its weekdays, e.g. ['sat']")
            unknown = [n for n in names if n not in DAYS]
            if unknown:
                raise ValidationError(f"weekdays are {', '.join(DAYS)}; not {unknown[0]!r}")
            if len(set(names)) != len(names):
                raise ValidationError("a weekday is named twice; name each once")
            if "every_days" in data and data["every_days"] not in (None, 0):
                raise ValidationError("every_days belongs to an every_n_days recurrence")
            days = tuple(sorted(DAYS.index(n) for n in names))
            return cls(kind, at, starts_on, weekdays=days)
        every = data.get("every_days")
        if not isinstance(every, int) or isinstance(every, bool):
            raise ValidationError("an every_n_days recurrence says every how many days (1-366)")
        if not 1 <= every <= MAX_EVERY_DAYS:
            raise ValidationError(f"every_days is 1 to {MAX_EVERY_DAYS}, not {every}")
        if data.get("weekdays"):
            raise ValidationError("weekdays belong to a weekly recurrence")
        return cls(kind, at, starts_on, every_days=every)

    def to_dict(self) -> dict[str, Any]:
        """What the event records (plain JSON) and the API shows."""
        data: dict[str, Any] = {
            "kind": self.kind,
            "time": self.at.strftime("%H:%M"),
            "starts_on": self.starts_on.isoformat(),
        }
        if self.kind == "weekly":
            data["weekdays"] = [DAYS[d] for d in self.weekdays]
        else:
            data["every_days"] = self.every_days
        return data

    def describe(self) -> str:
        """In words, for reasons recorded on events: "weekly on sat at 09:00 (UTC+8)"."""
        when = f"at {self.at.strftime('%H:%M')} (UTC+8), from {self.starts_on.isoformat()}"
        if self.kind == "weekly":
            return f"weekly on {','.join(DAYS[d] for d in self.weekdays)} {when}"
        return f"every {self.every_days} days {when}"

    # ------------------------------------------------------------ occurrences

    def _on(self, day: date) -> datetime | None:
        """The occurrence on this local day, if the rule has one."""
        if day < self.starts_on:
            return None
        if self.kind == "weekly":
            if day.weekday() not in self.weekdays:
                return None
        elif (day - self.starts_on).days % self.every_days:
            return None
        return datetime.combine(day, self.at, CST)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first occurrence strictly after `moment` (None past the rule's last year)."""
        day = max(moment.astimezone(CST).date(), self.starts_on)
        if self.kind == "every_n_days":
            offset = (day - self.starts_on).days % self.every_days
            if offset:
                day += timedelta(days=self.every_days - offset)
        step = _DAY if self.kind == "weekly" else timedelta(days=self.every_days)
        while day <= LAST_DAY:
            found = self._on(day)
            if found is not None and found > moment:
                return found
            day += step
        return None

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        """The last occurrence at or before `moment` (None before the first)."""
        day = min(moment.astimezone(CST).date(), LAST_DAY)
        if day < self.starts_on:
            return None
        if self.kind == "every_n_days":
            day -= timedelta(days=(day - self.starts_on).days % self.every_days)
        step = _DAY if self.kind == "weekly" else timedelta(days=self.every_days)
        while day >= self.starts_on:
            found = self._on(day)
            if found is not None and found <= moment:
                return found
            day -= step
        return None

    def count_between(self, after: datetime, until: datetime, limit: int = 10_000) -> int:
        """How many occurrences fall in (after, until) — the ones a restart passes over."""
        count = 0
        found = self.next_after(after)
        while found is not None and found < until and count < limit:
            count += 1
            found = self.next_after(found)
        return count
