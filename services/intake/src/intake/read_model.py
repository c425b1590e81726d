"""The case index: one row per case, for listing and filtering without scanning the store.

It is a projection of the case events and knows nothing of where they come from: `apply` takes a
`Fact` (one event, by name and fields), which `feeds.py` builds from the store's notification log
or from the public contract models on NATS. Applying is idempotent per case: an event whose
version the index already holds is ignored, so a redelivery or a second feed changes nothing; an
event that skips a version is refused (`GapError`), for the feed to deliver it again later.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from casework import Status
from casework.projections.skipped import apply_fact_or_skip, skipped_schema
from casework.projections.sqlite import Scope, SqliteReadModel, compound_where

KIND_OF_CLASS = {"Repair": "repair", "LeakEmergency": "leak", "Dispute": "dispute"}

SCHEMA = """
create table if not exists cases (
    case_id text primary key,
    kind text not null,
    category text,
    address text not null,
    community text not null,
    compound text not null,
    building text,
    tier text not null,
    status text not null,
    priority text not null,
    reported_at text not null,
    updated_at text not null,
    version integer not null,
    assigned integer not null default 0,
    meetings integer not null default 0,
    water_stopped integer not null default 0,
    cause_recorded integer not null default 0
);
create index if not exists cases_place on cases (community, compound, reported_at);
create table if not exists case_people (
    case_id text not null,
    actor_id text not null,
    primary key (case_id, actor_id)
);
create index if not exists case_people_actor on case_people (actor_id);
create table if not exists positions (source text primary key, position integer not null);
""" + skipped_schema("case_index_skipped")
TABLES = ("cases", "case_people", "positions", "case_index_skipped")


class GapError(RuntimeError):
    """An event arrived before its predecessor; deliver it again once the earlier one is in."""


@dataclass(frozen=True)
class Fact:
    """One event of a case file as the index needs it, whatever carried it."""

    case_id: str
    version: int
    name: str
    kind: str
    at: datetime
    actor_id: str
    tier: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseRow:
    case_id: str
    kind: str
    category: str | None
    address: str
    tier: str
    status: str
    priority: str
    reported_at: str
    updated_at: str
    version: int


class CaseIndex(SqliteReadModel):
    NAME = "case index"
    SKIPPED_TABLE = "case_index_skipped"
    ROWS_TABLE = "cases"

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    # ----------------------------------------------------------------- writing

    def apply(self, facts: Iterable[Fact], source: str | None = None, position: int = 0) -> int:
        """Apply facts in order, with the feed's position, in one transaction; returns applied."""
        applied = 0
        with self.transaction() as db:
            for fact in facts:
                applied += apply_or_skip_fact(db, fact)
            if source is not None:
                db.execute(
                    "insert into positions values (?, ?) on conflict(source) do update "
                    "set position = max(position, excluded.position)",
                    (source, position),
                )
        return applied

    def position(self, source: str) -> int:
        with self._lock:
            row = self._db.execute(
                "select position from positions where source = ?", (source,)
            ).fetchone()
        return int(row[0]) if row else 0

    def version_of(self, case_id: str) -> int:
        with self._lock:
            row = self._db.execute(
                "select version from cases where case_id = ?", (case_id,)
            ).fetchone()
        return int(row[0]) if row else 0

    # ----------------------------------------------------------------- reading

    def list(
        self,
        scope: Scope,
        *,
        compound: str | None = None,
        tier: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[int, list[CaseRow]]:
        where, args = scope.where("case_people")
        if compound is not None:
            condition, named = compound_where(compound)
            where.append(condition)
            args.append(named)
        for column, value in (("tier", tier), ("status", status), ("kind", kind)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        clause = " where " + " and ".join(where) if where else ""
        with self._lock:
            total = self._db.execute(f"select count(*) from cases{clause}", args).fetchone()[0]
            rows = self._db.execute(
                "select case_id, kind, category, address, tier, status, priority, reported_at, "
                f"updated_at, version from cases{clause} "
                "order by reported_at desc, case_id limit ? offset ?",
                [*args, limit, offset],
            ).fetchall()
        return int(total), [CaseRow(*row) for row in rows]


def apply_or_skip_fact(db: sqlite3.Connection, fact: Fact) -> int:
    """`apply_fact`, or, for an event the index cannot apply, record it as skipped and go on."""
    return apply_fact_or_skip(
        db,
        CaseIndex.SKIPPED_TABLE,
        CaseIndex.NAME,
        "cases",
        fact.case_id,
        fact.version,
        fact.name,
        lambda: apply_fact(db, fact),
        gap=GapError,
    )


def apply_fact(db: sqlite3.Connection, fact: Fact) -> int:
    """One fact into the index inside the caller's transaction; 1 if applied, 0 if already in.

    Public so that a rebuild can replay into fresh tables of the same `SCHEMA` (`TABLES`).
    """
    row = db.execute(
        "select version, kind, assigned, meetings, water_stopped, cause_recorded "
        "from cases where case_id = ?",
        (fact.case_id,),
    ).fetchone()
    held = row[0] if row else 0
    if fact.version <= held:
        return 0
    if fact.version != held + 1:
        raise GapError(f"case {fact.case_id}: event {fact.version} arrived before {held + 1}")
    at = fact.at.isoformat()
    if fact.name == "Reported":
        address = str(fact.data["address"])
        parts = [*address.split("/"), None, None]
        db.execute(
            "insert into cases (case_id, kind, category, address, community, compound, building,"
            " tier, status, priority, reported_at, updated_at, version)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                fact.case_id,
                fact.kind,
                fact.data.get("category"),
                address,
                parts[0],
                parts[1],
                parts[2],
                fact.tier,
                Status.REPORTED.value,
                fact.data["priority"],
                at,
                at,
                fact.version,
            ),
        )
        people = [fact.actor_id, *fact.data.get("parties", [])]
        db.executemany(
            "insert or ignore into case_people values (?, ?)",
            [(fact.case_id, p) for p in people],
        )
        return 1
    kind, assigned, meetings, water_stopped, cause = row[1:]
    changes: dict[str, Any] = {"version": fact.version, "updated_at": at}
    name = fact.name
    simple = {
        "Acknowledged": Status.ACKNOWLEDGED,
        "WorkStarted": Status.IN_PROGRESS,
        "WorkDone": Status.WORK_DONE,
        "ArrivedOnSite": Status.IN_PROGRESS,
        "AgreementReached": Status.AGREED,
        "Resolved": Status.RESOLVED,
        "ConfirmedByResident": Status.CONFIRMED,
        "Closed": Status.CLOSED,
    }
    if name in simple:
        changes["status"] = simple[name].value
    elif name == "Assigned":
        changes.update(status=Status.ASSIGNED.value, assigned=1)
    elif name == "AssignmentDeclined":
        changes.update(status=Status.ACKNOWLEDGED.value, assigned=0)
    elif name == "MediationConvened":
        changes.update(status=Status.IN_MEDIATION.value, meetings=1)
    elif name == "WaterStopped":
        status = Status.WORK_DONE if cause else Status.IN_PROGRESS
        changes.update(status=status.value, water_stopped=1)
    elif name == "CauseRecorded":
        changes["cause_recorded"] = 1
        if water_stopped:
            changes["status"] = Status.WORK_DONE.value
    elif name == "Escalated":
        changes["tier"] = fact.data["to_tier"]
    elif name == "Reopened":
        changes["status"] = _status_after_reopen(kind, bool(assigned), bool(meetings)).value
    elif name == "ReporterAdded":
        db.execute(
            "insert or ignore into case_people values (?, ?)",
            (fact.case_id, fact.data["reporter_id"]),
        )
    columns = ", ".join(f"{c} = ?" for c in changes)
    db.execute(f"update cases set {columns} where case_id = ?", [*changes.values(), fact.case_id])
    return 1


def _status_after_reopen(kind: str, assigned: bool, meetings: bool) -> Status:
    """As each kind's `status_after_reopen` in the library decides it."""
    if kind == "leak":
        return Status.IN_PROGRESS
    if kind == "dispute":
        return Status.IN_MEDIATION if meetings else Status.ACKNOWLEDGED
    return Status.ASSIGNED if assigned else Status.ACKNOWLEDGED
