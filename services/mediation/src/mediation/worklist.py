"""The mediators' worklist: one row per dispute, saying where it stands and what is next.

A row is a function of the dispute's committed state (`row_for`), not a sum of events, so the
feed, the API and the scheduler can all `refresh` it from the case they just read, in any order:
a row is replaced only by one from a later version of the case. Moments are kept as UTC ISO
strings so that SQL compares them correctly. Meetings are indexed too, so that
`POST /meetings/{id}/rounds` finds its dispute without the caller naming it, and so are the people
at its meetings (who convened one, who was invited or walked in), for a mediator's own list,
beside the dispute's lead mediator at its tier (`lead_id`), which also puts it on that list.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from casework import Dispute, Status
from casework.domain.ladder import FAILED_ROUNDS_BEFORE_ESCALATION
from casework.domain.mediation_records import CommitmentStatus, Meeting
from casework.projections.sqlite import Scope, SqliteReadModel, listing_where

_SCHEMA = """
create table if not exists disputes (
    case_id text primary key,
    version integer not null,
    address text not null,
    community text not null,
    compound text not null,
    building text,
    tier text not null,
    status text not null,
    category text not null,
    priority text not null,
    description text not null,
    reported_at text not null,
    respond_by text,
    settle_by text,
    escalation_due_at text,
    failed_rounds_at_tier integer not null,
    escalations integer not null,
    meetings_at_tier integer not null,
    next_meeting_at text,
    commitments_open integer not null,
    commitments_due integer not null,
    next_commitment_due text,
    from_leak text,
    next_action text not null,
    attention_at text,
    open integer not null,
    lead_id text,
    lead_role text
);
create index if not exists disputes_place on disputes (community, compound, tier);
create index if not exists disputes_attention on disputes (open, attention_at);
create table if not exists dispute_people (
    case_id text not null,
    actor_id text not null,
    primary key (case_id, actor_id)
);
create index if not exists dispute_people_actor on dispute_people (actor_id);
create table if not exists meeting_people (
    case_id text not null,
    actor_id text not null,
    primary key (case_id, actor_id)
);
create index if not exists meeting_people_actor on meeting_people (actor_id);
create table if not exists meetings (
    meeting_id text primary key,
    case_id text not null,
    form text not null,
    tier text not null,
    scheduled_for text not null,
    place text not null,
    rounds integer not null
);
create index if not exists meetings_case on meetings (case_id);
"""


SCHEMA_VERSION = 3
"""The worklist file's `user_version`: 2 indexes the people at each dispute's meetings, 3 adds
the lead mediator's columns. A file from before gets the columns added and every row filled once,
at start, from the store (`behind`, `caught_up`)."""

_ADDED_COLUMNS = (("lead_id", "text"), ("lead_role", "text"))
"""Columns added to `disputes` after its first version, last in the table as in `WorkRow`."""


def utc(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment is not None else None


@dataclass(frozen=True)
class WorkRow:
    """One dispute on the worklist; moments are UTC ISO strings."""

    case_id: str
    version: int
    address: str
    community: str
    compound: str
    building: str | None
    tier: str
    status: str
    category: str
    priority: str
    description: str
    reported_at: str
    respond_by: str | None
    settle_by: str | None
    escalation_due_at: str | None
    failed_rounds_at_tier: int
    escalations: int
    meetings_at_tier: int
    next_meeting_at: str | None
    commitments_open: int
    commitments_due: int
    next_commitment_due: str | None
    from_leak: str | None
    next_action: str
    attention_at: str | None
    open: int
    lead_id: str | None = None
    lead_role: str | None = None


def next_action(case: Dispute) -> str:
    """What a mediator does next with this dispute, in a few words."""
    if case.status is Status.CLOSED:
        return "nothing: closed"
    due = [i for i, c in enumerate(case.commitments) if c.status is CommitmentStatus.DUE]
    if due:
        return "check back commitment " + ", ".join(f"#{i}" for i in due) + " (due)"
    if case.status is Status.AGREED:
        return "record the resolution: an agreement was reached"
    if case.status in (Status.RESOLVED, Status.CONFIRMED):
        waiting = [c for c in case.commitments if c.is_open]
        if waiting:
            first = min(waiting, key=lambda c: c.due_at())
            return f"check back when commitments fall due (next {first.due})"
        return "close the case: settled and followed up"
    here = live_meetings(case)
    if not here:
        return f"convene a meeting at the {case.tier.value}"
    waiting_round = sorted((m.scheduled_for, k) for k, m in here.items() if m.expects_round)
    if waiting_round:
        when, meeting_id = waiting_round[0]
        meeting = case.meetings[meeting_id]
        return (
            f"hold round {meeting.rounds + 1} of the {meeting.form} {meeting_id} "
            f"({when.isoformat()}, {meeting.place})"
        )
    left = FAILED_ROUNDS_BEFORE_ESCALATION - case.failed_rounds_at_tier
    return f"hold the next round or record the agreement ({left} failed round(s) before it climbs)"


def live_meetings(case: Dispute) -> dict[str, Meeting]:
    """The meetings convened at the dispute's tier and not cancelled."""
    return {k: m for k, m in case.meetings.items() if m.tier is case.tier and not m.cancelled}


