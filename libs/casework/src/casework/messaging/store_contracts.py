"""A stored case event as its public contract `CaseEvent`: what the relay publishes, and what a
service's store feed hands on when there is no NATS, made by the one piece so the two cannot
differ.

A contract names the case's community and compound, but only a case's first event carries its
address (later events do not repeat it). So each case's place is kept as its first event
passes, or read back once from the store (version 1, by primary key) for a case whose first
event came before the ones this reader saw. The places of the least recently used cases are
forgotten past `cache_size`, so a long log keeps memory bounded; a forgotten place is read
again when its case comes back.

eventsourcing is synchronous: call it from a worker thread in async code (the relay does). The
place cache is guarded by a lock, so two threads reading at once (a relay's read ahead still
running beside the read after it) cannot break it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from casework.application import Casework
from casework.contracts import MODELS_BY_TOPIC, CaseEvent, CasePlace, to_contract
from casework.domain.case import Case
from casework.topics import is_case_topic

CACHE_SIZE = 100_000
"""Places kept by default: a few tens of megabytes at most, and every open case of a large
deployment, so the store is read again only for a case quiet for a long while."""


class NoFirstEventError(LookupError):
    """A case has later events in the store but not its first: its place cannot be known."""


class StoreContracts:
    """Stored case events as contracts; the places of up to `cache_size` cases kept (LRU)."""

    def __init__(self, app: Casework, cache_size: int = CACHE_SIZE) -> None:
        if cache_size < 1:
            raise ValueError(f"cache_size must be at least 1, not {cache_size}")
        self.app = app
        self.cache_size = cache_size
        self._places: OrderedDict[UUID, CasePlace] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> CaseEvent | None:
        """The contract of a decoded domain event; None for another aggregate's event (one of
        dispatch's roster, say), which has no contract."""
        if get_topic(type(event)) not in MODELS_BY_TOPIC:
            return None
        return to_contract(event, self.place(event))

    def of_notification(self, notification: Notification) -> CaseEvent | None:
        """The contract of a notification from the store's log; None, without decoding it, for
        another aggregate's event (`casework.topics.is_case_topic`). Raises whatever decoding
        raises for an event that cannot be read (one from a newer version, say)."""
        if not is_case_topic(notification.topic):
            return None
        event = self.app.mapper.to_domain_event(notification)
        return to_contract(event, self.place(event))

    def place(self, event: Any) -> CasePlace:
        """Where the event's case is: from the event itself if it is the first, else from the
        cache or the case's first event in the store."""
        case_id: UUID = event.originator_id
        if isinstance(event, Case.Opened):
            place = CasePlace.of(event)
        else:
            with self._lock:
                known = self._places.get(case_id)
                if known is not None:
                    self._places.move_to_end(case_id)
                    return known
            first = self.app.recorder.select_events(case_id, lte=1, limit=1)
            if not first:
                raise NoFirstEventError(f"case {case_id} has events but no first event")
            place = CasePlace.of(self.app.mapper.to_domain_event(first[0]))
        with self._lock:
            self._places[case_id] = place
            self._places.move_to_end(case_id)
            if len(self._places) > self.cache_size:
                self._places.popitem(last=False)
        return place

    def cached(self) -> int:
        """How many cases' places are kept now (never more than `cache_size`)."""
        return len(self._places)
