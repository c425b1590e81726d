"""The base of every audited aggregate: each event says who (id, role) and why, and is chained.

A case file and a service's own records (dispatch's roster, members, demand) are read and
verified alike by `casework.audit.verify_events`, so the chain is made in one place: here.
Each event carries its predecessor's hash and its own, computed over exactly what the store will
hold (ADR 001), including the `class_version` the mapper adds above version 1 (ADR 002).
Every new event passes the storable gate (`storable.check_storable`) first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from casework.domain.actors import Actor
from casework.domain.chain import GENESIS, event_digest
from casework.domain.errors import ValidationError
from casework.domain.personal import NONE, Personal
from casework.domain.storable import check_storable

TChained = TypeVar("TChained", bound="Chained")


def require_aware(at: datetime) -> datetime:
    """Refuse a time without a timezone: replay must place every fact on one clock."""
    if at.tzinfo is None:
        raise ValidationError("times must carry a timezone (e.g. 2026-11-24T09:30:00+08:00)")
    return at


class Chained(Aggregate):
    """An aggregate whose events form a hash chain; `chain_head` is the last event's hash."""

    @dataclass(frozen=True)
    class Event(Aggregate.Event):
        """Every fact: who (id and role), when (`timestamp`) and why, chained to the last."""

        PERSONAL: ClassVar[Personal] = NONE
        """Which fields are personal data, and whose (`casework.domain.personal`); the
        application stores them sealed under that person's key."""

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
            """The digest `verify` will recompute from the stored state (class_version too)."""
            state: dict[str, Any] = dict(vars(self))
            class_version = getattr(type(self), "class_version", 1)
            if class_version > 1:
                state["class_version"] = class_version
            return event_digest(
                get_topic(type(self)), self.originator_id, self.originator_version, state
            )

        def apply(self, aggregate: Any) -> None:
            assert isinstance(aggregate, Chained)
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
        """Chain every new event to its predecessor, once its values pass the storable gate."""
        kwargs.setdefault("reason", "")
        check_storable(kwargs)
        super().trigger_event(event_class, prev_hash=self.chain_head, hash="", **kwargs)

    def record(self, event_class: Any, actor: Actor, at: datetime, **kwargs: Any) -> None:
        """Record a fact by `actor` at `at` (timezone required)."""
        self.trigger_event(
            event_class,
            timestamp=require_aware(at),
            actor_id=actor.id,
            actor_role=actor.role.value,
            **kwargs,
        )

    @classmethod
    def start(
        cls: type[TChained],
        event_class: Any,
        aggregate_id: UUID,
        actor: Actor,
        at: datetime,
        **kwargs: Any,
    ) -> TChained:
        """Create the aggregate with its first event, the chain's first link."""
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