def meeting_people(case: Dispute) -> set[str]:
    """Everyone who convened a meeting about the dispute or was invited to one (at its convening,
    after it, or as a walk-in), cancelled meetings and those left at a lower tier included."""
    people: set[str] = set()
    for m in case.meetings.values():
        people.add(m.convened_by)
        people.update(p.id for p in m.participants)
    return people - {""}


def row_for(case: Dispute, description: str | None = None) -> WorkRow:
    address = case.address
    here = list(live_meetings(case).values())
    upcoming = [m.scheduled_for for m in here if m.expects_round]
    open_commitments = [c for c in case.commitments if c.is_open]
    pending_due = [c.due_at() for c in case.commitments if c.status is CommitmentStatus.PENDING]
    from_leak = next((other for other, rel in case.links if rel == "damage_dispute"), None)
    escalation_due = case.escalation_due_at()
    next_meeting = min(upcoming) if upcoming else None
    next_due = min(pending_due) if pending_due else None
    moments = [m for m in (escalation_due, next_meeting, next_due) if m is not None]
    lead = case.lead_mediator
    return WorkRow(
        case_id=str(case.id),
        version=case.version,
        address=address.path,
        community=address.community,
        compound=address.compound,
        building=address.building,
        tier=case.tier.value,
        status=case.status.value,
        category=case.category,
        priority=case.priority.value,
        # As stored (sealed), opened when shown (`Desk.worklist_page`): the worklist keeps no
        # plaintext personal value, so an erasure needs nothing of it. A bare state (tests) is
        # kept cut short as before.
        description=description if description is not None else case.description[:280],
        reported_at=utc(case.reported_at) or "",
        respond_by=utc(case.respond_by),
        settle_by=utc(case.settle_by),
        escalation_due_at=utc(escalation_due),
        failed_rounds_at_tier=case.failed_rounds_at_tier,
        escalations=case.escalations,
        meetings_at_tier=len(here),
        next_meeting_at=utc(next_meeting),
        commitments_open=len(open_commitments),
        commitments_due=sum(1 for c in case.commitments if c.status is CommitmentStatus.DUE),
        next_commitment_due=utc(next_due),
        from_leak=from_leak,
        next_action=next_action(case),
        attention_at=utc(min(moments)) if moments else None,
        open=0 if case.status is Status.CLOSED else 1,
        lead_id=lead.id if lead else None,
        lead_role=lead.role.value if lead else None,
    )


