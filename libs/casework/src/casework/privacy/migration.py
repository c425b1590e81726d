"""Sealing a store written before personal data was sealed: a one-off, recorded rewrite.

A store written before issue 11 holds personal values in plaintext, and hashes over that
plaintext; no such hash can be checked without the plaintext, so the values cannot be erased
unless the events are rewritten (docs/adr/011-personal-data.md, "Migration"). `migrate` does it
once per case file, by an operator's command (`casework person migrate`):

1. the case's chain is verified as it stands; a case that does not verify is left untouched and
   named (a migration must not launder tampering into a fresh, valid chain);
2. each event's declared personal values and the numbers in its other text are sealed, as a new
   write would seal them, and every hash is computed again, in order; the state is read and
   written past the store's cipher and compressor (`casework.stored_state`), as the mapper
   would, so an encrypted or compressed store is migrated like any other;
3. the case's events are replaced in one transaction, and each event's old and new hash are
   kept in `casework_chain_migrations`, so `verify --anchors` with anchors written before the
   migration checks them as the hashes they became (`migrated_anchor`).

A case with nothing to seal is left as it is. Running it again changes nothing.

A case the transparency log holds leaves of already (a notary ran on the store) is not rewritten
unless the operator says so (`rewrites_logged_cases`, `--rewrites-logged-cases`): the log is
append-only and keeps the old leaves, so every checkpoint, old or new, would report that case as
changed from then on (docs/adr/014, "Consequences"). Refused, nothing of any case is rewritten
(the data keys the sealing made while finding those cases stay, for the run that follows).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from eventsourcing.utils import resolve_topic

from casework.audit import Anchor, verify_events
from casework.domain.chain import GENESIS, event_digest
from casework.domain.errors import InvalidTransitionError
from casework.privacy import Privacy
from casework.privacy.sealing import personal_fields
from casework.side_tables import create_tables, dialect
from casework.stored_state import decoded_state, encoded_state
from casework.transparency.tables import tables_for

if TYPE_CHECKING:
    from casework.application import Casework

TABLE = "casework_chain_migrations"


@dataclass(frozen=True)
class Migrated:
    """What the migration did to one case file: sealed (old head -> new head), or refused."""

    case_id: UUID
    events: int
    old_head: str
    new_head: str
    problem: str = ""
    logged: bool = False
    """Rewritten though the transparency log held its leaves: checkpoints report it changed."""

    @property
    def changed(self) -> bool:
        return not self.problem and self.old_head != self.new_head


class LoggedCasesError(InvalidTransitionError):
    """The migration would rewrite cases the transparency log holds already; nothing was done."""

    def __init__(self, case_ids: list[UUID]) -> None:
        self.case_ids = case_ids
        named = ", ".join(str(c) for c in case_ids[:3]) + (
            f" and {len(case_ids) - 3} more" if len(case_ids) > 3 else ""
        )
        super().__init__(
            f"{len(case_ids)} case file(s) this migration would rewrite are in the transparency "
            f"log already ({named}): the log keeps their old leaves, so every checkpoint, old "
            "or new, would report them as changed (docs/adr/014). Nothing was rewritten. "
            "Migrate a store before its notary first runs; or, accepting that, run `casework "
            "person migrate --rewrites-logged-cases`"
        )


class _Tables:
    """The events table and the mapping table of one store, in its SQL dialect."""

    def __init__(self, app: Casework) -> None:
        self.datastore: Any = app.recorder.datastore  # type: ignore[attr-defined]
        events = getattr(app.recorder, "events_table_name", "stored_events")
        sql = dialect(self.datastore, "chain migration")
        self.events = f'"{sql.schema}"."{events}"' if sql.postgres else events
        # Snapshots of a case fold its events as they were: stale (old hashes, plaintext)
        # once they are rewritten, so they go in the same transaction.
        recorder = getattr(app.snapshots, "recorder", None)
        snapshots = getattr(recorder, "events_table_name", None)
        self.snapshots: str | None = None
        if snapshots:
            self.snapshots = f'"{sql.schema}"."{snapshots}"' if sql.postgres else snapshots
        self.mapping = sql.table(TABLE)
        self.mark = sql.mark
        self.real = sql.real
        self.postgres = sql.postgres

    def case_key(self, case_id: UUID) -> Any:
        """How the events table holds a case id: a uuid, or (SQLite) its 32 hex digits."""
        return case_id if self.postgres else case_id.hex

    def make(self) -> None:
        create_tables(
            self.datastore,
            [
                f"CREATE TABLE IF NOT EXISTS {self.mapping} (case_id TEXT NOT NULL, "
                "version INTEGER NOT NULL, old_hash TEXT NOT NULL, new_hash TEXT NOT NULL, "
                f"migrated_at {self.real} NOT NULL, PRIMARY KEY (case_id, version))"
            ],
        )


def migrate(
    app: Casework, privacy: Privacy, *, rewrites_logged_cases: bool = False
) -> list[Migrated]:
    """Seal every case file of `app`'s store (see the module docstring); what was done, per case.
    `LoggedCasesError` (before anything is rewritten) when a case to rewrite is in the
    transparency log already, unless `rewrites_logged_cases`."""
    case_ids = list(app.case_ids())
    logged = tables_for(app).logged_cases()
    if logged and not rewrites_logged_cases:
        would = [c for c in case_ids if c in logged and _rewrites(app, privacy, c)[1]]
        if would:
            raise LoggedCasesError(would)
    tables = _Tables(app)
    tables.make()
    done: list[Migrated] = []
    for case_id in case_ids:
        migrated = _migrate_case(app, privacy, tables, case_id)
        done.append(replace(migrated, logged=migrated.changed and case_id in logged))
    return done


def _migrate_case(app: Casework, privacy: Privacy, tables: _Tables, case_id: UUID) -> Migrated:
    found, rewritten = _rewrites(app, privacy, case_id)
    if not rewritten:
        return found
    m = tables.mark
    key = tables.case_key(case_id)
    with tables.datastore.transaction(commit=True) as cursor:
        for version, old_hash, new_hash, encoded in rewritten:
            cursor.execute(
                f"UPDATE {tables.events} SET state = {m} "
                f"WHERE originator_id = {m} AND originator_version = {m}",
                (encoded, key, version),
            )
            cursor.execute(
                f"INSERT INTO {tables.mapping} (case_id, version, old_hash, new_hash, "
                f"migrated_at) VALUES ({m}, {m}, {m}, {m}, {m})",
                (str(case_id), version, old_hash, new_hash, time.time()),
            )
        if tables.snapshots:
            cursor.execute(f"DELETE FROM {tables.snapshots} WHERE originator_id = {m}", (key,))
    return found


def _rewrites(
    app: Casework, privacy: Privacy, case_id: UUID
) -> tuple[Migrated, list[tuple[int, str, str, bytes]]]:
    """What migrating the case would do, and the events to write for it (version, old hash,
    new hash, stored bytes); none for a case that does not verify or has nothing to seal."""
    stored = list(app.recorder.select_events(case_id))
    check = verify_events(case_id, stored, app.mapper)
    if not check.ok:
        return Migrated(case_id, len(stored), check.head, check.head, check.describe()), []
    previous = GENESIS
    reporter: str | None = None
    rewritten: list[tuple[int, str, str, bytes]] = []
    for event in stored:
        state = decoded_state(app.mapper, event, case_id)
        reporter = reporter or str(state.get("actor_id", "")) or None
        personal = personal_fields(resolve_topic(event.topic))
        changes = privacy.sealer.seal_state(
            {**state, "originator_id": case_id}, personal, reporter=reporter
        )
        state.update(changes)
        state["prev_hash"] = previous
        old_hash = str(state["hash"])
        state["hash"] = event_digest(event.topic, case_id, event.originator_version, state)
        previous = state["hash"]
        if state["hash"] != old_hash:
            encoded = encoded_state(app.mapper, state)
            rewritten.append((event.originator_version, old_hash, previous, encoded))
    if not rewritten:
        return Migrated(case_id, len(stored), check.head, check.head), []
    return Migrated(case_id, len(stored), check.head, previous), rewritten


def migrated_anchor(app: Any, case_id: UUID, anchor: Anchor) -> Anchor:
    """`anchor` as the migration rewrote its head, if it did; else `anchor` as it is."""
    tables = _Tables(app)
    m = tables.mark
    try:
        with tables.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT new_hash FROM {tables.mapping} "
                f"WHERE case_id = {m} AND version = {m} AND old_hash = {m}",
                (str(case_id), anchor.version, anchor.hash),
            )
            row = cursor.fetchone()
    except PersistenceError:  # no migration table: this store was never migrated
        return anchor
    return anchor if row is None else Anchor(anchor.version, str(row["new_hash"]))
