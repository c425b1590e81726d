"""Group commit on PostgreSQL: concurrent saves on different cases written in one transaction.

eventsourcing's PostgreSQL recorder takes `LOCK TABLE ... IN EXCLUSIVE MODE` in every transaction
that inserts events, so notification ids are issued in commit order (what the relay and the
notary read by; docs/adr/003, 014). That lock serialises writers: with 20 threads saving, each
waits for the one before it to lock, insert, commit (and fsync) in turn. Here the threads that
save at the same time hand their (already decided, sealed, hashed) events to one of them, the
leader, which writes them all under one lock and one commit, then wakes each with its own
notification ids or its own error (docs/adr/018-group-commit.md).

What keeps it safe:
- A batch never holds two saves on the same aggregate, nor two tracking positions of the same
  upstream: the later one waits for the next batch, where the store decides the race as it
  would have one save at a time (the loser gets `IntegrityError`; its unit of work retries).
- A save that clashes with one committed earlier fails the whole first attempt at the batch;
  the batch is then written again, each save in its own savepoint, inside one transaction: the
  clashing save alone gets its `IntegrityError`, the others commit.
- A save's tracking position is written in the same savepoint as its events (all or none).
- Notification ids follow the queue order inside a batch and batches follow each other under
  the table lock, so ids still increase in commit order.
- There is no background thread: the leader is a saving thread, and a thread whose save was
  written by another returns as soon as the batch commits.

Saves without events (a tracking position alone) and stores with eventsourcing's database
functions on go the ordinary way. Chosen with `CASEWORK_GROUP_COMMIT` (`casework.settings`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from casework._extras import require

require("psycopg", __name__)  # before the imports below: a missing extra is named, not guessed

import psycopg  # noqa: E402
from eventsourcing.persistence import (  # noqa: E402
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
    Tracking,
)

from casework.postgres import FailFastProcessRecorder, fail_fast  # noqa: E402

MAX_BATCH_EVENTS = 2000
"""Events one transaction carries at most; more waiting saves go in the next batch."""


@dataclass(eq=False)
class _Save:
    """One caller's save, waiting for a leader to write it (or to be asked to lead)."""

    events: Sequence[StoredEvent]
    tracking: Tracking | None
    done: bool = False
    ids: Sequence[int] | None = None
    error: BaseException | None = None
    aggregates: frozenset[Any] = field(default=frozenset())
    wake: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.aggregates = frozenset(str(e.originator_id) for e in self.events)


