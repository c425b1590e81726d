"""A cheap "something was committed" signal for a SQLite store, so a follower on the same machine
wakes within milliseconds of a write instead of a poll interval later.

Chosen: `PRAGMA data_version` on a connection of our own, asked every `tick` seconds while the
follower is idle — exact (it changes on every commit by any other connection or process, where a
file's mtime has coarse ticks and can miss a second commit within one), and it needs nothing from
the writers (a service, a CLI command, another process). In WAL mode (eventsourcing's for a file
store) asking reads the shared-memory index and costs a few microseconds; a busy or locked file
counts as "changed", so the worst a hiccup does is one needless read.

The relay (`casework.messaging.relay`) and the store feeds (`casework.messaging.store_feed`)
wait on it between rounds. The follower's polling stays as the fallback (and covers in-memory
stores, which have no other connection to see). PostgreSQL keeps LISTEN/NOTIFY
(`casework.messaging.relay.PostgresWaker`).

Use: ask `changed()` (or `wait`) only before reading the store, never after — the version is
recorded when asked, so any commit after the last question shows at the next one.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from typing import Any

TICK = 0.002
"""Seconds between two questions while idle: about 500 a second, a few ms of CPU per second."""


class SqliteChanges:
    """Whether another connection committed to the SQLite file since the last question."""

    def __init__(self, db_name: str, tick: float = TICK) -> None:
        self.tick = tick
        self._conn = sqlite3.connect(
            db_name, uri=True, check_same_thread=False, isolation_level=None, timeout=0
        )
        self._version = self._ask()

    @classmethod
    def of(cls, app: Any, tick: float = TICK) -> SqliteChanges | None:
        """The signal for an application whose recorder is eventsourcing's SQLite on a file;
        None otherwise (PostgreSQL, an in-memory store)."""
        pool = getattr(getattr(getattr(app, "recorder", None), "datastore", None), "pool", None)
        db_name = getattr(pool, "db_name", None)
        if not isinstance(db_name, str) or getattr(pool, "is_sqlite_memory_mode", True):
            return None
        try:
            return cls(db_name, tick)
        except sqlite3.Error:
            return None

    def _ask(self) -> int | None:
        try:
            row = self._conn.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:  # locked, busy, gone: say "changed" and let the reader find out
            return None
        return int(row[0])

    def changed(self) -> bool:
        """True if a commit by another connection happened since the last call (or construction);
        also True when SQLite could not be asked."""
        version = self._ask()
        changed = version is None or version != self._version
        self._version = version
        return changed

    async def wait(self, timeout: float, *stops: asyncio.Event) -> bool:
        """Return True as soon as a commit shows, False after `timeout` or when a stop is set."""
        deadline = time.monotonic() + timeout
        while not self.changed():
            if any(stop.is_set() for stop in stops) or time.monotonic() >= deadline:
                return False
            await asyncio.sleep(self.tick)
        return True

    def wait_sync(self, timeout: float, stop: threading.Event) -> bool:
        """`wait` for a thread (a read-model follower's)."""
        deadline = time.monotonic() + timeout
        while not self.changed():
            if stop.wait(self.tick) or time.monotonic() >= deadline:
                return False
        return True

    def close(self) -> None:
        self._conn.close()
