"""Tables the library keeps beside the events, in the store's own database (SQLite or
PostgreSQL): idempotency records, people's data keys, the chain-migration record.

Each lives next to the events so every replica of every service reaches it through the pool it
already has, and a backup of the store is a backup of it (`casework.idempotency`,
`casework.privacy.sql_keys`). What they share is here: the dialect, and making the tables when
several processes start at once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import PersistenceError


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
