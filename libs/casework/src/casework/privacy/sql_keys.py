"""Data keys in a table beside the events, SQLite or PostgreSQL: `casework_person_keys`.

One row per data key: its id, whose it is, the key wrapped by the master key, when it was made
and when it was destroyed. Destroying clears the wrapped key and stamps the time; the row stays
as the record that (and when) the person's data was erased, holding nothing secret. On SQLite
the overwrite is made with `secure_delete` on and the write-ahead log is truncated after it, so
the old wrapped key does not linger in free pages of the file; on PostgreSQL the old row
version lingers until VACUUM (autovacuum, or `VACUUM casework_person_keys` after an erasure).

Why a table in the store (as `casework.idempotency` keeps its records): any replica of any
service reaches the same keys through the pool it already has, and a backup of the store is a
backup of the keys (without the master key, which is kept apart, they are useless).

Unwrapped keys are kept in memory for `CACHE_SECONDS`, so a command pays no extra query for a
person it has just seen. The cost: another process that erases a person is noticed here within
that time; until then this process may still open their values for a reader, and a value it
seals under the destroyed key in that window is erased with the rest (it reads `[erased]`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import PersistenceError

from casework.privacy.envelope import KEY_BYTES, new_key_id
from casework.privacy.keys import DataKey, Destroyed
from casework.privacy.master import MasterKey
from casework.side_tables import Beside, create_tables, dialect, open_block

TABLE = "casework_person_keys"
CACHE_SECONDS = 5.0
"""How long an unwrapped key (or the fact that one was destroyed) is trusted without asking; a
key found missing is asked for again each time (a sealed value is stored with its key, so that
is a damaged store, and a kept "missing" once made a race's damage outlast the race)."""

_Found = DataKey | Destroyed | None


class SqlKeyStore:
    """Data keys of one store, through its eventsourcing datastore (SQLite or PostgreSQL)."""

    def __init__(
        self,
        datastore: Any,
        master: MasterKey | Callable[[], MasterKey],
        *,
        read_only: bool = False,
        now: Callable[[], float] = time.time,
        cache_seconds: float = CACHE_SECONDS,
        random_bytes: Callable[[int], bytes] | None = None,
    ) -> None:
        self.datastore = datastore
        self._master = master
        self.read_only = read_only
        self.now = now
        self.cache_seconds = cache_seconds
        sql = dialect(datastore, "key store")
        self.table = sql.table(TABLE)
        self.mark = sql.mark
        self.blob = sql.blob
        self.real = sql.real
        self.sqlite = not sql.postgres
        self._random = random_bytes or os.urandom
        self._made = False
        self._lock = threading.Lock()
        self._live: dict[str, tuple[DataKey, float]] = {}
        self._by_id: dict[str, tuple[_Found, float]] = {}

    @property
    def master(self) -> MasterKey:
        """The master key, loaded when first needed (a store that never seals anything never
        makes a key file)."""
        if not isinstance(self._master, MasterKey):
            self._master = self._master()
        return self._master

    # ------------------------------------------------------------------ KeyStore

    def key_for(self, subject: str) -> DataKey:
        cached = self._live.get(subject)
        if cached is not None and self.now() - cached[1] < self.cache_seconds:
            return cached[0]
        block = open_block()
        if block is not None and block.datastore is self.datastore:
            return self._key_in(block, subject)
        self._make_table()
        m = self.mark
        made = DataKey(new_key_id(), subject, self._random(KEY_BYTES))
        wrapped = self.master.wrap(made.key_id, subject, made.secret)
        with self.datastore.transaction(commit=True) as cursor:
            # Write first, read after: on SQLite a transaction that reads and then writes fails
            # at once with "database is locked" when another connection committed in between
            # (its snapshot is stale; the busy timeout does not apply), which under load turned
            # one report in ten into a 503. An INSERT first waits for the lock as it should.
            cursor.execute(
                f"INSERT INTO {self.table} (key_id, subject, wrapped, created_at) "
                f"SELECT {m}, {m}, {m}, {m} WHERE NOT EXISTS (SELECT 1 FROM {self.table} "
                f"WHERE subject = {m} AND destroyed_at IS NULL)",
                (made.key_id, subject, wrapped, self.now(), subject),
            )
            cursor.execute(
                f"SELECT key_id, wrapped FROM {self.table} WHERE subject = {m} "
                "AND destroyed_at IS NULL ORDER BY created_at, key_id LIMIT 1",
                (subject,),
            )
            row = cursor.fetchone()
        if row is None or row["key_id"] == made.key_id:
            key = made
        else:
            key = DataKey(
                row["key_id"],
                subject,
                self.master.unwrap(row["key_id"], subject, bytes(row["wrapped"])),
            )
        stamp = self.now()
        self._live[subject] = (key, stamp)
        self._by_id[key.key_id] = (key, stamp)
        return key

    def _key_in(self, block: Beside, subject: str) -> DataKey:
        """`key_for` inside a block that commits in one transaction (`CaseStore.together`):
        the person's live key if they have one; else a new key, written by the block with the
        events it seals (a side write), kept here only once the block has committed. A block
        that fails leaves no key behind, and a first report is one commit, not two (issue 16).

        Two blocks making a key for the same new person at once (two replicas) both write
        theirs: each seals under its own, both are stored, `key_for` answers the older and an
        erasure destroys every live one — as two racing `key_for`s on PostgreSQL could before.
        Never a key the store lacks: the key is written if and only if what it sealed is."""
        made: DataKey | None = block.made.get((id(self), "subject", subject))
        if made is not None:
            return made
        self._make_table()
        found = self._live_key(subject)
        if found is not None:
            self._remember(found)
            return found
        made = DataKey(new_key_id(), subject, self._random(KEY_BYTES))
        m = self.mark
        row = (
            made.key_id,
            subject,
            self.master.wrap(made.key_id, subject, made.secret),
            self.now(),
        )

        def write(cursor: Any) -> None:
            cursor.execute(
                f"INSERT INTO {self.table} (key_id, subject, wrapped, created_at) "
                f"VALUES ({m}, {m}, {m}, {m})",
                row,
            )

        block.also(write)
        block.made[(id(self), "subject", subject)] = made
        block.made[(id(self), "key", made.key_id)] = made
        block.after_commit(lambda: self._remember(made))
        return made

    def _live_key(self, subject: str) -> DataKey | None:
        """The person's live key as stored (the oldest, if a race left two), read only."""
        m = self.mark
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT key_id, wrapped FROM {self.table} WHERE subject = {m} "
                "AND destroyed_at IS NULL ORDER BY created_at, key_id LIMIT 1",
                (subject,),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        key_id = row["key_id"]
        return DataKey(key_id, subject, self.master.unwrap(key_id, subject, bytes(row["wrapped"])))

    def _remember(self, key: DataKey) -> None:
        stamp = self.now()
        self._live[key.subject] = (key, stamp)
        self._by_id[key.key_id] = (key, stamp)

    def key(self, key_id: str) -> DataKey | Destroyed | None:
        block = open_block()
        if block is not None:  # a key the open block made, not stored until it commits
            made: DataKey | None = block.made.get((id(self), "key", key_id))
            if made is not None:
                return made
        cached = self._by_id.get(key_id)
        if cached is not None and self.now() - cached[1] < self.cache_seconds:
            return cached[0]
        found = self._read_key(key_id)
        if found is not None:  # "no such key" is not kept: asked again, it may be there then
            self._by_id[key_id] = (found, self.now())
        return found

    def destroy(self, subject: str, at: datetime) -> datetime:
        self._make_table()
        m = self.mark
        stamp = at.timestamp()
        with self.datastore.transaction(commit=True) as cursor:
            if self.sqlite:
                cursor.execute("PRAGMA secure_delete = ON")
            cursor.execute(
                f"UPDATE {self.table} SET wrapped = NULL, destroyed_at = {m} "
                f"WHERE subject = {m} AND destroyed_at IS NULL",
                (stamp, subject),
            )
            cursor.execute(
                f"SELECT MAX(destroyed_at) AS last FROM {self.table} WHERE subject = {m}",
                (subject,),
            )
            row = cursor.fetchone()
            last = row["last"] if row is not None else None
            if last is None:  # nothing was ever sealed for them: record the erasure anyway
                cursor.execute(
                    f"INSERT INTO {self.table} (key_id, subject, wrapped, created_at, "
                    f"destroyed_at) VALUES ({m}, {m}, NULL, {m}, {m})",
                    (new_key_id(), subject, stamp, stamp),
                )
                last = stamp
        if self.sqlite:
            self._truncate_wal()
        self._forget(subject)
        return _moment(float(last))

    def erased_at(self, subject: str) -> datetime | None:
        rows = self._select(
            f"SELECT MAX(destroyed_at) AS last FROM {self.table} WHERE subject = {self.mark}",
            (subject,),
        )
        last = rows[0]["last"] if rows else None
        return None if last is None else _moment(float(last))

    # ------------------------------------------------------------------ housekeeping

    def _read_key(self, key_id: str) -> _Found:
        rows = self._select(
            f"SELECT subject, wrapped, destroyed_at FROM {self.table} WHERE key_id = {self.mark}",
            (key_id,),
        )
        if not rows:
            return None
        row = rows[0]
        subject = str(row["subject"])
        if row["destroyed_at"] is not None or row["wrapped"] is None:
            return Destroyed(key_id, subject, _moment(float(row["destroyed_at"])))
        return DataKey(key_id, subject, self.master.unwrap(key_id, subject, bytes(row["wrapped"])))

    def _select(self, statement: str, parameters: tuple[Any, ...]) -> list[Any]:
        """Rows of a read; none from a store that has no key table (made before issue 11, or
        opened read-only before anything personal was sealed)."""
        if not self.read_only:
            self._make_table()
        try:
            with self.datastore.transaction(commit=False) as cursor:
                cursor.execute(statement, parameters)
                return list(cursor.fetchall())
        except PersistenceError as error:
            if self.read_only and _no_table(error):
                return []
            raise

    def _forget(self, subject: str) -> None:
        self._live.pop(subject, None)
        for key_id, (found, _) in list(self._by_id.items()):
            if found is not None and found.subject == subject:
                del self._by_id[key_id]

    def _truncate_wal(self) -> None:
        """Empty the write-ahead log, which still holds the page with the old wrapped key."""
        try:
            with self.datastore.get_connection(commit=False) as connection:
                connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except PersistenceError:  # a reader holds the log open: it is reset at the next chance
            pass

    def _make_table(self) -> None:
        if self._made:
            return
        with self._lock:
            if self._made:
                return
            statements = [
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                "key_id TEXT PRIMARY KEY, subject TEXT NOT NULL, "
                f"wrapped {self.blob}, created_at {self.real} NOT NULL, "
                f"destroyed_at {self.real})",
                f"CREATE INDEX IF NOT EXISTS {TABLE}_subject ON {self.table} (subject)",
            ]
            create_tables(self.datastore, statements)
            self._made = True


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _no_table(error: BaseException) -> bool:
    text = f"{error} {error.__cause__ or ''}".lower()
    return "no such table" in text or "does not exist" in text
