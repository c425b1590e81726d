"""The case feed: every case event, as the contract `CaseEvent`, into the intake's read models.

One kind of event, two ways for it to arrive, one handler (`ReadModels.apply`, the case index and
the measures):

- **NATS** (`NATS_URL` set): the durable consumer `INTAKE_DURABLE` (default `intake-case-index`)
  on the CASEWORK stream reads the contract models the relay publishes. The toolkit records each
  handled message in the store (exactly once), and its stream sequence is the read models'
  position; an event that arrives before its predecessor (a redelivery overtaken by a later
  message) raises `GapError`, so the toolkit naks it and it is applied once the earlier one is in.
- **The store** (no NATS): `StoreFeed` follows the notification log by "greater than the last id
  seen" (ids can have gaps) and makes each stored case event into its contract with
  `casework.contracts.to_contract`, as the relay does, so a read model sees the same event
  whichever way it came.

Each read model records its position with the events, in the same transaction, and is
idempotent per case version: the store feed reads from the lowest position among them, and a read
model that is ahead ignores what it already holds; a redelivery never counts twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol
from uuid import UUID

from casework import Case, Casework
from casework.contracts import MODELS_BY_TOPIC, CaseEvent, CasePlace, parse_event, to_contract
from casework.messaging.background import ConsumerInBackground
from casework.messaging.consumer import Consumer, SubscriptionSettings
from casework.projections.polling import Poller
from casework.projections.skipped import event_name
from eventsourcing.utils import get_topic
from nats.aio.client import Client
from nats.aio.msg import Msg

from intake.read_model import CaseIndex

log = logging.getLogger("intake.feed")

STORE_SOURCE = "store"
"""The position name of the store feed (a NATS feed's is its durable's name)."""
CASE_SUBJECTS = ("casework.repair.>", "casework.leak.>", "casework.dispute.>")
"""Case events only: dead letters (`casework.dlq.>`) may share the stream and are not ours."""


class ReadModel(Protocol):
    """What the feed needs of a read model (`CaseIndex`, `MeasuresModel`)."""

    def apply(
        self, events: Iterable[CaseEvent], source: str | None = None, position: int = 0
    ) -> int:
        """Apply in order with the feed's position, in one transaction; how many were new."""

    def position(self, source: str) -> int:
        """How far this read model has read from `source`."""

    def record_skipped(
        self, case_id: str, version: int, event: str, error: BaseException | str
    ) -> None:
        """Note an event it passes over (`casework.projections.skipped`)."""


class ReadModels:
    """The one handler of the case feed: the case index first, then the others (the measures)."""

    def __init__(self, index: CaseIndex, also: Sequence[ReadModel] = ()) -> None:
        self.index = index
        self.all: tuple[ReadModel, ...] = (index, *also)

    def apply(self, events: Sequence[CaseEvent], source: str, position: int) -> int:
        """Hand `events` to every read model with the feed's position; returns how many the
        case index applied (the others count their own)."""
        applied = self.index.apply(events, source, position)
        for model in self.all[1:]:
            model.apply(events, source, position)
        return applied

    def position(self, source: str) -> int:
        """The lowest position among them: where a feed resumes so that none misses an event."""
        return min(model.position(source) for model in self.all)


# ------------------------------------------------------------------ NATS


def parse_message(msg: Msg) -> tuple[CaseEvent, int]:
    """The contract model, and the message's stream sequence (the read models' position)."""
    event_type = (msg.headers or {}).get("ce-type")
    return parse_event(msg.data, event_type), msg.metadata.sequence.stream


def start_consumer(
    nats_url: str, app: Casework, read_models: ReadModels, durable: str
) -> ConsumerInBackground:
    """Connect, bind the durable consumer and run it, in the background until stopped: the app
    serves meanwhile, and `/readyz` says NATS is unreachable until it is connected."""

    def handle(message: tuple[CaseEvent, int], casework: Casework) -> None:
        event, sequence = message
        read_models.apply([event], durable, sequence)

    def build(nc: Client) -> Consumer[tuple[CaseEvent, int]]:
        return Consumer(
            nc,
            app,
            handle,
            parse_message,
            SubscriptionSettings(
                service="intake",
                durable=durable,
                filter_subjects=CASE_SUBJECTS,
                fetch_timeout=0.5,
            ),
        )

    feed = ConsumerInBackground(nats_url, "casework-intake", build)
    feed.start()
    return feed


# ------------------------------------------------------------------ the store


class StoreContracts:
    """A stored case event as its contract `CaseEvent`, the very model the relay publishes.

    A contract names the case's community and compound, which only the case's first event
    carries: each case's place is kept from its report (or read once from the store, for a case
    whose report came before the first event seen), the oldest forgotten past `cache_size`.
    """

    def __init__(self, app: Casework, cache_size: int = 100_000) -> None:
        self.app = app
        self.cache_size = cache_size
        self._places: dict[UUID, CasePlace] = {}

    def __call__(self, event: Any) -> CaseEvent | None:
        """The contract, or None for another aggregate's event (dispatch's members, say)."""
        if get_topic(type(event)) not in MODELS_BY_TOPIC:
            return None
        return to_contract(event, self._place(event))

    def _place(self, event: Any) -> CasePlace:
        case_id: UUID = event.originator_id
        place = self._places.get(case_id)
        if place is not None:
            return place
        if isinstance(event, Case.Opened):
            place = CasePlace.of(event)
        else:
            first = self.app.recorder.select_events(case_id, lte=1, limit=1)
            if not first:
                raise LookupError(f"case {case_id} has events but no report in the store")
            place = CasePlace.of(self.app.mapper.to_domain_event(first[0]))
        if len(self._places) >= self.cache_size:
            del self._places[next(iter(self._places))]
        self._places[case_id] = place
        return place


class StoreFeed(Poller):
    """Follows the store's notification log into the read models, by polling (and on demand)."""

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
        self.read_models = ReadModels(index, also)
        self.contracts = StoreContracts(app)
        self.batch = batch
        self._lock = threading.Lock()
        super().__init__()

    def catch_up(self) -> int:
        """Apply everything recorded so far; returns how many events the case index applied."""
        applied = 0
        with self._lock:
            while True:
                page = self.app.recorder.select_notifications(
                    start=self.read_models.position(STORE_SOURCE),
                    limit=self.batch,
                    inclusive_of_start=False,
                )
                if not page:
                    return applied
                events = []
                for notification in page:
                    try:
                        event = self.contracts(self.app.mapper.to_domain_event(notification))
                    except Exception as error:  # unreadable: skipped and shown, not a stop
                        for model in self.read_models.all:
                            if model.position(STORE_SOURCE) < notification.id:
                                model.record_skipped(
                                    str(notification.originator_id),
                                    notification.originator_version,
                                    event_name(notification.topic),
                                    error,
                                )
                        continue
                    if event is not None:
                        events.append(event)
                applied += self.read_models.apply(events, STORE_SOURCE, page[-1].id)
