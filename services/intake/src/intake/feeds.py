"""What feeds the read models: the store's notification log, or the case events on NATS.

Both turn an event into a `Fact` and hand it to each read model's `apply` (the case index,
`read_model.py`; the measures, `measures/model.py`); a read model does not know which feed it is
fed by. The store feed follows the log by "greater than the last id seen" (ids can have gaps)
and each read model records its position with the facts, in the same transaction. Each is
idempotent per case version, so the feed reads from the lowest position among them and a read
model that is ahead ignores what it already holds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from casework import Casework
from casework.audit import history_entry
from casework.projections.polling import Poller
from casework.projections.skipped import event_name

from intake.read_model import KIND_OF_CLASS, CaseIndex, Fact

log = logging.getLogger("intake.feed")

STORE_SOURCE = "store"


class ReadModel(Protocol):
    """What a feed needs of a read model (`CaseIndex`, `MeasuresModel`)."""

    def apply(self, facts: Iterable[Fact], source: str | None = None, position: int = 0) -> int:
        """Apply in order with the feed's position, in one transaction; how many were new."""

    def position(self, source: str) -> int:
        """How far this read model has read from `source`."""

    def record_skipped(
        self, case_id: str, version: int, event: str, error: BaseException | str
    ) -> None:
        """Note an event it passes over (`casework.projections.skipped`)."""


def fact_from_domain_event(event: Any) -> Fact | None:
    """None for events of aggregates that are not case files (a service's own aggregates)."""
    entry = history_entry(event)
    owner = entry.topic.rsplit(":", 1)[-1].split(".", 1)[0]
    kind = KIND_OF_CLASS.get(owner)
    if kind is None:
        return None
    return Fact(
        case_id=str(entry.case_id),
        version=entry.version,
        name=entry.event,
        kind=kind,
        at=entry.at,
        actor_id=entry.actor_id,
        tier=entry.tier,
        data=entry.details,
    )


class StoreFeed(Poller):
    """Follows the store's notification log into the index, by polling (and on demand)."""

    thread_name = "intake-store-feed"

    def __init__(
        self,
        app: Casework,
        index: CaseIndex,
        *,
        batch: int = 500,
        also: Sequence[ReadModel] = (),
    ) -> None:
        self.app = app
        self.index = index
        self.read_models: tuple[ReadModel, ...] = (index, *also)
        self.batch = batch
        self._lock = threading.Lock()
        super().__init__()

    def catch_up(self) -> int:
        """Apply everything recorded so far; returns how many events the case index applied."""
        applied = 0
        with self._lock:
            while True:
                last = min(model.position(STORE_SOURCE) for model in self.read_models)
                page = self.app.recorder.select_notifications(
                    start=last, limit=self.batch, inclusive_of_start=False
                )
                if not page:
                    return applied
                facts = []
                for notification in page:
                    try:
                        event = self.app.mapper.to_domain_event(notification)
                    except Exception as error:  # undecodable: skipped and shown, not a stop
                        for model in self.read_models:
                            if model.position(STORE_SOURCE) < notification.id:
                                model.record_skipped(
                                    str(notification.originator_id),
                                    notification.originator_version,
                                    event_name(notification.topic),
                                    error,
                                )
                        continue
                    fact = fact_from_domain_event(event)
                    if fact is not None:
                        facts.append(fact)
                applied += self.index.apply(facts, STORE_SOURCE, page[-1].id)
                for model in self.read_models[1:]:
                    model.apply(facts, STORE_SOURCE, page[-1].id)
