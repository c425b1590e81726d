"""When a member is available: weekly windows in their own time zone.

Written the way a property office writes a duty rota: `mon-fri 08:00-18:00`, `sat,sun 09:00-12:00`,
`daily 00:00-24:00` (always on call), `fri 22:00-06:00` (a night shift, ending the next morning).
An empty list means not available at all (away, ill), which is how a member is paused without
leaving the roster. Windows are stored in this canonical text form, so the events stay readable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from casework.domain.errors import ValidationError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIMEZONE = "Asia/Shanghai"
_WINDOW = re.compile(
    r"^(?P<days>[a-z,\-]+)\s+(?P<start>\d{2}):(?P<start_m>\d{2})-(?P<end>\d{2}):(?P<end_m>\d{2})$"
)
_MAX_WINDOWS = 28


@dataclass(frozen=True)
class Window:
    """Days of the week (0 = Monday) and minutes after midnight; `end <= start` ends next day."""

    days: frozenset[int]
    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> Window:
        match = _WINDOW.match(text.strip().lower())
        if match is None:
            raise ValidationError(
                f"availability window {text!r} must look like 'mon-fri 08:00-18:00', "
                "'sat,sun 09:00-12:00' or 'daily 00:00-24:00'"
            )
        days = _days(match["days"], text)
        start = _minutes(match["start"], match["start_m"], text, allow_24=False)
        end = _minutes(match["end"], match["end_m"], text, allow_24=True)
        if start == end:
            raise ValidationError(f"availability window {text!r} is empty (starts as it ends)")
        return cls(days, start, end)

    @property
    def text(self) -> str:
        return f"{_days_text(self.days)} {_hhmm(self.start)}-{_hhmm(self.end)}"

    def contains(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        today = local.weekday()
        if self.end > self.start:
            return today in self.days and self.start <= minute < self.end
        # Overnight: from `start` on one of the days until `end` the next morning.
        yesterday = (today - 1) % 7
        return (today in self.days and minute >= self.start) or (
            yesterday in self.days and minute < self.end
        )


def _days(spec: str, text: str) -> frozenset[int]:
    if spec in ("daily", "everyday"):
        return frozenset(range(7))
    if spec == "weekdays":
        return frozenset(range(5))
    if spec == "weekends":
        return frozenset({5, 6})
    days: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValidationError(
                f"availability window {text!r}: days are {', '.join(DAYS)}, ranges like "
                "mon-fri, lists like sat,sun, or daily / weekdays / weekends"
            )
        a, b = DAYS.index(first), DAYS.index(last or first)
        if b < a:
            raise ValidationError(f"availability window {text!r}: {part} runs backwards")
        days.update(range(a, b + 1))
    return frozenset(days)


def _days_text(days: frozenset[int]) -> str:
    if days == frozenset(range(7)):
        return "daily"
    ordered = sorted(days)
    runs: list[str] = []
    start = prev = ordered[0]
    for day in [*ordered[1:], None]:
        if day is not None and day == prev + 1:
            prev = day
            continue
        runs.append(DAYS[start] if start == prev else f"{DAYS[start]}-{DAYS[prev]}")
        if day is not None:
            start = prev = day
    return ",".join(runs)


def _minutes(hours: str, minutes: str, text: str, *, allow_24: bool) -> int:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and (m or not allow_24)):
        raise ValidationError(f"availability window {text!r}: {hours}:{minutes} is not a time")
    return h * 60 + m


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"unknown time zone {name!r}; use an IANA name such as {DEFAULT_TIMEZONE}"
        ) from None
    return name


def parse_windows(texts: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Canonical text of each window, in the order given, duplicates dropped."""
    if len(texts) > _MAX_WINDOWS:
        raise ValidationError(f"at most {_MAX_WINDOWS} availability windows, not {len(texts)}")
    canonical: list[str] = []
    for text in texts:
        window = Window.parse(text).text
        if window not in canonical:
            canonical.append(window)
    return tuple(canonical)


@lru_cache(maxsize=4096)
def _window(text: str) -> Window:
    """A stored window (already checked when recorded), parsed once per process."""
    return Window.parse(text)


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def available_at(windows: tuple[str, ...], timezone: str, at: datetime) -> bool:
    local = at.astimezone(_zone(timezone))
    return any(_window(w).contains(local) for w in windows)


def next_available(windows: tuple[str, ...], timezone: str, at: datetime) -> datetime | None:
    """The first moment from `at` on when the member is available; None if never.

    For the queue view ("nobody before 08:00") and for waking the queue when a shift starts.
    """
    if not windows:
        return None
    if available_at(windows, timezone, at):
        return at
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    starts: list[datetime] = []
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        for window in (_window(w) for w in windows):
            if day.weekday() in window.days:
                start = midnight + timedelta(minutes=window.start)
                if start >= local:
                    starts.append(start)
    return min(starts).astimezone(at.tzinfo) if starts else None
