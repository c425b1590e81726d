"""Idempotency records: the first answer to a request sent with an `Idempotency-Key`, kept so a
retry of that request gets the same answer instead of a second effect.

A record is claimed before the request is handled (one claimant wins, on any replica: the
table's primary key decides), finished with the answer once it succeeded, or abandoned when it
failed so that a retry may try again. A retry finds the answer (replayed), a request still in
flight (the caller answers 409), or a different request under the same key (422).

Why a table and not events: a record is bookkeeping about a delivery, not a fact about a case;
it must be claimed with an atomic insert-if-absent, read back by key, and forgotten after a day,
none of which an append-only, replayed event log is for (and nothing in a case file's history or
a projection should ever see it). It lives in the store's own database, next to the events
(`CASEWORK_STORE`, through the application's own eventsourcing datastore and its pool), so every
replica of every service answers a retry the same way; the library stays the only writer there.

Records are kept at least `KEEP` (24 h); older ones are purged now and then as claims arrive.

A kept body may hold personal values (a case's description, reporters' contacts), so it is
stored sealed (AES-256-GCM) under the store's own `SUBJECT` data key (`casework.privacy`), never
in plaintext; erasing any person destroys that key (`casework.privacy.people.erase`), so every
body kept before the erasure, in the store and its backups, no longer opens, and its replay
answers the kept status and headers without a body (docs/adr/011-personal-data.md). One key for
all bodies because a body may hold several persons' values and nothing here knows whose:
erasures are rare and records live a day.

A claim left unfinished by a process that died is taken over after `IN_FLIGHT_LEASE`.

A request whose effect is a save can do better than claim, handle, finish (three commits): it
`look`s (a read), and writes its record already finished in the transaction of its effect
(`kept`, a side write of `CaseStore.together`): one commit, and an effect is never stored
without its answer. Two such attempts at once on two replicas both find nothing; the second to
commit fails on the record's key (or its effect's) and is answered from the first's record.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from eventsourcing.application import Application

from casework.per_app import once_per_app
from casework.privacy import Destroyed, KeyStore, SealError, privacy_for
from casework.privacy.envelope import binding, parse, seal, unseal
from casework.side_tables import SideWrite, create_tables, dialect, writes_beside

TABLE = "casework_idempotency"
KEEP = 24 * 3600.0
"""Seconds a record is kept at least (the draft asks for a documented expiry; ours is a day)."""
IN_FLIGHT_LEASE = 60.0
"""Seconds after which an unfinished claim counts as abandoned (its process died mid-request,
or could not free it); far longer than a request takes (each store operation gives up within
`CASEWORK_STORE_TIMEOUT`)."""
PURGE_EVERY = 600.0
"""Seconds between purges of records older than `KEEP`, per process."""
SUBJECT = "casework-idempotency"
"""Whose data key seals kept bodies: the store's own, destroyed at every erasure."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as it was first sent: status, headers (latin-1 pairs), body bytes; the
    body None when it no longer opens (its key was destroyed by an erasure)."""

    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes | None


@dataclass(frozen=True)
class Claim:
    """What `claim` found: the caller goes ahead ("started"), replays `answer` ("replay"),
    or refuses: the first request is still in flight ("in_flight"), or the key was used for a
    different request ("mismatch")."""

    outcome: Literal["started", "replay", "in_flight", "mismatch"]
    answer: Answer | None = None


class IdempotencyRecords:
    """The records of one store, through its eventsourcing datastore (SQLite or PostgreSQL)."""

    def __init__(
        self,
        datastore: Any,
        keys: KeyStore,
        *,
        now: Callable[[], float] = time.time,
        beside_events: bool = False,
    ) -> None:
        self.datastore = datastore
        self.keys = keys
        self.now = now
        self.beside_events = beside_events
        """Whether a record can be `kept` in the transaction of a save (the store's recorder
        takes side writes: `casework.side_tables.writes_beside`)."""
        sql = dialect(datastore, "idempotency records")
        self.table = sql.table(TABLE)
        self.mark = sql.mark
        self.blob = sql.blob
        self.real = sql.real
        self._made = False
        self._lock = threading.Lock()
        self._last_purge = 0.0

    # ------------------------------------------------------------------ the protocol

    def claim(self, scope: str, key: str, fingerprint: str) -> Claim:
        """Claim `key` within `scope` for the request whose digest is `fingerprint`."""
        self._make_table()
        self._purge_now_and_then()
        m = self.mark
        for _ in range(3):  # a record may vanish between our insert and read (abandoned)
            now = self.now()
            with self.datastore.transaction(commit=True) as cursor:
                cursor.execute(
                    f"INSERT INTO {self.table} (scope, key, fingerprint, started_at) "
                    f"VALUES ({m}, {m}, {m}, {m}) ON CONFLICT (scope, key) DO NOTHING",
                    (scope, key, fingerprint, now),
                )
                if _rowcount(cursor) == 1:
                    return Claim("started")
                cursor.execute(
                    f"SELECT fingerprint, started_at, status, headers, body FROM {self.table} "
                    f"WHERE scope = {m} AND key = {m}",
                    (scope, key),
                )
                row = cursor.fetchone()
                if row is None:
                    continue
                if row["fingerprint"] != fingerprint:
                    return Claim("mismatch")
                if row["status"] is not None:
                    headers = [(str(k), str(v)) for k, v in json.loads(row["headers"])]
                    kept = (int(row["status"]), headers, row["body"])
                    break
                if row["started_at"] > now - IN_FLIGHT_LEASE:
                    return Claim("in_flight")
                cursor.execute(  # its claimant died: take it over, unless another did first
                    f"UPDATE {self.table} SET started_at = {m} WHERE scope = {m} AND key = {m} "
                    f"AND status IS NULL AND started_at = {m}",
                    (now, scope, key, row["started_at"]),
                )
                return Claim("started" if _rowcount(cursor) == 1 else "in_flight")
        else:
            return Claim("in_flight")
        # Opened outside the transaction: the key store has its own (one writer on SQLite).
        status, headers, sealed = kept
        return Claim("replay", Answer(status, headers, self._open(scope, key, sealed)))

    def look(self, scope: str, key: str, fingerprint: str) -> Claim | None:
        """What a request that keeps its own answer (`kept`) finds before it does anything: a
        replay, a refusal ("mismatch", "in_flight": a claim by `claim` still running), or None,
        go ahead. Reads only, except that it forgets a claim whose lease ran out (its claimant
        died), as `claim` would take it over."""
        self._make_table()
        self._purge_now_and_then()
        m = self.mark
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT fingerprint, started_at, status, headers, body FROM {self.table} "
                f"WHERE scope = {m} AND key = {m}",
                (scope, key),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        if row["fingerprint"] != fingerprint:
            return Claim("mismatch")
        if row["status"] is None:
            started = row["started_at"]
            if started > self.now() - IN_FLIGHT_LEASE:
                return Claim("in_flight")
            with self.datastore.transaction(commit=True) as cursor:
                cursor.execute(
                    f"DELETE FROM {self.table} WHERE scope = {m} AND key = {m} "
                    f"AND status IS NULL AND started_at = {m}",
                    (scope, key, started),
                )
            return None
        headers = [(str(k), str(v)) for k, v in json.loads(row["headers"])]
        answer = Answer(int(row["status"]), headers, self._open(scope, key, row["body"]))
        return Claim("replay", answer)

    def kept(self, scope: str, key: str, fingerprint: str, answer: Answer) -> SideWrite:
        """The record of a request that keeps its own answer, finished with `answer`, as a
        side write for the transaction of the request's effect (`CaseStore.together`): the
        effect and the answer every retry gets are one commit, so neither is ever without
        the other, and no claim is written first. The body is sealed now (the key store has
        its own transactions); a record already there (a retry at the same time, on another
        replica, committed first) fails the transaction with `IntegrityError`, and `look`
        then finds it."""
        self._make_table()
        self._purge_now_and_then()
        m = self.mark
        row = (
            scope,
            key,
            fingerprint,
            self.now(),
            answer.status,
            json.dumps(list(answer.headers)),
            self._seal(scope, key, answer.body),
        )

        def write(cursor: Any) -> None:
            cursor.execute(
                f"INSERT INTO {self.table} (scope, key, fingerprint, started_at, status, "
                f"headers, body) VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m})",
                row,
            )

        return write

    def finish(self, scope: str, key: str, answer: Answer) -> None:
        """Keep `answer` as the one every retry of the claimed request gets, its body sealed."""
        m = self.mark
        sealed = self._seal(scope, key, answer.body)
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"UPDATE {self.table} SET status = {m}, headers = {m}, body = {m} "
                f"WHERE scope = {m} AND key = {m}",
                (answer.status, json.dumps(list(answer.headers)), sealed, scope, key),
            )

    def _seal(self, scope: str, key: str, body: bytes | None) -> bytes | None:
        if body is None:
            return None
        data_key = self.keys.key_for(SUBJECT)
        token = seal(data_key.cipher, data_key.key_id, body.decode("latin-1"), _aad(scope, key))
        return token.encode("ascii")

    def _open(self, scope: str, key: str, stored: Any) -> bytes | None:
        if stored is None:
            return None
        try:
            token = parse(bytes(stored).decode("ascii"))
        except (UnicodeDecodeError, SealError):
            return None  # kept before bodies were sealed: not replayed in plaintext
        data_key = self.keys.key(token.key_id)
        if data_key is None or isinstance(data_key, Destroyed):
            return None
        try:
            return unseal(data_key.cipher, token, _aad(scope, key)).encode("latin-1")
        except SealError:
            return None  # altered, or moved from another record: not ours to replay

    def abandon(self, scope: str, key: str) -> None:
        """Forget an unfinished claim (the request failed): a retry may try again."""
        m = self.mark
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"DELETE FROM {self.table} WHERE scope = {m} AND key = {m} AND status IS NULL",
                (scope, key),
            )

    def purge(self, older_than: float = KEEP) -> int:
        """Delete records claimed more than `older_than` seconds ago; how many went."""
        self._make_table()
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"DELETE FROM {self.table} WHERE started_at < {self.mark}",
                (self.now() - older_than,),
            )
            return _rowcount(cursor)

    # ------------------------------------------------------------------ housekeeping

    def _make_table(self) -> None:
        if self._made:
            return
        with self._lock:
            if self._made:
                return
            statements = [
                f"CREATE TABLE IF NOT EXISTS {self.table} ("
                "scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, "
                f"started_at {self.real} NOT NULL, status INTEGER, headers TEXT, "
                f"body {self.blob}, PRIMARY KEY (scope, key))",
                f"CREATE INDEX IF NOT EXISTS {TABLE}_started ON {self.table} (started_at)",
            ]
            create_tables(self.datastore, statements)
            self._made = True

    def _purge_now_and_then(self) -> None:
        now = self.now()
        if now - self._last_purge < PURGE_EVERY:
            return
        self._last_purge = now
        self.purge()


def _aad(scope: str, key: str) -> bytes:
    """Binds a sealed body to its record: it does not open if moved to another."""
    return binding("idempotency", f"{scope}\0{key}")


def _rowcount(cursor: Any) -> int:
    """Rows the last statement touched (eventsourcing wraps SQLite's cursor without it)."""
    return int(getattr(cursor, "sqlite_cursor", cursor).rowcount or 0)


def records_for(app: Application[Any]) -> IdempotencyRecords:
    """The idempotency records in `app`'s store (one per application, made on first use)."""
    return once_per_app(
        app,
        "_casework_idempotency",
        IdempotencyRecords,
        lambda: IdempotencyRecords(
            app.recorder.datastore,  # type: ignore[attr-defined]
            privacy_for(app).keys,
            beside_events=writes_beside(app.recorder),
        ),
    )