class GroupCommitProcessRecorder(FailFastProcessRecorder):
    """`FailFastProcessRecorder` whose concurrent `insert_events` share one transaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queue_lock = threading.Lock()
        self._waiting: list[_Save] = []
        self._leading = False
        self.batches = 0
        """Batches written so far (a bench divides the saves by it; a test checks grouping)."""
        self.largest_batch = 0
        """The most saves one transaction has carried so far."""

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        extra = set(kwargs) - {"tracking"}
        if not stored_events or extra or self.datastore.enable_db_functions:
            alone: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return alone
        mine = _Save(stored_events, kwargs.get("tracking"))
        with self._queue_lock:
            self._waiting.append(mine)
            lead = not self._leading
            self._leading = True
        if not lead:
            mine.wake.wait()  # written by a leader, or asked to lead (then not done)
        if not mine.done:
            self._lead(mine)
        if mine.error is not None:
            raise mine.error
        return mine.ids

    # ------------------------------------------------------------------ the leader

    def _lead(self, mine: _Save) -> None:
        """Write batches until this thread's own save is written; then hand the lead to the
        first save still waiting (each thread is woken once: when its save is written, or
        when it is to lead)."""
        batch: list[_Save] = []
        try:
            while not mine.done:
                with self._queue_lock:
                    batch = self._take()
                self._write(batch)
                self.batches += 1
                self.largest_batch = max(self.largest_batch, len(batch))
                for save in batch:
                    save.done = True
                    save.wake.set()
                batch = []
        except BaseException as error:  # the leader's thread dies: fail what it took
            for save in batch:
                if not save.done:
                    save.error, save.done = error, True
                    save.wake.set()
            raise
        finally:
            with self._queue_lock:
                if self._waiting:
                    self._waiting[0].wake.set()  # not done: it leads next
                else:
                    self._leading = False

    def _take(self) -> list[_Save]:
        """The waiting saves that may share a transaction, in queue order; the rest wait, and
        so does any save behind them on one of their aggregates or upstreams (first come, first
        written, per aggregate)."""
        batch: list[_Save] = []
        rest: list[_Save] = []
        aggregates: set[Any] = set()  # in the batch or held back
        upstreams: set[str | None] = set()
        events = 0
        for save in self._waiting:
            upstream = save.tracking.application_name if save.tracking else None
            if (
                (batch and events + len(save.events) > MAX_BATCH_EVENTS)
                or not aggregates.isdisjoint(save.aggregates)
                or (upstream is not None and upstream in upstreams)
            ):
                rest.append(save)
            else:
                batch.append(save)
                events += len(save.events)
            aggregates |= save.aggregates
            upstreams.add(upstream)
        self._waiting = rest
        return batch

    def _write(self, batch: list[_Save]) -> None:
        """Everything in one transaction; if one save is refused (a clash, a value the table
        will not take), again with one savepoint per save, so only that one fails."""
        try:
            ids = self._write_together(batch)
        except (InterfaceError, OperationalError) as error:  # the store failed: every save did
            for save in batch:
                save.error = error
            return
        except (IntegrityError, DataError) as error:
            if len(batch) == 1:
                batch[0].error = error
                return
        except Exception as error:  # anything else: no save of the batch was written
            for save in batch:
                save.error = error
            return
        else:
            start = 0
            for save in batch:
                save.ids = ids[start : start + len(save.events)]
                start += len(save.events)
            return
        try:
            self._write_one_by_one(batch)
        except Exception as error:  # the transaction did not commit: nothing of it was written
            for save in batch:
                save.ids, save.error = None, error

    @fail_fast
    def _write_together(self, batch: list[_Save]) -> list[int]:
        """One transaction, pipelined as eventsourcing pipelines its own: one round trip for
        the lock, the `NOTIFY`, the positions and the insert, then the commit."""
        events = [e for save in batch for e in save.events]
        failed: Exception | None = None
        ids: list[int] = []
        with self.datastore.get_connection() as conn:
            with conn.pipeline() as pipeline, conn.transaction():
                with conn.cursor() as curs:
                    self._lock_table(curs)
                    self._notify_channel(curs)
                    for save in batch:
                        if save.tracking is not None:
                            self._insert_tracking(curs, save.tracking)
                with conn.cursor() as curs:
                    try:
                        self._insert_rows(curs, events)
                        pipeline.sync()  # a clash raises here, not later at the commit
                        ids = [row["notification_id"] for row in curs.fetchall()]
                    except Exception as error:  # raised once the pipeline is closed
                        failed = error
            if failed is not None:
                raise failed
        return ids

    def _write_one_by_one(self, batch: list[_Save]) -> None:
        with self.datastore.get_connection() as conn, conn.transaction():
            with conn.cursor() as curs:
                self._lock_table(curs)
                self._notify_channel(curs)
            for save in batch:
                try:
                    with conn.transaction(), conn.cursor() as curs:  # a savepoint
                        if save.tracking is not None:
                            self._insert_tracking(curs, save.tracking)
                        self._insert_rows(curs, save.events)
                        save.ids = [row["notification_id"] for row in curs.fetchall()]
                except (psycopg.IntegrityError, IntegrityError) as error:
                    save.ids, save.error = None, IntegrityError(str(error))
                except (psycopg.DataError, DataError) as error:  # this save's values only
                    save.ids, save.error = None, DataError(str(error))

    def _insert_rows(self, curs: Any, events: Sequence[StoredEvent]) -> None:
        """eventsourcing's own insert statement (`RETURNING notification_id`), for many saves."""
        rows = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in events
        ]
        curs.execute(query=self.insert_events_statement, params=(rows,))
