"""Which stored events are case events: the store holds services' own aggregates too.

DESIGN.md lets a service keep its own state (dispatch's roster, mediation's schedules) as
event-sourced aggregates in the same store as the case files, so that a handler can change a
case and its own aggregate in one transaction (docs/adr/004). The notification log then mixes
both. Whatever walks the log as "the case files" (the relay, `Casework.case_ids`, `verify_all`)
skips the other aggregates' events with `is_case_topic`.

A topic counts as NOT a case's only when it names a real event class of another aggregate. An
unknown or altered topic is still treated as a case's, so that tampering cannot hide an event
from `verify` by relabelling it with nonsense.
"""

from __future__ import annotations

from functools import lru_cache

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import resolve_topic

from casework.domain.case import Case


@lru_cache(maxsize=4096)
def is_case_topic(topic: str) -> bool:
    try:
        cls = resolve_topic(topic)
    except Exception:  # unknown, altered or unimportable: let verify judge it as a case's
        return True
    if not isinstance(cls, type) or not issubclass(cls, CanMutateAggregate):
        return True
    return issubclass(cls, Case.Event)
