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
  `casework.messaging.store_contracts.StoreContracts`, the piece the relay uses, so a read model
  sees the same event whichever way it came. It reads every `feed_poll_seconds` (0.5 s), many
  reports a round; the listing, the measures and the pages catch the read models up before
  they read (`StoreFeed.catch_up_to_read`, `catch_up`), so what they show is current, and a
  report pays for no catch-up of its own (docs/adr/019).

Each read model records its position with the events, in the same transaction, and is
idempotent per case version: the store feed reads from the lowest position among them, and a read
model that is ahead ignores what it already holds; a redelivery never counts twice.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from typing import Protocol

from casework import Casework
from casework.contracts import CaseEvent, parse_event
from casework.kinds import kind_names
from casework.logs import describe
from casework.messaging.background import ConsumerInBackground, consume_in_background
from casework.messaging.store_contracts import StoreContracts
from casework.outages import OUTAGES
from casework.projections.polling import Poller
from casework.projections.skipped import event_name
from casework.projections.sqlite import EventFedModel
from nats.aio.msg import Msg

from intake.read_model import CaseIndex

log = logging.getLogger("intake.feed")

STORE_SOURCE = "store"
"""The position name of the store feed (a NATS feed's is its durable's name)."""


def case_subjects() -> tuple[str, ...]:
    """Case events of every registered kind (`casework.kinds`): dead letters
    (`casework.dlq.>`) may share the stream and are not ours."""
    return tuple(f"casework.{kind}.>" for kind in kind_names())


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
    """The one handler of the case feed: the case index first, then the others (the measures).

    When every other read model shares the case index's connection (`MeasuresModel(path,
    beside=index)`, as the runtime makes them: one file), a batch is applied to all of them in
    one transaction: one commit and one WAL sync per batch instead of one per read model
    (issue 16). Each of the others applies inside a savepoint of its own: one that fails is
    rolled back alone and its error raised after the commit, so a read model that cannot go on
    (a bug, a gap it refuses) holds only itself back, never the case index's listings (the
    store feed then reads on for the index alone, `StoreFeed.catch_up`; a NATS feed's message
    is delivered again, and the index takes it again as a no-op)."""

    def __init__(self, index: CaseIndex, also: Sequence[ReadModel] = ()) -> None:
        self.index = index
        self.all: tuple[ReadModel, ...] = (index, *also)
        self._together: tuple[EventFedModel, ...] | None = None
        shared = [
            m for m in also if isinstance(m, EventFedModel) and m.shares_connection_with(index)
        ]
        if len(shared) == len(also):
            self._together = tuple(shared)

    def apply(self, events: Sequence[CaseEvent], source: str, position: int) -> int:
        """Hand `events` to every read model with the feed's position; returns how many the
        case index applied (the others count their own)."""
        if self._together is None:
            applied = self.index.apply(events, source, position)
            for model in self.all[1:]:
                model.apply(events, source, position)
            return applied
        failed: BaseException | None = None
        with self.index.transaction() as db:
            applied = self.index.apply_in(db, events, source, position)
            for beside in self._together:
                db.execute("savepoint beside")
                try:
                    beside.apply_in(db, events, source, position)
                except Exception as error:
                    db.execute("rollback to beside")
                    failed = failed or error
                finally:
                    db.execute("release beside")
        if failed is not None:
            raise failed
        return applied

    def position(self, source: str) -> int:
        """The lowest position among them: where a feed resumes so that none misses an event."""
        if self._together is not None:
            return min(self.index.positions(source, self._together))
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

    return consume_in_background(
        nats_url,
        app,
        handle,
        parse_message,
        service="intake",
        durable=durable,
        subjects=case_subjects(),
    )


# ------------------------------------------------------------------ the store


READ_WAIT = 0.5
"""Seconds a reader waits for a catch-up already under way before it reads without
(`StoreFeed.catch_up_to_read`)."""


class StoreFeed(Poller):
    """Follows the store's notification log into the read models: every poll interval, and on
    demand (`catch_up`) before a read.

    No change signal (`casework.sqlite_changes`), unlike the library's store feeds: woken by
    each commit, it caught up one report a round, and a round's fixed cost (a transaction, its
    commit, the positions read and written) was most of a report's read-model work; polled,
    a round takes every report since the last (issue 16, docs/adr/019)."""

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
        """Apply everything recorded so far; returns how many events the case index applied.

        If a read model beside the case index fails a page the index took (`ReadModels.apply`),
        the index reads on alone from its own position to the end of the log, and the failure
        is raised after: a read model that cannot go on holds back only itself, not the case
        index's listings; the next catch-up gives it its page again."""
        with self._lock:
            return self._catch_up()

    def catch_up_to_read(self) -> bool:
        """`catch_up` before a read (a listing's, `Runtime.catch_up_read_models`), never failing
        it: True if the read models hold everything stored when it was asked, else False, and
        the reader reads them as they stand (a listing says how far: `index_position`).

        A catch-up already under way (the poller's round, another reader's) is waited for at
        most `READ_WAIT`: rounds take milliseconds, but one waiting on an unreachable store holds
        on for the store's timeout, and readers must not queue behind it one timeout each. An
        unreachable store is said once while it lasts (`outages`, shared with the poller: the
        first to get through says it is back); the read models' file busy, in one line per
        reader; anything else with its traceback."""
        if not self._lock.acquire(timeout=READ_WAIT):
            return False  # the catch-up holding it is waiting on the store, and will say so
        try:
            self._catch_up()
        except Exception as error:
            self.forget()
            if self.outages.failed(error):
                pass  # said once while it lasts
            elif isinstance(error, sqlite3.OperationalError):  # the read models' file busy
                log.warning("read models not caught up before a read: %s", describe(error))
            else:
                log.exception("read models not caught up before a read")
            return False
        finally:
            self._lock.release()
        self.outages.recovered("store")
        return True

    def _catch_up(self) -> int:
        """`catch_up`, the lock held."""
        applied = 0
        held_back: Exception | None = None
        while True:
            start = (
                self.index.position(STORE_SOURCE)
                if held_back is not None
                else self.read_models.position(STORE_SOURCE)
            )
            page = self.app.recorder.select_notifications(
                start=start, limit=self.batch, inclusive_of_start=False
            )
            if not page:
                break
            events = []
            for notification in page:
                try:
                    event = self.contracts.of_notification(notification)
                except OUTAGES:
                    raise  # the store is away: the poller waits, then reads this page again
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
            if held_back is not None:
                applied += self.index.apply(events, STORE_SOURCE, page[-1].id)
            else:
                try:
                    applied += self.read_models.apply(events, STORE_SOURCE, page[-1].id)
                except Exception as error:
                    if self.index.position(STORE_SOURCE) < page[-1].id:
                        raise  # the index did not take the page: nothing goes on
                    held_back = error
            if len(page) < self.batch:
                # a short page was the end of the log when read: asking again would cost
                # every catch-up two more queries for nothing (issue 16); what was
                # recorded since is the next catch-up's, as it would be after an empty page
                break
        if held_back is not None:
            raise held_back
        return applied
