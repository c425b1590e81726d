"""Following the store's notification log on a background thread.

Hand-written, not eventsourcing's `ProjectionRunner`: that needs subscriptions, which its SQLite
recorder (our default store) lacks, and it ends at the first outage or undecodable event
(docs/adr/010).

A service without NATS (the embedded default) keeps its read models and reactions current by
polling the log. The loop never dies of one failure: it lets the follower forget what it cached
and tries again from the last position the follower recorded. An unreachable store is an outage
(`casework.outages.repeat`): logged once when it starts and once when it ends, retried with a
capped, jittered backoff meanwhile; any other failure is logged with its traceback each time.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Protocol

from casework.logs import describe
from casework.outages import OUTAGES, Outages, repeat
from casework.sqlite_changes import SqliteChanges

log = logging.getLogger("casework.projections")


class Poller:
    """Calls `catch_up` every `poll_seconds` on a daemon thread until `stop`."""

    thread_name = "casework-feed"
    stop_timeout = 10.0
    """Seconds `stop` waits for the thread; one still in a round then closes its store
    connections itself when it ends."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._changes: SqliteChanges | None = None
        self.outages = Outages(self.thread_name, log)

    def catch_up(self) -> int:
        """Apply everything recorded since the last call; how many events mattered."""
        raise NotImplementedError

    def forget(self) -> None:
        """After a failure: drop anything cached, so the next poll starts from what is recorded."""

    def change_signal(self) -> SqliteChanges | None:
        """What to wake on between rounds besides the poll interval (None: nothing). A follower
        of a SQLite store returns `SqliteChanges.of(app)` to catch up within milliseconds of a
        commit; this base class does not, so pollers on a cadence (the notary) keep it."""
        return None

    def start(self, poll_seconds: float) -> None:
        self._changes = self.change_signal()
        self._thread = threading.Thread(
            target=self._run, args=(poll_seconds,), name=self.thread_name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.stop_timeout)

    def _run(self, poll_seconds: float) -> None:
        changes = self._changes
        try:
            repeat(
                self.catch_up,
                poll_seconds,
                self._stop,
                self.outages,
                on_error=self.forget,
                wait=None if changes is None else lambda s: changes.wait_sync(s, self._stop),
            )
        finally:  # the signal's connection and inotify fd end with the thread, however late
            if changes is not None:
                changes.close()


class CatchesUp(Protocol):
    """What `catch_up_after_write` needs: a `Poller`, or a read model kept in memory."""

    def catch_up(self) -> int: ...

    def forget(self) -> None: ...


def catch_up_after_write(feed: CatchesUp, logger: logging.Logger | None = None) -> bool:
    """Bring the read models up to a write that is already stored, without failing the write.

    Called by a request after its write was recorded, so the writer's next read shows it. If the
    store or the read model fails right then, the request must still succeed: failing it would
    tell the client to retry (and release its Idempotency-Key) for a write that is done. The
    failure is logged (one line for an outage or a busy read model, a traceback otherwise) and
    the poller applies the write on its next round. Returns whether the catch-up worked.
    """
    try:
        feed.catch_up()
    except Exception as error:
        feed.forget()
        said = logger or log
        busy = isinstance(error, (sqlite3.OperationalError, *OUTAGES))
        if busy:
            said.warning(
                "read model not caught up after a write (the poller will): %s", describe(error)
            )
        else:
            said.exception("read model not caught up after a write (the poller will)")
        return False
    return True