class Worklist(SqliteReadModel):
    NAME = "worklist"
    SKIPPED_TABLE = "worklist_skipped"

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)
        with self._lock:
            have = {row[1] for row in self._db.execute("pragma table_info(disputes)")}
            for column, kind in _ADDED_COLUMNS:
                if column not in have:  # a file from before the column: `behind` refills it
                    self._db.execute(f"alter table disputes add column {column} {kind}")
            empty = self._db.execute("select count(*) from disputes").fetchone()[0] == 0
        if empty:
            self.caught_up()

    def behind(self) -> list[str]:
        """The disputes whose rows predate this schema, to be refreshed from the store once."""
        with self._lock:
            if self._db.execute("pragma user_version").fetchone()[0] >= SCHEMA_VERSION:
                return []
            return [str(r[0]) for r in self._db.execute("select case_id from disputes")]

    def caught_up(self) -> None:
        with self._lock:
            self._db.execute(f"pragma user_version = {SCHEMA_VERSION}")

    # ----------------------------------------------------------------- writing

    def refresh(
        self,
        case: Dispute,
        *,
        again: bool = False,
        event: str = "",
        description: str | None = None,
    ) -> bool:
        """Put the dispute's row (and meetings) in, unless a row from a later version is there
        (or, `again`, from a later one than this).

        A state the row cannot be made from (a stored time no calendar reaches, from before the
        domain refused it) leaves the dispute's row as it was, is recorded as skipped (the
        `event` that brought the dispute to this version) and answers False: the feed, the API
        and a rebuild go on with the next dispute."""
        try:
            row = row_for(case, description)
        except Exception as error:  # the state's, not the file's: the same state fails again
            self.record_skipped(str(case.id), case.version, event or "Dispute", error)
            return False
        people = sorted({*case.reporter_ids, *case.parties})
        with self.transaction() as db:
            held = db.execute(
                "select version from disputes where case_id = ?", (row.case_id,)
            ).fetchone()
            if held is not None and (
                held[0] > row.version or (held[0] == row.version and not again)
            ):
                return False
            values = asdict(row)
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            db.execute(
                f"insert or replace into disputes ({columns}) values ({marks})",
                list(values.values()),
            )
            db.execute("delete from dispute_people where case_id = ?", (row.case_id,))
            db.executemany(
                "insert into dispute_people values (?, ?)", [(row.case_id, p) for p in people]
            )
            db.execute("delete from meeting_people where case_id = ?", (row.case_id,))
            db.executemany(
                "insert into meeting_people values (?, ?)",
                [(row.case_id, p) for p in sorted(meeting_people(case))],
            )
            db.executemany(
                "insert or replace into meetings values (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        meeting_id,
                        row.case_id,
                        m.form,
                        m.tier.value,
                        m.scheduled_for.isoformat(),
                        m.place,
                        m.rounds,
                    )
                    for meeting_id, m in case.meetings.items()
                ],
            )
        return True

    # ----------------------------------------------------------------- reading

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("select count(*) from disputes").fetchone()[0])

    def case_of_meeting(self, meeting_id: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "select case_id from meetings where meeting_id = ?", (meeting_id,)
            ).fetchone()
        return str(row[0]) if row else None

    def page(
        self,
        scope: Scope,
        *,
        tier: str | None = None,
        compound: str | None = None,
        status: str | None = None,
        include_closed: bool = False,
        mine: str | None = None,
        unled: bool = False,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[int, list[WorkRow]]:
        """What needs attention soonest first (a due escalation, meeting or check-back); with
        `mine`, only the disputes that person leads, convened a meeting of or was invited to;
        with `unled`, only those nobody leads at their tier."""
        where, args = listing_where(
            scope, "dispute_people", compound, {"tier": tier, "status": status}
        )
        if mine is not None:
            where.append(
                "(lead_id = ? or case_id in "
                "(select case_id from meeting_people where actor_id = ?))"
            )
            args.extend([mine, mine])
        if unled:
            where.append("lead_id is null")
        if not include_closed and status is None:
            where.append("open = 1")
        total, rows = self.page_of(
            "disputes",
            where,
            args,
            order="attention_at is null, attention_at, reported_at, case_id",
            offset=offset,
            limit=limit,
        )
        return total, [WorkRow(*row) for row in rows]

    def due(self, now: datetime, limit: int = 500) -> list[WorkRow]:
        """Open disputes the scheduler should look at now: a deadline or a commitment due, or
        enough failed rounds to climb."""
        stamp = utc(now)
        with self._lock:
            rows = self._db.execute(
                "select * from disputes where open = 1 and ("
                " escalation_due_at <= ? or next_commitment_due <= ? "
                " or (failed_rounds_at_tier >= ? and status not in ('agreed', 'resolved', "
                "'confirmed') and tier != 'community'))"
                " order by attention_at limit ?",
                (stamp, stamp, FAILED_ROUNDS_BEFORE_ESCALATION, limit),
            ).fetchall()
        return [WorkRow(*row) for row in rows]
