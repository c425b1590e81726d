"""A read model's own SQLite file, shared by the services' projections.

Read models are rebuilt from the case store at will, so they live in a plain local SQLite file
beside each service rather than in the store. WAL lets readers go on while the feed writes; one
lock and `begin immediate` make each batch of facts, with the feed's position, one transaction
that readers see whole or not at all.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from casework.contracts import CaseEvent
from casework.files import private_file
from casework.projections.skipped import (
    SkippedEvent,
    count_skipped,
    record_skipped,
    skip_unreadable,
    skipped_in,
    skipped_schema,
)
from casework.settings import sqlite_lock_timeout


class SqliteReadModel:
    """Base of the services' read models: a connection to `path`, its schema applied once.

    Each keeps the events it could not apply in its own table, `SKIPPED_TABLE` (see
    `casework.projections.skipped`), under its `NAME`.
    """

    NAME: ClassVar[str] = "read model"
    SKIPPED_TABLE: ClassVar[str] = "skipped_events"
    ROWS_TABLE: ClassVar[str | None] = None
    """A table with a row per case holding its `version`, moved on past a skipped event."""
    POSITIONS_TABLE: ClassVar[str | None] = None
    """A table of (`source`, `position`): how far the read model has read from each feed, kept
    by the feed in the transaction that applies the events (`record_position`)."""

    def __init__(self, path: Path, schema: str, *, beside: SqliteReadModel | None = None) -> None:
        """`beside`: another read model in the same file, whose connection and lock this one
        uses, so that a feed can apply both in one transaction (`shares_connection_with`): one
        commit, one WAL sync, instead of one each."""
        self.path = path
        if beside is None:
            private_file(path)  # residents' data: 0600, and so its -wal/-shm
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("pragma journal_mode=wal")
            self._db.execute(f"pragma busy_timeout={sqlite_lock_timeout() * 1000}")
            self._lock = threading.Lock()
        else:
            if Path(beside.path).resolve() != Path(path).resolve():
                raise ValueError(
                    f"{type(self).__name__} in {path} cannot share the connection of "
                    f"{type(beside).__name__}, which is in {beside.path}"
                )
            self._db, self._lock = beside._db, beside._lock
        with self._lock:
            self._db.executescript(schema)
            self._db.executescript(skipped_schema(self.SKIPPED_TABLE))

    def shares_connection_with(self, other: SqliteReadModel) -> bool:
        """Whether `other` writes through this read model's connection (`beside`)."""
        return self._db is other._db

    def position(self, source: str) -> int:
        """How far this read model has read from `source` (0: nothing yet)."""
        if self.POSITIONS_TABLE is None:
            raise TypeError(f"{type(self).__name__} keeps no positions (POSITIONS_TABLE)")
        with self._lock:
            row = self._db.execute(
                f"select position from {self.POSITIONS_TABLE} where source = ?", (source,)
            ).fetchone()
        return int(row[0]) if row else 0

    def positions(self, source: str, beside: Sequence[SqliteReadModel]) -> list[int]:
        """`position` of this read model and of each of `beside` (sharing its connection),
        in one statement."""
        models = [self, *beside]
        tables = [model.POSITIONS_TABLE for model in models]
        if any(table is None for table in tables) or not all(
            self.shares_connection_with(model) for model in beside
        ):
            raise TypeError("positions of read models that keep none, or in another file")
        columns = ", ".join(f"(select position from {table} where source = ?)" for table in tables)
        with self._lock:
            row = self._db.execute(f"select {columns}", [source] * len(tables)).fetchone()
        return [int(value or 0) for value in row]

    def page_of(
        self,
        table: str,
        where: Sequence[str],
        args: Sequence[Any],
        *,
        order: str,
        offset: int,
        limit: int,
        columns: str = "*",
    ) -> tuple[int, list[Any]]:
        """One page of a listing: how many rows of `table` meet every condition of `where`, and
        the `columns` of those from `offset` on, at most `limit`, in `order` (which should end in
        a unique column, so that pages neither repeat nor skip a row). One lock, so the count and
        the rows agree."""
        clause = " where " + " and ".join(where) if where else ""
        with self._lock:
            total = self._db.execute(f"select count(*) from {table}{clause}", args).fetchone()[0]
            rows = self._db.execute(
                f"select {columns} from {table}{clause} order by {order} limit ? offset ?",
                [*args, limit, offset],
            ).fetchall()
        return int(total), rows

    def record_skipped(
        self, case_id: str, version: int, event: str, error: BaseException | str
    ) -> None:
        """Note an event this read model passes over (one it could not even read, say)."""
        with self.transaction() as db:
            if isinstance(error, BaseException):
                skip_unreadable(
                    db,
                    self.SKIPPED_TABLE,
                    self.NAME,
                    self.ROWS_TABLE,
                    case_id,
                    version,
                    event,
                    error,
                )
            else:
                record_skipped(db, self.SKIPPED_TABLE, self.NAME, case_id, version, event, error)

    def skipped(self, limit: int = 20) -> list[SkippedEvent]:
        """The latest events this read model passed over, newest first."""
        with self._lock:
            return skipped_in(self._db, self.SKIPPED_TABLE, limit)

    def skipped_count(self) -> int:
        with self._lock:
            return count_skipped(self._db, self.SKIPPED_TABLE)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside `begin immediate`: one writer; readers see all of it or none."""
        with self._lock:
            self._db.execute("begin immediate")
            try:
                yield self._db
            except BaseException:
                self._db.execute("rollback")
                raise
            self._db.execute("commit")


class EventFedModel(SqliteReadModel):
    """A read model a feed of case events keeps (the intake's case index and measures): each
    event is applied by `apply_event`, a batch with the feed's position in one transaction.

    `apply_in` applies inside a transaction the caller holds, so that read models of one file
    can share one commit (`beside`); `apply` is the same in a transaction of its own."""

    def apply_event(self, db: sqlite3.Connection, event: CaseEvent) -> int:
        """Apply one event inside `db`'s transaction; 1 if it was new (0: already applied, or
        passed over and noted in `SKIPPED_TABLE`)."""
        raise NotImplementedError

    def apply(
        self, events: Iterable[CaseEvent], source: str | None = None, position: int = 0
    ) -> int:
        """Apply events in order, with the feed's position, in one transaction; returns applied."""
        with self.transaction() as db:
            return self.apply_in(db, events, source, position)

    def apply_in(
        self,
        db: sqlite3.Connection,
        events: Iterable[CaseEvent],
        source: str | None = None,
        position: int = 0,
    ) -> int:
        """`apply` inside the caller's transaction."""
        applied = sum(self.apply_event(db, event) for event in events)
        if source is not None:
            if self.POSITIONS_TABLE is None:
                raise TypeError(f"{type(self).__name__} keeps no positions (POSITIONS_TABLE)")
            record_position(db, self.POSITIONS_TABLE, source, position)
        return applied


