"""The case index: one row per case, for listing and filtering without scanning the store.

It also holds the matters (`matters`: duplicate key -> the cases reported about it), so that a
second report of one leaking flat finds the open case: made from each report's own fields
(`intake.triage.matter_key`), so a rebuild from the store makes them again; the desk writes its
own new case's key at once too (`remember_matter`), not to wait for the feed. No personal value
is kept here: the index holds ids, places, kinds and times, never a contact or a description.

It is a projection of the case events and knows nothing of where they come from: `apply` takes
the public contract `CaseEvent`s, which the case feed (`feeds.py`) reads from NATS or makes from
the store's notification log. Applying is idempotent per case: an event whose version the index
already holds is ignored, so a redelivery or a second feed changes nothing; an event that skips
a version is refused (`GapError`), for the feed to deliver it again later.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casework import Address, Status
from casework.contracts import CaseEvent
from casework.contracts.mapping import EVENT_NAMES
from casework.contracts.payloads import (
    DisputeReportedFields,
    EscalatedFields,
    ReportedFields,
    ReporterAddedFields,
)
from casework.projections.skipped import apply_fact_or_skip, skipped_schema
from casework.projections.sqlite import EventFedModel, Scope, listing_where

from intake.triage import matter_key

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
create table if not exists matters (
    key text not null,
    case_id text not null,
    primary key (key, case_id)
);
create table if not exists positions (source text primary key, position integer not null);
""" + skipped_schema("case_index_skipped")
TABLES = ("cases", "case_people", "matters", "positions", "case_index_skipped")


class GapError(RuntimeError):
    """An event arrived before its predecessor; deliver it again once the earlier one is in."""


_NAMES = EVENT_NAMES


def name_of(event: CaseEvent) -> str:
    """The event as the domain names it (`WaterStopped` for a `LeakWaterStoppedV1`), so that a
    read model and the domain's own lists (`ANSWERS_A_TIER`) speak of events alike, whichever
    kind of case recorded them. Read from the library's topic-to-model table, never parsed."""
    return _NAMES[type(event)]


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


class CaseIndex(EventFedModel):
    NAME = "case index"
    SKIPPED_TABLE = "case_index_skipped"
    ROWS_TABLE = "cases"
    POSITIONS_TABLE = "positions"

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMA)

    # ----------------------------------------------------------------- writing

    def apply_event(self, db: sqlite3.Connection, event: CaseEvent) -> int:
        return apply_or_skip(db, event)

    def remember_matter(self, key: str, case_id: str) -> None:
        """The desk's own new case, at once; the feed writes the same row again when the
        report arrives (a no-op), and a rebuild writes it from the store: the same row either
        way, so a rebuilt index equals the one the desk and the feed built."""
        with self.transaction() as db:
            db.execute("insert or ignore into matters values (?, ?)", (key, case_id))

    # ----------------------------------------------------------------- reading

    def cases_of_matter(self, key: str) -> list[str]:
        """Newest first: the most recent open case of the matter is the one to join (a case
        the desk just opened, not yet in the index, newest of all)."""
        with self._lock:
            rows = self._db.execute(
                "select m.case_id from matters m left join cases c on c.case_id = m.case_id "
                "where m.key = ? order by c.reported_at is null desc, c.reported_at desc, "
                "m.case_id",
                (key,),
            ).fetchall()
        return [str(r[0]) for r in rows]

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
        where, args = listing_where(
            scope, "case_people", compound, {"tier": tier, "status": status, "kind": kind}
        )
        total, rows = self.page_of(
            "cases",
            where,
            args,
            columns="case_id, kind, category, address, tier, status, priority, reported_at, "
            "updated_at, version",
            order="reported_at desc, case_id",
            offset=offset,
            limit=limit,
        )
        return total, [CaseRow(*row) for row in rows]


def apply_or_skip(db: sqlite3.Connection, event: CaseEvent) -> int:
    """`apply_event`, or, for an event the index cannot apply, record it as skipped and go on."""
    return apply_fact_or_skip(
        db,
        CaseIndex.SKIPPED_TABLE,
        CaseIndex.NAME,
        "cases",
        str(event.case_id),
        event.version,
        name_of(event),
        lambda: apply_event(db, event),
        gap=GapError,
    )


def apply_event(db: sqlite3.Connection, event: CaseEvent) -> int:
    """One event into the index inside the caller's transaction; 1 if applied, 0 if already in.

    Public so that a rebuild can replay into fresh tables of the same `SCHEMA` (`TABLES`).
    """
    case_id = str(event.case_id)
    row = db.execute(
        "select version, kind, assigned, meetings, water_stopped, cause_recorded, status "
        "from cases where case_id = ?",
        (case_id,),
    ).fetchone()
    held = row[0] if row else 0
    if event.version <= held:
        return 0
    if event.version != held + 1:
        raise GapError(f"case {case_id}: event {event.version} arrived before {held + 1}")
    at = event.occurred_at.isoformat()
    if isinstance(event, ReportedFields):
        parts = [*event.address.split("/"), None, None]
        db.execute(
            "insert into cases (case_id, kind, category, address, community, compound, building,"
            " tier, status, priority, reported_at, updated_at, version)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                event.kind,
                getattr(event, "category", None),  # a leak has none
                event.address,
                parts[0],
                parts[1],
                parts[2],
                event.tier,
                Status.REPORTED.value,
                event.priority,
                at,
                at,
                event.version,
            ),
        )
        parties: list[str] = event.parties if isinstance(event, DisputeReportedFields) else []
        db.executemany(
            "insert or ignore into case_people values (?, ?)",
            [(case_id, p) for p in [event.actor_id, *parties]],
        )
        key = matter_key(
            event.kind,
            Address.parse(event.address),
            category=getattr(event, "category", None),
            source_unit=getattr(event, "source_unit", None),
        )
        if key is not None:
            db.execute("insert or ignore into matters values (?, ?)", (key, case_id))
        return 1
    kind, assigned, meetings, water_stopped, cause, status_now = row[1:]
    changes: dict[str, Any] = {"version": event.version, "updated_at": at}
    name = name_of(event)
    simple = {
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
    elif name == "Acknowledged":
        # As `Case.Acknowledged.apply_to`: the first one moves a reported case on; a later one,
        # at a tier the case climbed to while assigned or in mediation, leaves the work as it is.
        if status_now == Status.REPORTED.value:
            changes["status"] = Status.ACKNOWLEDGED.value
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
    elif isinstance(event, EscalatedFields):
        changes["tier"] = event.to_tier
    elif name == "Reopened":
        changes["status"] = _status_after_reopen(kind, bool(assigned), bool(meetings)).value
    elif isinstance(event, ReporterAddedFields):
        db.execute("insert or ignore into case_people values (?, ?)", (case_id, event.reporter_id))
    columns = ", ".join(f"{c} = ?" for c in changes)
    db.execute(f"update cases set {columns} where case_id = ?", [*changes.values(), case_id])
    return 1


def _status_after_reopen(kind: str, assigned: bool, meetings: bool) -> Status:
    """As each kind's `status_after_reopen` in the library decides it."""
    if kind == "leak":
        return Status.IN_PROGRESS
    if kind == "dispute":
        return Status.IN_MEDIATION if meetings else Status.ACKNOWLEDGED
    return Status.ASSIGNED if assigned else Status.ACKNOWLEDGED
