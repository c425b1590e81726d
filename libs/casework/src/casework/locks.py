"""One relay publishes at a time: the others stand by and take over when it dies.

Core, not `casework.messaging`: it needs no nats-py (psycopg only for the advisory lock, imported
where used), and the notary, which is core (docs/adr/016), stands by on it with no NATS at all.
`casework.messaging.relay_lock` names the same objects, for the code that imported them there.

The same lock, under another name, chooses the one notary that appends to the transparency
log (`lock_for(store, "notary")`: its own advisory key, `<store file>.notary-lock`).

Two or more `casework relay` processes may run (for availability). Each must hold the lock to
publish; the one that holds it is active, the rest poll for it every `poll` seconds:

- **PostgreSQL** store: a session-level advisory lock (`pg_try_advisory_lock`) held on a
  connection of its own, opened for nothing else. PostgreSQL frees it the moment that session
  ends: the active relay's exit, crash or SIGKILL closes its socket, the server ends the session,
  and a standby's next try wins, within about `poll` seconds. The active relay checks its lock
  connection every `check` seconds; if the connection is gone (PostgreSQL restarted, the network
  cut) the lock may be someone else's already, so it stops publishing at once and stands by
  again. A standby that cannot reach PostgreSQL keeps trying (logged once).
- **SQLite** store: an exclusive `flock` on `<store file>.relay-lock`, which the kernel frees
  when the holder's process ends however it ends. A SQLite store is one machine's, so a lock on
  that machine is enough; a second relay is a standby, as on PostgreSQL.
- any other store (`:memory:`): no lock; one relay, the only one that can see that store.

The lock is an efficiency and an ordering guarantee, not the exactly-once one: a relay that is
slow to notice its lost lock overlaps the new active one for at most `check` seconds, and what
both publish then carries the same `Nats-Msg-Id`, which the stream's duplicate window drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from casework.outages import STORE_DOWN

if TYPE_CHECKING:  # imported when used: a relay on SQLite needs no casework[postgres]
    import psycopg

log = logging.getLogger(__name__)


def advisory_key(database: str, schema: str, purpose: str = "relay") -> int:
    """The advisory lock's key (a non-negative bigint) for the store in `schema` of `database`.

    Advisory locks are per database, not per schema: a constant key would let the relays of two
    stores in different schemas of one database hold each other up. So the key is a stable
    63-bit hash of both names: the same in every relay of one store, different between stores.
    `purpose` keeps parts apart: the notaries (`notary`) take a lock of their own, so the active
    notary and the active relay are chosen independently.
    """
    digest = hashlib.sha256(f"casework-{purpose}\0{database}\0{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _psycopg_error() -> tuple[type[BaseException], ...]:
    try:
        import psycopg
    except ImportError:  # no casework[postgres]: no advisory lock, no psycopg error
        return ()
    return (psycopg.Error,)


LOCK_GONE: tuple[type[BaseException], ...] = (TimeoutError, *_psycopg_error(), *STORE_DOWN)
UNREACHABLE: tuple[type[BaseException], ...] = (OSError, *STORE_DOWN)


class Lock(Protocol):
    lost: asyncio.Event
    """Set when the lock was held and is no more (the relay must stop publishing)."""

    def describe(self) -> str: ...

    async def try_acquire(self) -> bool: ...

    async def watch(self, check: float) -> None: ...

    async def release(self) -> None: ...


class NoLock:
    def __init__(self) -> None:
        self.lost = asyncio.Event()

    def describe(self) -> str:
        return "no lock (an in-memory store has one relay)"

    async def try_acquire(self) -> bool:
        return True

    async def watch(self, check: float) -> None:
        await asyncio.Event().wait()

    async def release(self) -> None:
        return None


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lost = asyncio.Event()
        self._fd: int | None = None

    def describe(self) -> str:
        return f"file lock {self.path}"

    async def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def watch(self, check: float) -> None:
        await asyncio.Event().wait()  # the kernel holds it until this process ends

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor frees the flock


class AdvisoryLock:
    def __init__(self, conninfo: str, key: int, purpose: str = "relay") -> None:
        self.conninfo = conninfo
        self.key = key
        self.purpose = purpose
        self.lost = asyncio.Event()
        self._conn: psycopg.AsyncConnection[Any] | None = None

    def describe(self) -> str:
        return f"PostgreSQL advisory lock {self.key}"

    async def try_acquire(self) -> bool:
        if self._conn is None or self._conn.closed:
            import psycopg

            self._conn = await psycopg.AsyncConnection.connect(
                self.conninfo,
                autocommit=True,
                connect_timeout=3,
                application_name=f"{self.purpose}-lock",
            )
        cursor = await self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))
        row = await cursor.fetchone()
        return bool(row and row[0])

    async def watch(self, check: float) -> None:
        """Return (with `lost` set) once the lock's session is gone."""
        assert self._conn is not None
        while True:
            await asyncio.sleep(check)
            try:
                await asyncio.wait_for(self._conn.execute("SELECT 1"), check * 2)
            except LOCK_GONE as error:
                log.warning("%s: lost the lock's connection (%s)", self.purpose, error)
                self.lost.set()
                await self._close()
                return

    async def release(self) -> None:
        await self._close()  # ending the session frees its advisory locks

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()


def lock_for(store: str, purpose: str = "relay") -> Lock:
    """The lock the relays (or, with `purpose="notary"`, the notaries) of `store` (a
    `CASEWORK_STORE` URL) share: a different advisory key, a different file, per purpose."""
    if store.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(store)
        # casework's own query keys (pool_size, schema, …) mean nothing to libpq.
        schema = (parse_qs(parts.query).get("schema") or ["public"])[-1] or "public"
        key = advisory_key(unquote(parts.path.lstrip("/")), schema, purpose)
        conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        return AdvisoryLock(conninfo, key, purpose)
    if store.startswith("sqlite:///") and store != "sqlite:///:memory:":
        return FileLock(Path(store.removeprefix("sqlite:///") + f".{purpose}-lock"))
    return NoLock()


async def hold(lock: Lock, stop: asyncio.Event, poll: float = 0.5, who: str = "relay") -> bool:
    """Wait until `lock` is ours (True) or `stop` is set (False), saying once that we stand by."""
    said = False
    while not stop.is_set():
        try:
            if await lock.try_acquire():
                log.info("%s: active (holding the %s)", who, lock.describe())
                return True
            if not said:
                log.info("%s: standing by: another %s holds the %s", who, who, lock.describe())
                said = True
        except UNREACHABLE as error:
            if not said:
                log.warning("%s: standing by: cannot reach the lock (%s)", who, error)
                said = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll)
    return False
