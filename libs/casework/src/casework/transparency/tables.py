"""The log's tables beside the events (`casework.side_tables`): its leaves, its head, and the
signed checkpoints.

- `casework_log_leaves`: one row per leaf, by position (0-based): the notification id it came
  from and (case id, version, event hash). Proofs and "which event differs" are read from here.
- `casework_log_head`: one row: how far the notary has read the notification log, the tree
  size and its right-edge frontier (hex), written in the same transaction as the leaves, so a
  restarted notary resumes in O(log n) without rereading the log.
- `casework_checkpoints`: every signed checkpoint, by tree size.
- `casework_log_origin`: one row: the log's name (its origin, `CASEWORK_LOG_ORIGIN` or made on
  the notary's first start) and `since`, the first checkpoint size signed with it: checkpoints
  below it were signed before logs were named (`casework.checkpoint.v1`) and are read as such.
  A table of its own rather than a column of the checkpoints', so a store made before it needs
  no schema change.
- `casework_checkpoint_origins`: each checkpoint's origin, by size, written in the checkpoint's
  transaction ("" for one signed unnamed, `casework.checkpoint.v1`). A checkpoint's format is
  what it was signed as, never inferred from its size: a notary that signed unnamed beside
  one that named the log would otherwise read back named, and fail to verify. Only rows
  written before this table (none recorded here) are read by `since`, as they were.

Nothing here is trusted by a verifier: the leaves must give the root the notary *signed*, and
the events must give the leaves. The tables only make appending, proving and pointing at the
first difference cheap.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from casework.domain.errors import ValidationError
from casework.per_app import once_per_app
from casework.side_tables import create_tables, dialect
from casework.transparency.checkpoints import ORIGIN_ENV, Checkpoint
from casework.transparency.leaves import Leaf
from casework.transparency.merkle import Frontier, MerkleTree

LEAVES = "casework_log_leaves"
HEAD = "casework_log_head"
CHECKPOINTS = "casework_checkpoints"
ORIGINS = "casework_log_origin"
ORIGIN_BY_SIZE = "casework_checkpoint_origins"


class HeadMovedError(RuntimeError):
    """Another notary moved the log's head since this one read it: reread, then append."""


@dataclass(frozen=True)
class Head:
    """Where the notary stands: the last notification read and the tree's frontier."""

    notification_id: int
    frontier: Frontier


