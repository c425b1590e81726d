"""The measures read model: one row per case and one per assignment, kept from the case events.

Rates over a window (`from`/`to`) cannot be kept as running totals — a window chosen later needs
each case's own times — so the model keeps, per case, the few facts the measures read: when it
was reported and first answered, the deadlines in force, where it is, where and when it was
settled, its rating; and per assignment, who took it, whether they declined or did it and in
time. `definitions.py` turns rows into measures; nothing here decides what a rate means.

Like the case index it is fed the contract `CaseEvent`s by the case feed (`feeds.py`: from the
store's notification log, or the CASEWORK stream on NATS), is idempotent per case version (a
redelivered event changes nothing) and refuses an event that skips a version (`GapError`: the
feed delivers it again).
Times are stored as microseconds since the epoch, so comparisons never depend on time zones.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from casework.contracts import CaseEvent
from casework.contracts.mapping import ANSWERING
from casework.contracts.payloads import (
    AssignedFields,
    DeadlinesSetFields,
    EscalatedFields,
    ReportedFields,
    SatisfactionRatedFields,
)
from casework.projections.skipped import apply_fact_or_skip, skipped_schema
from casework.projections.sqlite import EventFedModel, SqliteReadModel

from intake.read_model import GapError, name_of

SCHEMA_VERSION = 3
"""Raised whenever a change to the tables needs the events replayed (2: the response at the
tier, `responded_at_tier` and `agreed`). A file holding another version has its measures tables
dropped when opened, so they are refilled from the store (see `retire_outdated`)."""

SCHEMA = f"""
create table if not exists measure_cases (
    case_id text primary key,
    version integer not null,
    kind text not null,
    priority text not null,
    address text not null,
    compound text not null,
    reported_at integer not null,
    entry_tier text not null,
    tier text not null,
    first_respond_by integer,
    respond_by integer,
    settle_by integer,
    first_response_at integer,
    responded_at_tier integer,
    water_stopped_at integer,
    agreed integer not null default 0,
    settled integer not null default 0,
    settled_at integer,
    settled_tier text,
    rating integer,
    reopened integer not null default 0,
    escalations integer not null default 0
);
create index if not exists measure_cases_reported on measure_cases (reported_at);
create table if not exists measure_tasks (
    case_id text not null,
    task_no integer not null,
    assignee_id text not null,
    assignee_role text not null,
    assigned_at integer not null,
    declined_at integer,
    taken_off_at integer,
    done_at integer,
    done_on_time integer,
    reopened_after_done integer not null default 0,
    primary key (case_id, task_no)
);
create index if not exists measure_tasks_assignee on measure_tasks (assignee_id);
create table if not exists measure_positions (source text primary key, position integer not null);
create table if not exists measure_schema (name text primary key, version integer not null);
insert or replace into measure_schema values ('measures', {SCHEMA_VERSION});
""" + skipped_schema("measure_skipped")
TABLES = ("measure_cases", "measure_tasks", "measure_positions", "measure_skipped")

ANSWERS = ANSWERING
"""Contract model -> whether its event answers a case at its tier (the first of them its first
response): the domain's own list and its kinds' marks, so the dashboard and the ladder's
scheduler agree on what "responded" means."""

AGREEMENT_ENDS = frozenset({"MediationConvened", "Reopened", "Resolved"})
"""Events after which a dispute is no longer `agreed` (the domain's status leaves AGREED)."""

WORK_DONE = frozenset({"WorkDone", "WaterStopped"})
"""An assignee's task is done when they record the work done (repair) or the water stopped."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(at: datetime | str) -> int:
    """Microseconds since the epoch; a time without a timezone is refused (it has no meaning)."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        raise ValueError(f"time {at.isoformat()} carries no timezone")
    return (at - _EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True)
class CaseRecord:
    """What the measures know of one case (times in microseconds since the epoch)."""

    case_id: str
    kind: str
    priority: str
    address: str
    compound: str
    reported_at: int
    entry_tier: str
    tier: str
    first_respond_by: int | None
    respond_by: int | None
    settle_by: int | None
    first_response_at: int | None
    responded_at_tier: int | None
    water_stopped_at: int | None
    agreed: bool
    settled: bool
    settled_at: int | None
    settled_tier: str | None
    rating: int | None
    reopened: int
    escalations: int


@dataclass(frozen=True)
class TaskRecord:
    """One assignment: who took it, and whether they declined it or did it (and in time)."""

    case_id: str
    task_no: int
    assignee_id: str
    assignee_role: str
    assigned_at: int
    declined_at: int | None
    taken_off_at: int | None
    done_at: int | None
    done_on_time: bool | None
    reopened_after_done: bool


_CASE_COLUMNS = (
    "case_id, kind, priority, address, compound, reported_at, entry_tier, tier, "
    "first_respond_by, respond_by, settle_by, first_response_at, responded_at_tier, "
    "water_stopped_at, agreed, settled, "
    "settled_at, settled_tier, rating, reopened, escalations"
)
_TASK_COLUMNS = (
    "t.case_id, t.task_no, t.assignee_id, t.assignee_role, t.assigned_at, t.declined_at, "
    "t.taken_off_at, t.done_at, t.done_on_time, t.reopened_after_done"
)


class MeasuresModel(EventFedModel):
    """The read model in a SQLite file (by default the intake's own `intake.db`)."""

    NAME = "measures"
    SKIPPED_TABLE = "measure_skipped"
    ROWS_TABLE = "measure_cases"
    POSITIONS_TABLE = "measure_positions"

    def __init__(self, path: Path, *, beside: SqliteReadModel | None = None) -> None:
        """`beside`: the case index of the same file, whose connection it then shares, so the
        case feed applies both in one transaction (`feeds.ReadModels`)."""
        retire_outdated(path)
        super().__init__(path, SCHEMA, beside=beside)

    # ----------------------------------------------------------------- writing

    def apply_event(self, db: sqlite3.Connection, event: CaseEvent) -> int:
        return apply_or_skip(db, event)

    # ----------------------------------------------------------------- reading

    def holds_cases(self) -> bool:
        with self._lock:
            row = self._db.execute("select exists (select 1 from measure_cases)").fetchone()
        return bool(row[0])

    def records(
        self,
        *,
        place: str | None = None,
        compound: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> tuple[list[CaseRecord], list[TaskRecord]]:
        """Cases reported in [start, end) at or under `place` and in `compound`, with their tasks.

        `place` is a path prefix (community, community/compound or …/building; None: all);
        `compound` a compound id or community/compound.
        """
        where: list[str] = []
        args: list[Any] = []
        if place is not None:
            where.append("(address = ? or substr(address, 1, ?) = ?)")
            args += [place, len(place) + 1, place + "/"]
        if compound is not None:
            if "/" in compound:
                where.append("compound = ?")
                args.append(compound)
            else:
                where.append("substr(compound, instr(compound, '/') + 1) = ?")
                args.append(compound)
        if start is not None:
            where.append("reported_at >= ?")
            args.append(to_us(start))
        if end is not None:
            where.append("reported_at < ?")
            args.append(to_us(end))
        clause = " where " + " and ".join(where) if where else ""
        with self._lock:
            cases = self._db.execute(
                f"select {_CASE_COLUMNS} from measure_cases{clause} order by reported_at, case_id",
                args,
            ).fetchall()
            tasks = self._db.execute(
                f"select {_TASK_COLUMNS} from measure_tasks t join measure_cases using (case_id)"
                f"{clause} order by t.assigned_at, t.case_id, t.task_no",
                args,
            ).fetchall()
        return [_case(row) for row in cases], [_task(row) for row in tasks]


def _case(row: tuple[Any, ...]) -> CaseRecord:
    values = dict(zip(_CASE_COLUMNS.split(", "), row, strict=True))
    values["settled"] = bool(values["settled"])
    values["agreed"] = bool(values["agreed"])
    return CaseRecord(**values)


def _task(row: tuple[Any, ...]) -> TaskRecord:
    names = [column.removeprefix("t.") for column in _TASK_COLUMNS.split(", ")]
    values = dict(zip(names, row, strict=True))
    if values["done_on_time"] is not None:
        values["done_on_time"] = bool(values["done_on_time"])
    values["reopened_after_done"] = bool(values["reopened_after_done"])
    return TaskRecord(**values)


def retire_outdated(path: Path) -> bool:
    """Drop the measures tables of a file written with another `SCHEMA_VERSION`; True if dropped.

    `create table if not exists` would keep an older file's tables as they are, and the new
    columns would be missing (or, worse, never filled for the events already applied). The
    measures are derived from the store, so dropping them is safe: a store-fed intake reads the
    log again from its measures' position (now 0), and one fed over NATS fills them at start
    (`rebuild.backfill`: measures empty while the case index holds cases). The case index and
    the contacts in the same file are left alone.
    """
    if not path.exists():
        return False
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        db.execute("begin immediate")
        try:
            names = {row[0] for row in db.execute("select name from sqlite_master")}
            version = None
            if "measure_schema" in names:
                row = db.execute(
                    "select version from measure_schema where name = 'measures'"
                ).fetchone()
                version = row[0] if row else None
            outdated = "measure_cases" in names and version != SCHEMA_VERSION
            if outdated:
                for table in (*TABLES, "measure_schema"):
                    db.execute(f"drop table if exists {table}")
        except BaseException:
            db.execute("rollback")
            raise
        db.execute("commit")
        return outdated
    finally:
        db.close()


def apply_or_skip(db: sqlite3.Connection, event: CaseEvent) -> int:
    """`apply_event`, or, for an event the measures cannot apply, record it as skipped and go on."""
    return apply_fact_or_skip(
        db,
        MeasuresModel.SKIPPED_TABLE,
        MeasuresModel.NAME,
        "measure_cases",
        str(event.case_id),
        event.version,
        name_of(event),
        lambda: apply_event(db, event),
        gap=GapError,
    )


def apply_event(db: sqlite3.Connection, event: CaseEvent) -> int:
    """Apply one event inside the caller's transaction; 1 if applied, 0 if already held."""
    case_id = str(event.case_id)
    row = db.execute(
        "select version, settle_by from measure_cases where case_id = ?", (case_id,)
    ).fetchone()
    held = row[0] if row else 0
    if event.version <= held:
        return 0
    if event.version != held + 1:
        raise GapError(f"case {case_id}: event {event.version} arrived before {held + 1}")
    at = to_us(event.occurred_at)
    if isinstance(event, ReportedFields):
        db.execute(
            "insert into measure_cases (case_id, version, kind, priority, address, compound,"
            " reported_at, entry_tier, tier) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                case_id,
                event.version,
                event.kind,
                event.priority,
                event.address,
                "/".join(event.address.split("/")[:2]),
                at,
                event.tier,
                event.tier,
            ),
        )
        return 1
    if row is None:  # pragma: no cover - a first event that is not a report: a broken stream
        raise GapError(f"case {case_id}: event {event.version} before its report")
    settle_by: int | None = row[1]
    changes: dict[str, Any] = {"version": event.version}
    updates: list[str] = []
    name = name_of(event)
    if ANSWERS.get(type(event), False):
        updates.append("first_response_at = coalesce(first_response_at, :at)")
        updates.append("responded_at_tier = coalesce(responded_at_tier, :at)")
    if name in AGREEMENT_ENDS:
        changes["agreed"] = 0
    if isinstance(event, DeadlinesSetFields):
        # entering a tier (reported, escalated, reopened): this tier owes its own response
        changes["respond_by"] = to_us(event.respond_by)
        changes["settle_by"] = to_us(event.settle_by)
        changes["responded_at_tier"] = None
        updates.append("first_respond_by = coalesce(first_respond_by, :respond_by)")
    elif isinstance(event, AssignedFields):
        db.execute(
            "insert into measure_tasks (case_id, task_no, assignee_id, assignee_role, assigned_at)"
            " values (?, (select count(*) + 1 from measure_tasks where case_id = ?), ?, ?, ?)",
            (case_id, case_id, event.assignee_id, event.assignee_role, at),
        )
    elif name == "AssignmentDeclined":
        # the holder turning work down (退单) counts against them; the manager taking it off
        # them (ill, away: `take_off`) ends the task without blame
        db.execute(
            "update measure_tasks set "
            "declined_at = case when assignee_id = ? then ? else declined_at end, "
            "taken_off_at = case when assignee_id = ? then taken_off_at else ? end "
            "where case_id = ? and task_no = "
            "(select max(task_no) from measure_tasks where case_id = ?)",
            (event.actor_id, at, event.actor_id, at, case_id, case_id),
        )
    elif isinstance(event, EscalatedFields):
        changes["tier"] = event.to_tier
        updates.append("escalations = escalations + 1")
    elif name == "Resolved":
        changes.update(settled=1, settled_at=at, settled_tier=event.tier)
    elif name == "Reopened":
        changes.update(settled=0, settled_at=None, settled_tier=None)
        updates.append("reopened = reopened + 1")
        db.execute(
            "update measure_tasks set reopened_after_done = 1 "
            "where case_id = ? and done_at is not null",
            (case_id,),
        )
    elif name == "AgreementReached":
        changes["agreed"] = 1
    elif isinstance(event, SatisfactionRatedFields):
        changes["rating"] = event.score
    if name == "WaterStopped":
        changes["water_stopped_at"] = at
    if name in WORK_DONE:
        # the assignee of the case's latest, undeclined task did the work, in time or not
        on_time = None if settle_by is None else int(at <= settle_by)
        db.execute(
            "update measure_tasks set done_at = ?, done_on_time = ? where case_id = ? and "
            "task_no = (select max(task_no) from measure_tasks where case_id = ?) and "
            "assignee_id = ? and declined_at is null and taken_off_at is null and done_at is null",
            (at, on_time, case_id, case_id, event.actor_id),
        )
    params = {**changes, "at": at, "case_id": case_id}
    assignments = [f"{column} = :{column}" for column in changes] + updates
    db.execute(
        f"update measure_cases set {', '.join(assignments)} where case_id = :case_id", params
    )
    return 1
