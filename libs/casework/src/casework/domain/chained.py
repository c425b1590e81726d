"""The base of every audited aggregate: each event says who (id, role) and why, and is chained.

A case file and a service's own records (dispatch's roster, members, demand) are read and
verified alike by `casework.audit.verify_events`, so the chain is made in one place: here.
Each event carries its predecessor's hash and its own, computed over exactly what the store will
hold (ADR 001), including the `class_version` the mapper adds above version 1 (ADR 002).
Every new event passes the storable gate (`storable.check_storable`) first.

What the store will hold may differ from what the domain recorded: the application seals
personal values (docs/adr/011-personal-data.md). So that an event is hashed once, over the sealed
state, the application may hand the domain a `StoringHook` for the duration of a command
(`storing`): each new event is then applied to the aggregate as recorded (plain values), and the
hook turns it into the event to store, hashed, which is what goes into the pending list and
whose hash the next event chains to. The domain knows nothing of keys or ciphers: only that an
event may be stored in another form than it was recorded in.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from casework.domain.actors import Actor
from casework.domain.chain import GENESIS, event_digest
from casework.domain.errors import ValidationError
from casework.domain.personal import NONE, Personal
from casework.domain.storable import check_storable

TChained = TypeVar("TChained", bound="Chained")
TEvent = TypeVar("TEvent", bound="Chained.Event")


def require_aware(at: datetime) -> datetime:
    """Refuse a time without a timezone: replay must place every fact on one clock."""
    if at.tzinfo is None:
        raise ValidationError("times must carry a timezone (e.g. 2026-11-24T09:30:00+08:00)")
    return at


UNHASHED = "unhashed"
"""The `hash` an event is made with while a `StoringHook` is on: the hook hashes the event to
store; the event as recorded is only applied, never stored nor chained to."""


class StoringHook(Protocol):
    """What the application hands the domain to turn each new event into the one to store."""

    def __call__(self, aggregate: Chained, event: Chained.Event) -> Chained.Event:
        """The event to store for `event` (just applied to `aggregate`), with its `hash`
        computed over its own state (`Chained.Event.hashed`); `event` itself if nothing of it
        changes."""
        ...


_storing: ContextVar[StoringHook | None] = ContextVar("casework_storing", default=None)


class storing:  # noqa: N801 - used as a function: `with storing(hook):`
    """Events recorded in this block (this thread or task) are stored as `hook` makes them.
    (A class, not a generator: entered once per command, so it is kept cheap.)"""

    def __init__(self, hook: StoringHook | None) -> None:
        self.hook = hook
        self._token: Token[StoringHook | None] | None = None

    def __enter__(self) -> None:
        self._token = _storing.set(self.hook)

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _storing.reset(self._token)
            self._token = None


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

        def hashed(self: TEvent) -> TEvent:
            """This event with its `hash` computed (in place: it is not stored or shared yet)."""
            object.__setattr__(self, "hash", self.compute_hash())
            return self

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
        hook = _storing.get()
        if hook is None:
            super().trigger_event(event_class, prev_hash=self.chain_head, hash="", **kwargs)
            return
        super().trigger_event(event_class, prev_hash=self.chain_head, hash=UNHASHED, **kwargs)
        self._store_last(hook)

    def _store_last(self, hook: StoringHook) -> None:
        """Replace the event just recorded by the one to store, and chain on from its hash."""
        pending: list[Any] = self._pending_events
        stored = hook(self, pending[-1])
        pending[-1] = stored
        self.chain_head = stored.hash

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
        hook = _storing.get()
        if hook is None:
            return cls._create(event_class, id=aggregate_id, **fields)
        fields["hash"] = UNHASHED
        aggregate = cls._create(event_class, id=aggregate_id, **fields)
        aggregate._store_last(hook)
        return aggregate
