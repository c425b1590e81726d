"""Writers to one SQLite file take turns through a lock the kernel hands on at once.

Why: the services (intake, dispatch, the notary) write to the store's file from separate
processes. SQLite lets one write at a time, and a writer that finds the file locked waits in
its busy handler, which sleeps 1, 2, 5, 10, 15, 20, 25, … ms between tries whatever the holder
does: a commit that takes 1 ms can cost the next writer 8, 18 or 33 ms. On the 2-core box at 20
reports/s that was about 12 ms of such sleeps per report, in the tail of report → `Assigned`
(issue 16; `perf trace` counted the sleeps). Here a writer first takes an exclusive `flock` on
a file beside the store (`<store>-writers`) and gives it back after its commit: a waiter is
woken by the kernel the moment the lock is given, and it then finds SQLite's lock free.

What it is not: the guard of anything. SQLite's own locking still decides who writes (a CLI
command of an older version, or a tool, writes without taking a turn and is waited for as
before); durability and isolation are unchanged. So a turn that does not come within SQLite's
lock timeout (`CASEWORK_SQLITE_LOCK_TIMEOUT`) is not an error: the writer goes on without it and
SQLite's busy handler decides, as before (a writer that hangs holding its turn delays the others
by that timeout, then SQLite's own wait applies; it never stops them). A thread blocked in
`flock` cannot be timed out, so a writer that finds the turn taken waits for a helper thread
that blocks there for it, and a turn the helper gets after its writer gave up is given straight
back.

Within a process the pool already lets one writer at a time (eventsourcing's writer lock); each
pool opens the file anew, so two pools on one file (two applications in a process) take turns
too (`flock` locks belong to the open file, not the process). The lock goes with the process:
one killed while holding it frees it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from pathlib import Path
from typing import Any

from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteConnection,
    SQLiteConnectionPool,
)

__all__ = ["TurnTakingPool", "WriterTurns", "take_turns"]

SUFFIX = "-writers"


class WriterTurns:
    """An exclusive turn among writers to one SQLite file (`flock` on `<file>-writers`)."""

    def __init__(self, store: Path) -> None:
        self.path = store.with_name(store.name + SUFFIX)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._state = threading.Condition()
        self._held = False
        self._wanted = False
        """A writer waits for the turn now (False once it gave up: a late turn is given back)."""
        self._waiting = False
        """A helper thread is blocked in `flock`."""

    def take(self, timeout: float) -> bool:
        """Wait for the turn, at most `timeout` seconds; whether it came. One caller at a time
        (the pool's writer lock)."""
        with self._state:
            if self._held:  # pragma: no cover - the pool gives one writer at a time
                return True
            if self._fd < 0:  # closed (the pool closing under a late writer): SQLite alone
                return False
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            except OSError:  # closed: SQLite's busy handler alone
                return False
            else:
                self._held = True
                return True
            self._wanted = True
            if not self._waiting:
                # its own number for the same open file (the turn is the open file's), so that
                # a close meanwhile cannot leave it the number of a file opened since
                try:
                    mine = os.dup(self._fd)
                except OSError:  # out of file numbers: SQLite's busy handler alone, as before
                    self._wanted = False
                    return False
                try:
                    threading.Thread(
                        target=self._wait, args=(mine,), name="sqlite-turn", daemon=True
                    ).start()
                except RuntimeError:  # no thread: the copy would hold the turn past `close`
                    os.close(mine)
                    raise
                self._waiting = True
            self._state.wait_for(lambda: self._held or self._fd < 0, timeout)
            self._wanted = False
            return self._held

    def _wait(self, mine: int) -> None:
        """In a helper thread: block until the turn comes; keep it for the writer waiting, or
        give it back if it gave up meanwhile. `mine` is a duplicate of the file's number, the
        helper's to close: the turn stays with the open file while `_fd` is open, and goes
        with the last of the two numbers once `close` has closed `_fd`."""
        try:
            try:
                fcntl.flock(mine, fcntl.LOCK_EX)
            except OSError:  # pragma: no cover - a number of our own, open until below
                with self._state:
                    self._waiting = False
                return
            with self._state:
                self._waiting = False
                if self._held or self._fd < 0:  # a writer took it through this same open
                    return  # file meanwhile, or it was closed (closing `mine` gives it back)
                if self._wanted:
                    self._held = True
                    self._state.notify_all()
                else:
                    fcntl.flock(mine, fcntl.LOCK_UN)
        finally:
            os.close(mine)

    def give(self) -> None:
        """Give the turn back (after the commit or the rollback); nothing if not held."""
        with self._state:
            if self._held:
                self._held = False
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close the file (once: a pool is closed again when collected, and the number may be
        another file's by then)."""
        with self._state:
            fd, self._fd, self._held = self._fd, -1, False
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._state.notify_all()  # a writer waiting for a turn goes on without one


class TurnTakingPool(SQLiteConnectionPool):
    """eventsourcing's SQLite pool whose writers take a turn (`WriterTurns`) before their
    transaction and give it back when they return the connection (`take_turns` makes one)."""

    turns: WriterTurns

    def get_connection(
        self, timeout: float | None = None, *, is_writer: bool | None = None
    ) -> SQLiteConnection:
        conn = super().get_connection(timeout, is_writer=is_writer)
        if is_writer is True:
            try:
                self.turns.take(self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT)
            except BaseException:
                super().put_connection(conn)
                raise
        return conn

    def put_connection(self, conn: SQLiteConnection) -> None:
        # The turn before the pool's writer lock: the next writer of this process must not take
        # it while this one still counts as holding it.
        if conn.is_writer is True:
            self.turns.give()
        super().put_connection(conn)

    def close(self) -> None:
        super().close()
        self.turns.close()


def take_turns(datastore: Any) -> None:
    """Make the writers of an eventsourcing SQLite datastore on a file take turns; nothing for
    an in-memory or read-only one, or a pool that takes turns already."""
    pool = getattr(datastore, "pool", None)
    if type(pool) is not SQLiteConnectionPool or pool.is_sqlite_memory_mode:
        return
    store = _file_of(pool.db_name)
    if store is None:
        return
    try:
        turns = WriterTurns(store)
    except OSError:  # a read-only folder, say: SQLite's busy handler alone, as before
        return
    turning: Any = pool
    turning.__class__ = TurnTakingPool  # the same state; only the methods above added
    turning.turns = turns


def _file_of(db_name: str) -> Path | None:
    """The file of a SQLite name eventsourcing connects to (a path or a `file:` URI); None for
    a read-only URI (it never writes)."""
    if db_name.startswith("file:"):
        path, _, query = db_name.removeprefix("file:").partition("?")
        if "mode=ro" in query or not path:
            return None
        from urllib.parse import unquote

        return Path(unquote(path))
    return Path(db_name)
