"""The base of dispatch's aggregates: every event says who (id, role), when and why, and is chained.

The roster and the demand list change over time and are audited like case files: each event
carries its actor, role and reason, and the hash of its predecessor (the same chain as a case
file's, `casework.domain.chain`), so `casework.audit.verify_events` checks a member's record too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from casework.domain.actors import Actor
from casework.domain.chain import GENESIS, event_digest
from casework.domain.errors import ValidationError
from casework.domain.storable import check_storable
from casework.domain.text import check_text
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

NAMESPACE = UUID("5d1c7f0e-3b7a-4c55-9a51-6f1e2a7d0c11")
"""Ids of dispatch aggregates that are found by name (a member by actor id) are uuid5 in this."""


def named_id(kind: str, name: str) -> UUID:
    return uuid5(NAMESPACE, f"{kind}:{name}")


def require_text(value: str, what: str, limit: int = 2000) -> str:
    text = check_text(value, what).strip()
    if not text:
        raise ValidationError(f"{what} must not be empty")
    if len(text) > limit:
        raise ValidationError(f"{what} is {len(text)} characters; the limit is {limit}")
    return text


def require_aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValidationError("times must carry a timezone (e.g. 2026-11-24T09:30:00+08:00)")
    return at


class Audited(Aggregate):
    @dataclass(frozen=True)
    class Event(Aggregate.Event):
        actor_id: str
        actor_role: str
        reason: str
        prev_hash: str
        hash: str

        def __post_init__(self) -> None:
            super().__post_init__()
            if not self.hash:
                object.__setattr__(self, "hash", self.compute_hash())

        def compute_hash(self) -> str:
            return event_digest(
                get_topic(type(self)), self.originator_id, self.originator_version, vars(self)
            )

        def apply(self, aggregate: Any) -> None:
            assert isinstance(aggregate, Audited)
            aggregate.chain_head = self.hash
            self.apply_to(aggregate)

        def apply_to(self, aggregate: Any) -> None:
            """Evolve the aggregate; subclasses override. Never read the clock here."""

    @dataclass(frozen=True)
    class Created(Event, Aggregate.Created):
        """Base of each aggregate's first event."""

    def __init__(self) -> None:
        self.chain_head: str = GENESIS

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        kwargs.setdefault("reason", "")
        check_storable(kwargs)
        super().trigger_event(event_class, prev_hash=self.chain_head, hash="", **kwargs)

    def record(self, event_class: Any, actor: Actor, at: datetime, **kwargs: Any) -> None:
        self.trigger_event(
            event_class,
            timestamp=require_aware(at),
            actor_id=actor.id,
            actor_role=actor.role.value,
            **kwargs,
        )

    @classmethod
    def start(
        cls, event_class: Any, aggregate_id: UUID, actor: Actor, at: datetime, **kwargs: Any
    ) -> Any:
        kwargs.setdefault("reason", "")
        fields: dict[str, Any] = dict(
            timestamp=require_aware(at),
            actor_id=actor.id,
            actor_role=actor.role.value,
            prev_hash=GENESIS,
            hash="",
            **kwargs,
        )
        check_storable(fields)
        return cls._create(event_class, id=aggregate_id, **fields)
