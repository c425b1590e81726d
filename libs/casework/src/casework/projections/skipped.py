"""Events a read model could not apply: recorded, passed over, and shown, never a stop.

The store may hold an event that a read model cannot apply (written by an older version before a
rule existed, or one a newer version reads differently). Stopping there would freeze the read
model for every case after it, and retrying cannot help: the same event fails the same way. So
the read model records it (case id, version, event, error) in its own table, applies everything
else, and says so: its service's `/readyz`, the `casework rebuild` summary and a Prometheus
gauge read that table. Recorded rows stay until the read model is rebuilt (after the fix).

What is not skipped: an event out of order (a gap: the feed delivers it again) and a failure of
the read model's own file (a locked or full disk: the feed retries). The caller names them.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from casework.logs import describe

log = logging.getLogger("casework.projections")

T = TypeVar("T")

NOT_SKIPPED: tuple[type[BaseException], ...] = (sqlite3.OperationalError,)
"""The read model's own file failing (locked, disk full, I/O): retried, never skipped."""


def skipped_schema(table: str) -> str:
    return f"""
create table if not exists {table} (
    case_id text not null,
    version integer not null,
    event text not null,
    error text not null,
    primary key (case_id, version)
);
"""


@dataclass(frozen=True)
class SkippedEvent:
    """One event a read model passed over, and why."""

    case_id: str
    version: int
    event: str
    error: str


def event_name(topic: str) -> str:
    """The event's class from its topic: `Dispute.MeetingRescheduled`, say."""
    return topic.rsplit(":", 1)[-1]


def record_skipped(
    db: sqlite3.Connection,
    table: str,
    read_model: str,
    case_id: str,
    version: int,
    event: str,
    error: BaseException | str,
) -> None:
    """Note the event as skipped (once per case version), and log it the first time."""
    why = error if isinstance(error, str) else describe(error)
    cursor = db.execute(
        f"insert or ignore into {table} values (?, ?, ?, ?)", (case_id, version, event, why)
    )
    if cursor.rowcount:
        log.error(
            "%s skipped %s v%s of case %s: %s; it goes on with the next event",
            read_model,
            event,
            version,
            case_id,
            why,
            extra={"case_id": case_id},
        )


def apply_or_skip(
    db: sqlite3.Connection,
    table: str,
    read_model: str,
    case_id: str,
    version: int,
    event: str,
    apply: Callable[[], T],
    *,
    passes: tuple[type[BaseException], ...] = (),
    skipped: T,
) -> T:
    """`apply()` inside a savepoint of the caller's transaction; if it raises (other than
    `passes` and `NOT_SKIPPED`, which propagate), undo what it wrote, record the event as skipped
    and answer `skipped`."""
    db.execute("savepoint apply_one")
    try:
        result = apply()
    except (*passes, *NOT_SKIPPED):
        db.execute("rollback to apply_one")
        db.execute("release apply_one")
        raise
    except Exception as error:  # any other failure is the event's, and will not heal: skip it
        db.execute("rollback to apply_one")
        db.execute("release apply_one")
        record_skipped(db, table, read_model, case_id, version, event, error)
        return skipped
    db.execute("release apply_one")
    return result


def skipped_in(db: sqlite3.Connection, table: str, limit: int = 20) -> list[SkippedEvent]:
    rows = db.execute(
        f"select case_id, version, event, error from {table} order by rowid desc limit ?",
        (limit,),
    ).fetchall()
    return [SkippedEvent(str(c), int(v), str(e), str(w)) for c, v, e, w in rows]


def count_skipped(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"select count(*) from {table}").fetchone()[0])


def apply_fact_or_skip(
    db: sqlite3.Connection,
    table: str,
    read_model: str,
    rows_table: str,
    case_id: str,
    version: int,
    event: str,
    apply: Callable[[], int],
    *,
    gap: type[BaseException],
) -> int:
    """For read models with a row per case that holds its `version` (`rows_table`): apply the
    event, or skip it and move the case's row on to its version, so the case's next event
    applies on top instead of waiting forever for this one (a `gap`). A case whose report was
    skipped has no row: its later events are skipped too, each noted as following it."""
    try:
        result = apply_or_skip(
            db, table, read_model, case_id, version, event, apply, passes=(gap,), skipped=-1
        )
    except gap:
        report_skipped = db.execute(
            f"select 1 from {table} where case_id = ? and version = 1", (case_id,)
        ).fetchone()
        held = db.execute(f"select 1 from {rows_table} where case_id = ?", (case_id,)).fetchone()
        if report_skipped is None or held is not None:
            raise
        record_skipped(
            db, table, read_model, case_id, version, event, "its case's report was skipped"
        )
        return 0
    if result == -1:
        advance(db, rows_table, case_id, version)
        return 0
    return result


def advance(db: sqlite3.Connection, rows_table: str, case_id: str, version: int) -> None:
    """Move the case's row on past a skipped event, so its next event is not a gap."""
    db.execute(
        f"update {rows_table} set version = ? where case_id = ? and version = ?",
        (version, case_id, version - 1),
    )


def skip_unreadable(
    db: sqlite3.Connection,
    table: str,
    read_model: str,
    rows_table: str | None,
    case_id: str,
    version: int,
    event: str,
    error: BaseException,
) -> None:
    """An event that could not even be read from the store: skipped like one that could not be
    applied (and, for a read model with a row per case, the case's row moved on past it)."""
    record_skipped(db, table, read_model, case_id, version, event, error)
    if rows_table is not None:
        advance(db, rows_table, case_id, version)