def record_position(db: sqlite3.Connection, table: str, source: str, position: int) -> None:
    """Note, inside the caller's transaction, that the read model has read `source` up to
    `position`; never back (a late, smaller position from a redelivery leaves it)."""
    db.execute(
        f"insert into {table} values (?, ?) on conflict(source) do update "
        "set position = max(position, excluded.position)",
        (source, position),
    )


@dataclass(frozen=True)
class Scope:
    """What a listing may include: everything, a place (path prefix), or one person's cases."""

    place: str | None = None
    person: str | None = None
    everything: bool = False

    def where(self, people_table: str) -> tuple[list[str], list[Any]]:
        """SQL conditions (and their arguments) on a table with `case_id` and `address` columns.

        `people_table` maps `case_id` to `actor_id` for everyone a case concerns. A scope with
        neither place nor person matches nothing: an unplaced actor sees no one's cases.
        """
        if self.everything:
            return [], []
        if self.person is not None:
            return [f"case_id in (select case_id from {people_table} where actor_id = ?)"], [
                self.person
            ]
        if self.place is not None:
            return ["(address = ? or address like ? escape '\\')"], [
                self.place,
                like_prefix(self.place),
            ]
        return ["0"], []


def listing_where(
    scope: Scope,
    people_table: str,
    compound: str | None = None,
    equal: Mapping[str, object | None] | None = None,
) -> tuple[list[str], list[Any]]:
    """The conditions (and their arguments) of a listing: within `scope` (`Scope.where`), in
    `compound` if given (`compound_where`), and each column of `equal` equal to its value if
    that is not None. A caller may add conditions of its own before `SqliteReadModel.page_of`."""
    where, args = scope.where(people_table)
    if compound is not None:
        condition, named = compound_where(compound)
        where.append(condition)
        args.append(named)
    for column, value in (equal or {}).items():
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    return where, args


def compound_where(compound: str) -> tuple[str, str]:
    """A condition on `community`/`compound` columns: `community/compound`, or a compound id."""
    if "/" in compound:
        return "community || '/' || compound = ?", compound
    return "compound = ?", compound


def like_prefix(place: str) -> str:
    """A LIKE pattern for every address below `place`, with LIKE's wildcards escaped."""
    escaped = place.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/%"