class LogTables:
    """The transparency log's rows in one store, through its eventsourcing datastore."""

    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore
        sql = dialect(datastore, "transparency log")
        self.postgres = sql.postgres
        self.leaves_table = sql.table(LEAVES)
        self.head_table = sql.table(HEAD)
        self.checkpoints_table = sql.table(CHECKPOINTS)
        self.origin_table = sql.table(ORIGINS)
        self.origin_by_size_table = sql.table(ORIGIN_BY_SIZE)
        self.mark = sql.mark
        self._made = False
        self._lock = threading.Lock()
        self.tree: MerkleTree | None = None
        """The tree an export proves against, kept between exports (`exports.signed_tree`)."""
        self.tree_lock = threading.Lock()

    def make(self) -> None:
        """Create the tables (idempotent; only a writer calls this)."""
        if self._made:
            return
        with self._lock:
            create_tables(
                self.datastore,
                [
                    f"CREATE TABLE IF NOT EXISTS {self.leaves_table} (position BIGINT PRIMARY KEY, "
                    "notification_id BIGINT NOT NULL, case_id TEXT NOT NULL, "
                    "version BIGINT NOT NULL, event_hash TEXT NOT NULL)",
                    f"CREATE INDEX IF NOT EXISTS {LEAVES}_case ON {self.leaves_table} (case_id)",
                    f"CREATE TABLE IF NOT EXISTS {self.head_table} (name TEXT PRIMARY KEY, "
                    "notification_id BIGINT NOT NULL, size BIGINT NOT NULL, "
                    "frontier TEXT NOT NULL)",
                    f"CREATE TABLE IF NOT EXISTS {self.checkpoints_table} ("
                    "size BIGINT PRIMARY KEY, "
                    "root TEXT NOT NULL, at TEXT NOT NULL, signature TEXT NOT NULL)",
                    f"CREATE TABLE IF NOT EXISTS {self.origin_table} (name TEXT PRIMARY KEY, "
                    "origin TEXT NOT NULL, since BIGINT NOT NULL)",
                    f"CREATE TABLE IF NOT EXISTS {self.origin_by_size_table} ("
                    "size BIGINT PRIMARY KEY, origin TEXT NOT NULL)",
                ],
            )
            self._made = True

    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of a query; none when the tables were never made (no notary ran yet)."""
        try:
            with self.datastore.transaction(commit=False) as cursor:
                cursor.execute(sql, tuple(params))
                return list(cursor.fetchall())
        except Exception as error:
            text = str(error).lower()
            if "no such table" in text or "does not exist" in text:
                return []
            raise

    # ------------------------------------------------------------------ reading

    def head(self) -> Head:
        rows = self._select(f"SELECT notification_id, size, frontier FROM {self.head_table}")
        if not rows:
            return Head(0, Frontier())
        row = rows[0]
        hashes = [bytes.fromhex(h) for h in str(row["frontier"]).split(",") if h]
        return Head(int(row["notification_id"]), Frontier(int(row["size"]), hashes))

    def leaves(self, size: int | None = None, start: int = 0) -> list[Leaf]:
        """The leaves from position `start` up to `size` (to the end with None), in order."""
        limit = f" WHERE position >= {int(start)}"
        limit += "" if size is None else f" AND position < {int(size)}"
        rows = self._select(
            f"SELECT case_id, version, event_hash FROM {self.leaves_table}{limit} ORDER BY position"
        )
        return [Leaf(UUID(r["case_id"]), int(r["version"]), r["event_hash"]) for r in rows]

    def positions(self, case_id: UUID) -> dict[int, int]:
        """A case's leaves: version -> position in the log."""
        rows = self._select(
            f"SELECT version, position FROM {self.leaves_table} WHERE case_id = {self.mark}",
            (str(case_id),),
        )
        return {int(r["version"]): int(r["position"]) for r in rows}

    def logged_cases(self) -> set[UUID]:
        """Every case with a leaf in the log (none when no notary ran yet)."""
        rows = self._select(f"SELECT DISTINCT case_id FROM {self.leaves_table}")
        return {UUID(r["case_id"]) for r in rows}

    def checkpoints(self, after: int = -1) -> list[Checkpoint]:
        """Every checkpoint, or those of more than `after` leaves, smallest first."""
        rows = self._select(
            f"SELECT size, root, at, signature FROM {self.checkpoints_table} "
            f"WHERE size > {self.mark} ORDER BY size",
            (after,),
        )
        return self._read(rows)

    def latest(self) -> Checkpoint | None:
        rows = self._select(
            f"SELECT size, root, at, signature FROM {self.checkpoints_table} "
            "ORDER BY size DESC LIMIT 1"
        )
        return self._read(rows)[0] if rows else None

    def _read(self, rows: list[Any]) -> list[Checkpoint]:
        """Checkpoints of `rows`, each with the origin stored with it; a row written before
        origins were stored by size reads the log's name from `since` on, as it did then."""
        if not rows:
            return []
        sizes = [int(r["size"]) for r in rows]
        recorded = {
            int(r["size"]): str(r["origin"])
            for r in self._select(
                f"SELECT size, origin FROM {self.origin_by_size_table} "
                f"WHERE size >= {self.mark} AND size <= {self.mark}",
                (min(sizes), max(sizes)),
            )
        }
        named = self.origin()
        return [_checkpoint(r, recorded.get(int(r["size"])), named) for r in rows]

    def origin(self) -> tuple[str, int] | None:
        """The log's name and the first checkpoint size signed with it; None if never named."""
        rows = self._select(f"SELECT origin, since FROM {self.origin_table}")
        return (str(rows[0]["origin"]), int(rows[0]["since"])) if rows else None

    def name_log(self, wanted: str | None) -> str:
        """The log's origin: the one it has, else `wanted` (or a new `casework/<uuid>`), kept
        from now on. A `wanted` name other than the one the log has is refused: a log renamed
        would make its earlier checkpoints another log's."""
        self.make()
        named = self.origin()
        if named is None:
            latest = self.latest()
            since = latest.size + 1 if latest else 0
            m = self.mark
            with self.datastore.transaction(commit=True) as cursor:
                cursor.execute(
                    f"INSERT INTO {self.origin_table} (name, origin, since) VALUES "
                    f"('log', {m}, {m}) ON CONFLICT (name) DO NOTHING",
                    (wanted or f"casework/{uuid4()}", since),
                )
            named = self.origin()
            assert named is not None
        self.refuse_rename(wanted)
        return named[0]

    def refuse_rename(self, wanted: str | None) -> None:
        """Refuse `wanted` if the log has another name already (reads only: a notary standing
        by checks its setting with this, and names the log only once it holds the lock)."""
        named = self.origin()
        if wanted is not None and named is not None and wanted != named[0]:
            raise ValidationError(
                f"{ORIGIN_ENV} is {wanted!r} but this store's log is named {named[0]!r}: a log "
                "keeps its name (unset the setting, or set it to the log's name)"
            )

    def checkpoint_at(self, size: int) -> Checkpoint | None:
        """The checkpoint kept for tree size `size` (the first signed at that size)."""
        rows = self._select(
            f"SELECT size, root, at, signature FROM {self.checkpoints_table} "
            f"WHERE size = {self.mark}",
            (size,),
        )
        return self._read(rows)[0] if rows else None

    # ------------------------------------------------------------------ writing

    def append(
        self, leaves: Sequence[tuple[int, Leaf]], notification_id: int, old: int, new: Frontier
    ) -> None:
        """Add leaves (notification id, leaf) and move the head from size `old` to `new`, in one
        transaction. A second notary that appended first makes this one's insert fail on the
        positions' key, or its head write (`HeadMovedError`): it then rereads the head
        (`Notary.forget`)."""
        self.make()
        m = self.mark
        frontier = ",".join(h.hex() for h in new.hashes)
        with self.datastore.transaction(commit=True) as cursor:
            for offset, (notification, leaf) in enumerate(leaves):
                cursor.execute(
                    f"INSERT INTO {self.leaves_table} (position, notification_id, case_id, "
                    f"version, event_hash) VALUES ({m}, {m}, {m}, {m}, {m})",
                    (old + offset, notification, str(leaf.case_id), leaf.version, leaf.event_hash),
                )
            # Compare-and-set: the head moves only from the size this notary read, and only
            # forward. A notary that read the head before another moved it (a page of no case
            # events appends no leaf, so no key stops it) would otherwise set it back, and every
            # later append from there would fail on the positions' key: the log would stall.
            cursor.execute(
                f"INSERT INTO {self.head_table} (name, notification_id, size, frontier) "
                f"VALUES ('log', {m}, {m}, {m}) ON CONFLICT (name) DO UPDATE SET "
                "notification_id = excluded.notification_id, size = excluded.size, "
                f"frontier = excluded.frontier WHERE {self.head_table}.size = {m} "
                f"AND {self.head_table}.notification_id < excluded.notification_id",
                (notification_id, new.size, frontier, old),
            )
            cursor.execute(f"SELECT notification_id, size FROM {self.head_table}")
            row = cursor.fetchone()  # what this transaction sees: its own write, if it was made
            if (int(row["notification_id"]), int(row["size"])) != (notification_id, new.size):
                raise HeadMovedError(
                    f"the log's head moved from size {old} before this notary's append up to "
                    f"notification {notification_id}: reread it"
                )

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        self.make()
        m = self.mark
        signed = checkpoint.to_json()
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"INSERT INTO {self.checkpoints_table} (size, root, at, signature) "
                f"VALUES ({m}, {m}, {m}, {m}) ON CONFLICT (size) DO NOTHING",
                (checkpoint.size, signed["root"], signed["at"], signed["signature"]),
            )
            # Its origin, if this checkpoint is the one kept at its size (another notary's,
            # signed first, keeps its own).
            cursor.execute(
                f"INSERT INTO {self.origin_by_size_table} (size, origin) SELECT size, {m} "
                f"FROM {self.checkpoints_table} WHERE size = {m} AND signature = {m} "
                "ON CONFLICT (size) DO UPDATE SET origin = excluded.origin",
                (checkpoint.origin, checkpoint.size, signed["signature"]),
            )


def _checkpoint(row: Any, recorded: str | None, named: tuple[str, int] | None) -> Checkpoint:
    size = int(row["size"])
    origin = recorded
    if origin is None:  # kept before origins were stored by size
        origin = named[0] if named is not None and size >= named[1] else ""
    return Checkpoint(
        size,
        bytes.fromhex(row["root"]),
        datetime.fromisoformat(row["at"]),
        base64.b64decode(row["signature"]),
        origin,
    )


def tables_for(app: Any) -> LogTables:
    """The log tables of `app`'s store (one per application, made on first use)."""
    return once_per_app(
        app, "_casework_log_tables", LogTables, lambda: LogTables(app.recorder.datastore)
    )
