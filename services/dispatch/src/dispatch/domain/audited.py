"""The base of dispatch's aggregates: every event says who (id, role), when and why, and is chained.

The roster and the demand list change over time and are audited like case files: each event
carries its actor, role and reason, and the hash of its predecessor (the same chain as a case
file's, `casework.domain.chained`), so `casework.audit.verify_events` checks a member's record too.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from casework.domain import text
from casework.domain.chained import Chained

NAMESPACE = UUID("5d1c7f0e-3b7a-4c55-9a51-6f1e2a7d0c11")
"""Ids of dispatch aggregates that are found by name (a member by actor id) are uuid5 in this."""


def named_id(kind: str, name: str) -> UUID:
    return uuid5(NAMESPACE, f"{kind}:{name}")


def require_text(value: str, what: str, limit: int = 2000) -> str:
    """A dispatch record's free text: at most 2000 characters unless said otherwise."""
    return text.require_text(value, what, limit)


class Audited(Chained):
    """A dispatch aggregate: its chain, record and start are the library's (`Chained`)."""
