"""The stories' time zone and a short way to say "so many minutes later"."""

from __future__ import annotations

from datetime import timedelta, timezone

from casework.stories.steps import After

CHINA = timezone(timedelta(hours=8), "CST")


def minutes(n: float) -> After:
    return After(timedelta(minutes=n))


def hours(n: float) -> After:
    return After(timedelta(hours=n))
