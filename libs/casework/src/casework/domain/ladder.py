"""Deadlines per kind, priority and tier: the one table the ladder runs on.

A case gets its deadlines as an event when it enters a tier, so replay reads them from the case
file and never from this table or the clock. Changing the table changes future cases only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone

from casework.domain.places import Tier

PRIORITIES = ("routine", "urgent", "emergency")


@dataclass(frozen=True)
class Deadlines:
    """`respond_within`: first response (acknowledged); `settle_within`: settled at this tier.

    For a leak "settled" means the water is stopped: minutes, not days.
    """

    respond_within: timedelta
    settle_within: timedelta


def _d(respond_minutes: int, settle_minutes: int) -> Deadlines:
    return Deadlines(timedelta(minutes=respond_minutes), timedelta(minutes=settle_minutes))


_H = 60
_DAY = 24 * _H

DEADLINES: dict[tuple[str, str, Tier], Deadlines] = {
    # The library's own kinds' rows (`casework.kinds.builtin` gives each kind its own); a
    # registered kind brings its rows in its `Kind.deadlines`.
    ("repair", "routine", Tier.BUILDING): _d(4 * _H, 3 * _DAY),
    ("repair", "routine", Tier.COMPOUND): _d(2 * _H, 2 * _DAY),
    ("repair", "routine", Tier.COMMUNITY): _d(1 * _DAY, 7 * _DAY),
    ("repair", "urgent", Tier.BUILDING): _d(30, 1 * _DAY),
    ("repair", "urgent", Tier.COMPOUND): _d(30, 1 * _DAY),
    ("repair", "urgent", Tier.COMMUNITY): _d(2 * _H, 3 * _DAY),
    ("repair", "emergency", Tier.BUILDING): _d(10, 4 * _H),
    ("repair", "emergency", Tier.COMPOUND): _d(10, 4 * _H),
    ("repair", "emergency", Tier.COMMUNITY): _d(30, 1 * _DAY),
    ("leak", "routine", Tier.BUILDING): _d(1 * _H, 1 * _DAY),
    ("leak", "routine", Tier.COMPOUND): _d(1 * _H, 1 * _DAY),
    ("leak", "routine", Tier.COMMUNITY): _d(2 * _H, 2 * _DAY),
    ("leak", "urgent", Tier.BUILDING): _d(30, 4 * _H),
    ("leak", "urgent", Tier.COMPOUND): _d(30, 8 * _H),
    ("leak", "urgent", Tier.COMMUNITY): _d(1 * _H, 1 * _DAY),
    ("leak", "emergency", Tier.BUILDING): _d(10, 30),
    ("leak", "emergency", Tier.COMPOUND): _d(10, 1 * _H),
    ("leak", "emergency", Tier.COMMUNITY): _d(30, 4 * _H),
    ("dispute", "routine", Tier.BUILDING): _d(1 * _DAY, 7 * _DAY),
    ("dispute", "routine", Tier.COMPOUND): _d(2 * _DAY, 14 * _DAY),
    ("dispute", "routine", Tier.COMMUNITY): _d(3 * _DAY, 30 * _DAY),
    ("dispute", "urgent", Tier.BUILDING): _d(4 * _H, 2 * _DAY),
    ("dispute", "urgent", Tier.COMPOUND): _d(4 * _H, 3 * _DAY),
    ("dispute", "urgent", Tier.COMMUNITY): _d(1 * _DAY, 7 * _DAY),
    ("dispute", "emergency", Tier.BUILDING): _d(1 * _H, 1 * _DAY),
    ("dispute", "emergency", Tier.COMPOUND): _d(1 * _H, 1 * _DAY),
    ("dispute", "emergency", Tier.COMMUNITY): _d(2 * _H, 2 * _DAY),
}

OWNER_CONTACT_WITHIN = timedelta(minutes=15)
"""A leak whose source-flat owner is not reached within this time climbs a rung (DOMAIN.md)."""

REOPEN_WITHIN = timedelta(days=7)
"""A resident may reopen a resolved case for this long after it was resolved."""

FAILED_ROUNDS_BEFORE_ESCALATION = 3
"""A dispute whose mediation fails this many rounds at one tier climbs a rung."""

LOCAL_TIME = timezone(timedelta(hours=8), "CST")
"""Jiayu county's time (China Standard Time): a commitment due "on 6 April" is due by the end
of 6 April there, whatever zone the servers keep."""


def deadlines_for(kind: str, priority: str, tier: Tier) -> Deadlines:
    """The registered kind's row (`casework.kinds`): its deadlines at this priority and tier."""
    from casework.kinds.registry import kind_named

    return kind_named(kind).deadlines[(priority, tier)]
