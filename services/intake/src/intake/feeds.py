"""What feeds the case index: the store's notification log, or the case events on NATS.

Both turn an event into a `Fact` and hand it to `CaseIndex.apply`; the projection itself
(`read_model.py`) does not know which one it is fed by. The store feed follows the log by
"greater than the last id seen" (ids can have gaps) and records its position with the facts, in
the same transaction.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from casework import Casework
from casework.audit import history_entry

from intake.read_model import KIND_OF_CLASS, CaseIndex, Fact

log = logging.getLogger("intake.feed")

STORE_SOURCE = "store"


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


class StoreFeed:
    """Follows the store's notification log into the index, by polling (and on demand)."""

    def __init__(self, app: Casework, index: CaseIndex, *, batch: int = 500) -> None:
        self.app = app
        self.index = index
        self.batch = batch
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def catch_up(self) -> int:
        """Apply everything recorded so far; returns how many events were applied."""
        applied = 0
        with self._lock:
            while True:
                last = self.index.position(STORE_SOURCE)
                page = self.app.recorder.select_notifications(
                    start=last, limit=self.batch, inclusive_of_start=False
                )
                if not page:
                    return applied
                facts = []
                for notification in page:
                    fact = fact_from_domain_event(self.app.mapper.to_domain_event(notification))
                    if fact is not None:
                        facts.append(fact)
                applied += self.index.apply(facts, STORE_SOURCE, page[-1].id)

    def start(self, poll_seconds: float) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(poll_seconds,), name="intake-store-feed", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self, poll_seconds: float) -> None:
        while not self._stop.is_set():
            try:
                self.catch_up()
            except Exception:  # keep following; the next poll retries
                log.exception("case index feed failed; retrying")
            self._stop.wait(poll_seconds)
