"""A cheap "something was committed" signal for a SQLite store, so a follower on the same machine
wakes within milliseconds of a write instead of a poll interval later.

Chosen: `PRAGMA data_version` on a connection of our own says whether a commit happened — exact
(it changes on every commit by any other connection or process, where a file's mtime has coarse
ticks and can miss a second commit within one), and it needs nothing from the writers (a
service, a CLI command, another process); a few microseconds a question in WAL mode. When to
ask: on Linux, when inotify (`inotify_simple`) says the store's file or its `-wal` was written,
so an idle follower costs nothing; elsewhere, or if inotify cannot watch, every `tick` seconds
(a 2 ms timer costs a few per cent of a core, hence inotify where there is one; falling back to
it is logged once a process, as a warning naming the limit, usually the per-user number of
inotify instances). A busy or locked file counts as "changed", so the worst a hiccup does is one
needless read.

The relay (`casework.messaging.relay`) and the store feeds (`casework.messaging.store_feed`)
wait on it between rounds. The follower's polling stays as the fallback (and covers in-memory
stores, which have no other connection to see). PostgreSQL keeps LISTEN/NOTIFY
(`casework.messaging.relay.PostgresWaker`).

Use: ask `changed()` (or `wait`) only before reading the store, never after — the version is
recorded when asked, so any commit after the last question shows at the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import select
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

log = logging.getLogger(__name__)

INotify: Any
flags: Any
try:  # Linux only; elsewhere the follower asks every tick
    from inotify_simple import INotify, flags  # type: ignore[import-untyped,no-redef]
except (ImportError, OSError):  # pragma: no cover - not on Linux
    INotify = None

TICK = 0.002
"""Seconds between two questions while idle, without inotify."""
SLICE = 0.1
"""How often a thread waiting on inotify looks at its stop event."""
SETTLING = 0.2
"""After a write to the file, ask every tick for this long before blocking on inotify again: a
writer appends its commit to the `-wal` before it updates the shared index `data_version`
reads (a memory map, which inotify does not see), so the write that wakes a follower can come
a moment before the commit shows."""


class _Watch:
    """inotify on the store's file and its `-wal` (and on the folder, for a `-wal` made anew)."""

    def __init__(self, path: Path) -> None:
        self.wal = path.parent / f"{path.name}-wal"
        self.notify: Any = INotify(nonblocking=True)
        try:
            self.folder = self.notify.add_watch(str(path.parent), flags.CREATE | flags.MOVED_TO)
            self.notify.add_watch(str(path), flags.MODIFY)
            self._watch_wal()
        except OSError:
            self.notify.close()
            raise

    def _watch_wal(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.notify.add_watch(str(self.wal), flags.MODIFY)

    def fileno(self) -> int:
        return int(self.notify.fileno())

    def drain(self) -> bool:
        """Read what is pending (never blocks), watch a `-wal` made anew; whether there was any."""
        try:
            events = self.notify.read(timeout=0)
        except BlockingIOError:  # FIONREAD said bytes were there, another reader took them
            return True
        for event in events:
            if event.wd == self.folder and event.name == self.wal.name:
                self._watch_wal()
        return bool(events)

    def close(self) -> None:
        self.notify.close()


_warned = threading.Event()


def _warn_no_inotify(path: Path, error: OSError) -> None:
    """Say once a process that a follower asks on a timer, and which limit to raise."""
    if _warned.is_set():
        return
    _warned.set()
    limit = (
        "/proc/sys/fs/inotify/max_user_watches"
        if error.errno == errno.ENOSPC
        else "/proc/sys/fs/inotify/max_user_instances"
    )
    log.warning(
        "cannot watch %s with inotify (%s); followers of this store ask SQLite every %.0f ms "
        "instead (a few per cent of a core each): raise %s",
        path,
        error,
        TICK * 1000,
        limit,
    )


def _settle(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_result(None)


def _file_of(db_name: str) -> Path | None:
    if db_name.startswith("file:"):
        path = urlparse(db_name).path
        return Path(path) if path else None
    return Path(db_name)


class SqliteChanges:
    """Whether another connection committed to the SQLite file since the last question."""

    def __init__(self, db_name: str, tick: float = TICK) -> None:
        self.tick = tick
        self._conn = sqlite3.connect(
            db_name, uri=True, check_same_thread=False, isolation_level=None, timeout=0
        )
        self._lock = threading.Lock()
        """One question at a time: a request thread asks beside the feed's own (the inotify
        drain and the version kept would race)."""
        self._version = self._ask()
        self._watch: _Watch | None = None
        self._written = 0.0
        """When inotify last said the file was written (monotonic seconds)."""
        path = _file_of(db_name)
        if INotify is not None and path is not None:
            try:
                self._watch = _Watch(path.resolve())
            except OSError as error:
                _warn_no_inotify(path, error)

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

    @property
    def watching(self) -> bool:
        """Whether inotify says when to ask (else a timer does)."""
        return self._watch is not None

    def _timer(self) -> bool:
        """Whether to ask on a timer now (no inotify, or a write that may not show yet)."""
        return self._watch is None or time.monotonic() - self._written < SETTLING

    def _ask(self) -> int | None:
        try:
            row = self._conn.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:  # locked, busy, gone: say "changed" and let the reader find out
            return None
        return int(row[0])

    def changed(self) -> bool:
        """True if a commit by another connection happened since the last call (or construction);
        also True when SQLite could not be asked."""
        with self._lock:
            if self._watch is not None and self._watch.drain():  # before asking: a write after
                self._written = time.monotonic()  # this makes the watch readable
            version = self._ask()
            changed = version is None or version != self._version
            self._version = version
            return changed

    def missed(self) -> None:
        """The commit last seen was not read after all (the reader failed): the next `changed`
        says True, so the waiting reader does not sleep through it."""
        with self._lock:
            self._version = None

    async def wait(self, timeout: float, *stops: asyncio.Event) -> bool:
        """Return True as soon as a commit shows, False after `timeout` or when a stop is set."""
        deadline = time.monotonic() + timeout
        loop = asyncio.get_running_loop()
        while not self.changed():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or any(stop.is_set() for stop in stops):
                return False
            if self._timer() or self._watch is None:
                await asyncio.sleep(min(self.tick, remaining))
                continue
            readable: asyncio.Future[Any] = loop.create_future()
            fd = self._watch.fileno()
            loop.add_reader(fd, _settle, readable)
            waiters: set[asyncio.Future[Any]] = {readable}
            waiters.update(asyncio.ensure_future(stop.wait()) for stop in stops)
            try:
                await asyncio.wait(waiters, timeout=remaining, return_when="FIRST_COMPLETED")
            finally:
                loop.remove_reader(fd)
                for waiter in waiters:
                    waiter.cancel()
        return True

    def wait_sync(self, timeout: float, stop: threading.Event) -> bool:
        """`wait` for a thread (a read-model follower's). Blocked on inotify, it wakes every
        `SLICE` to look at `stop`, and asks SQLite only when inotify said the file was written:
        asking on every wake-up too was most of an idle follower's CPU."""
        deadline = time.monotonic() + timeout
        ask = True
        while not (ask and self.changed()):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or stop.is_set():
                return False
            if self._timer() or self._watch is None:
                if stop.wait(min(self.tick, remaining)):
                    return False
                ask = True
                continue
            written, _, _ = select.select([self._watch.fileno()], [], [], min(SLICE, remaining))
            ask = bool(written)
        return True

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
        self._conn.close()
