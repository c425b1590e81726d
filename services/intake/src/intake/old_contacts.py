"""Contacts the intake kept in `intake.db` before they moved into the case files: imported once.

Until issue 11 the intake kept each reporter's contact in its own SQLite file (table `contacts`:
case_id, reporter_id, contact, recorded_at), outside the case files: not in a store backup, not
erasable through the store. `casework-intake contacts import` (also `casework contacts import`)
records each into its case file as `Case.ContactGiven` (sealed under that reporter's key, by
the intake's system actor, the old `recorded_at` kept as `given_at`), then deletes the rows it
handled and, once none is left, drops the table and VACUUMs the file, so that no byte of the old
plaintext stays in `intake.db` or its WAL.

Idempotent: the domain records a contact only if the case file holds none of that reporter's
given at that time or later, so a run interrupted after some cases records nothing twice when
run again. What it does not invent: a row whose case the store does not know (or whose reporter
the case does not name) is reported and kept for the operator to look at (`--forget-unknown`
deletes it). A row of a person erased since it was written is not imported: the erasure covers
it; it is deleted with the rest.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from casework import Actor, CaseNotFoundError, Casework, Role
from casework.domain.errors import InvalidTransitionError, ValidationError
from casework.settings import sqlite_lock_timeout

MIGRATOR = Actor("intake", Role.SYSTEM)
"""Who records the migrated contacts: the intake itself, as the system that kept them."""

REASON = (
    "migrated from intake.db's contacts table, where the intake kept contacts before they "
    "moved into the case files (docs/adr/011-personal-data.md)"
)


@dataclass(frozen=True)
class Row:
    case_id: str
    reporter_id: str
    contact: str
    recorded_at: str


@dataclass
class Imported:
    """What a run did, by (case id, reporter id); never the contacts themselves."""

    recorded: list[tuple[str, str]] = field(default_factory=list)
    already: list[tuple[str, str]] = field(default_factory=list)
    """In the case file already (this run's earlier attempt, or a newer contact)."""
    erased: list[tuple[str, str]] = field(default_factory=list)
    """Of a person erased after the row was written: not imported, deleted."""
    unknown: list[tuple[str, str, str]] = field(default_factory=list)
    """(case id, reporter id, why): not imported, kept in the table unless forgotten."""
    table_dropped: bool = False
    no_table: bool = False


def import_contacts(
    app: Casework,
    db_path: Path,
    *,
    forget_unknown: bool = False,
) -> Imported:
    """Import every row of `db_path`'s old `contacts` table into its case file (see above)."""
    done = Imported()
    if not db_path.exists():
        done.no_table = True
        return done
    db = sqlite3.connect(db_path, isolation_level=None)
    try:
        db.execute(f"pragma busy_timeout={sqlite_lock_timeout() * 1000}")
        if not _has_table(db):
            done.no_table = True
            _scrub(db)  # a run that stopped after dropping the table may have left its WAL
            return done
        rows = [
            Row(*map(str, r))
            for r in db.execute(
                "select case_id, reporter_id, contact, recorded_at from contacts "
                "order by recorded_at"
            )
        ]
        handled: list[Row] = []
        for row in rows:
            why = _import_one(app, row, done)
            if why is None:
                handled.append(row)
            else:
                done.unknown.append((row.case_id, row.reporter_id, why))
                if forget_unknown:
                    handled.append(row)
        _forget(db, handled, drop=len(handled) == len(rows))
        _scrub(db)
        done.table_dropped = len(handled) == len(rows)
    finally:
        db.close()
    return done


def _has_table(db: sqlite3.Connection) -> bool:
    found = db.execute(
        "select 1 from sqlite_master where type = 'table' and name = 'contacts'"
    ).fetchone()
    return found is not None


def _import_one(app: Casework, row: Row, done: Imported) -> str | None:
    """Record one row in its case file; None when handled, else why it could not be."""
    where = (row.case_id, row.reporter_id)
    try:
        given_at = datetime.fromisoformat(row.recorded_at)
    except ValueError:
        return f"recorded_at {row.recorded_at!r} is not an ISO 8601 time"
    if given_at.tzinfo is None:
        return f"recorded_at {row.recorded_at!r} has no timezone"
    erased_at = app.privacy.keys.erased_at(row.reporter_id)
    if erased_at is not None and erased_at >= given_at:
        done.erased.append(where)
        return None
    if not row.contact.strip():
        done.already.append(where)  # nothing to import
        return None
    try:
        recorded = app.give_contact(
            row.case_id, MIGRATOR, row.reporter_id, row.contact, given_at, REASON
        )
    except CaseNotFoundError:
        return "the store has no case file with this id (is CASEWORK_STORE the right store?)"
    except (InvalidTransitionError, ValidationError) as error:
        return str(error)
    (done.recorded if recorded else done.already).append(where)
    return None


def _forget(db: sqlite3.Connection, handled: list[Row], *, drop: bool) -> None:
    """Delete the handled rows (or the table), freed pages zeroed (`secure_delete`)."""
    db.execute("pragma secure_delete=on")
    db.execute("begin immediate")
    try:
        if drop:
            db.execute("drop table contacts")
        else:
            db.executemany(
                "delete from contacts where case_id = ? and reporter_id = ?",
                [(r.case_id, r.reporter_id) for r in handled],
            )
        db.execute("commit")
    except BaseException:
        db.execute("rollback")
        raise


def _scrub(db: sqlite3.Connection) -> None:
    """Rewrite the file so deleted rows' bytes are gone from it: VACUUM rebuilds it, and the
    WAL (which held the old pages' images) is checkpointed and truncated to nothing."""
    db.execute("vacuum")
    busy, _, _ = db.execute("pragma wal_checkpoint(TRUNCATE)").fetchone()
    if busy:
        raise sqlite3.OperationalError(
            f"{_db_path_of(db)}: another process holds the file open, so its WAL could not be "
            "emptied; stop the intake and run the command again"
        )


def _db_path_of(db: sqlite3.Connection) -> str:
    row = db.execute("pragma database_list").fetchone()
    return str(row[2]) if row else "intake.db"
