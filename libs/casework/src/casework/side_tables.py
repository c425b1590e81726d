"""Tables the library keeps beside the events, in the store's own database (SQLite or
PostgreSQL): idempotency records, people's data keys, the chain-migration record.

Each lives next to the events so every replica of every service reaches it through the pool it
already has, and a backup of the store is a backup of it (`casework.idempotency`,
`casework.privacy.sql_keys`). What they share is here: the dialect, making the tables when
several processes start at once, and writing a row in the transaction that saves events
(`WritesBeside`: a report and its kept answer are one commit, issue 16).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import PersistenceError, StoredEvent
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteProcessRecorder

from casework.sqlite_turns import take_turns

SideWrite = Callable[[Any], None]
"""Statements run with the transaction's cursor (eventsourcing's, of either store), after the
events of a save are inserted on SQLite and before them on PostgreSQL (whose recorder pipelines
its statements; an error shows when the transaction is synced): either way in the transaction
that saves them, all or nothing. A unique key it meets fails the whole save with
`IntegrityError`."""

SIDE_WRITES = "side_writes"
"""The keyword a save hands its `SideWrite`s to the recorder by (`CaseStore.together`)."""


class Beside:
    """An open block whose saves commit in one transaction (`CaseStore.together`): the side
    writes to run in it, what to do once it has committed, and what the block made for itself
    meanwhile (`made`: a new person's data key, `casework.privacy.sql_keys`, is written with
    the events it seals, so a refused block leaves no key, and a first report costs one commit
    instead of two, issue 16)."""

    def __init__(self, datastore: Any = None) -> None:
        self.datastore = datastore
        """The eventsourcing datastore the block commits to: only a side table in that same
        database can be written in its transaction."""
        self.side_writes: list[SideWrite] = []
        self.on_commit: list[Callable[[], None]] = []
        self.made: dict[Any, Any] = {}

    def also(self, write: SideWrite) -> None:
        """Run `write` in the block's transaction (`SideWrite`)."""
        self.side_writes.append(write)

    def after_commit(self, done: Callable[[], None]) -> None:
        """Call `done` once the block has committed (never if it writes nothing or fails)."""
        self.on_commit.append(done)


_open_block: ContextVar[Beside | None] = ContextVar("casework_beside", default=None)


def open_block() -> Beside | None:
    """The block open in this thread or task that takes side writes, if any."""
    return _open_block.get()


def opening(block: Beside | None) -> Any:
    """Make `block` the open one (None: none); the token to `closing` with."""
    return _open_block.set(block)


def closing(token: Any) -> None:
    _open_block.reset(token)


class WritesBeside:
    """A process recorder whose `_insert_events` runs the side writes a save carries
    (`SIDE_WRITES`, `run_side_writes`) in the transaction that inserts its events; a save with
    none is written as before."""


def run_side_writes(cursor: Any, kwargs: Mapping[str, Any]) -> None:
    """The side writes of a save, with the transaction's cursor (for `_insert_events`)."""
    for write in kwargs.get(SIDE_WRITES, ()):
        write(cursor)


class SqliteRecorder(WritesBeside, SQLiteProcessRecorder):
    """eventsourcing's SQLite process recorder, with side writes (`persistence_env` selects it
    through eventsourcing's `PROCESS_RECORDER_TOPIC`), whose writers take turns with the other
    processes' (`casework.sqlite_turns`: no busy-handler sleeps between services)."""

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        take_turns(datastore)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        returning = super()._insert_events(c, stored_events, **kwargs)
        run_side_writes(c, kwargs)
        return returning


def writes_beside(recorder: Any) -> bool:
    """Whether saves to `recorder` can carry side writes (an unknown recorder would drop them,
    and so would PostgreSQL's with `POSTGRES_ENABLE_DB_FUNCTIONS`: eventsourcing then inserts
    through a database function, never calling `_insert_events`)."""
    datastore = getattr(recorder, "datastore", None)
    if getattr(datastore, "enable_db_functions", False):
        return False
    return isinstance(recorder, WritesBeside)


@dataclass(frozen=True)
class Dialect:
    """How to name a table and write a parameter and a column type in one store's SQL."""

    postgres: bool
    schema: str
    mark: str
    blob: str
    real: str

    def table(self, name: str) -> str:
        return f'"{self.schema}".{name}' if self.postgres else name


def dialect(datastore: Any, what: str = "tables") -> Dialect:
    """The dialect of an eventsourcing datastore; `TypeError` for one we do not know."""
    kind = type(datastore).__module__
    if kind.endswith(".postgres"):
        schema = getattr(datastore, "schema", "public") or "public"
        return Dialect(True, schema, "%s", "BYTEA", "DOUBLE PRECISION")
    if kind.endswith(".sqlite"):
        return Dialect(False, "", "?", "BLOB", "REAL")
    raise TypeError(f"no {what} for a {type(datastore).__name__} store")


def create_tables(datastore: Any, statements: Sequence[str], attempts: int = 5) -> None:
    """Run idempotent `CREATE ... IF NOT EXISTS` statements in one transaction.

    Replicas starting together race on PostgreSQL's catalogue; the statements are idempotent, so
    the loser tries again (a bounded number of times) and finds them made.
    """
    for attempt in range(attempts):
        try:
            with datastore.transaction(commit=True) as cursor:
                for statement in statements:
                    cursor.execute(statement)
            return
        except PersistenceError as error:
            raced = any(w in str(error) for w in ("concurrently", "already", "duplicate"))
            if attempt == attempts - 1 or not raced:
                raise
            time.sleep(0.05 * (attempt + 1))
