"""The domain's objects as the API shows them (the response models of `dispatch.schemas`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from casework import Case, LeakEmergency
from casework.audit import history_entry, verify_events
from casework.kinds import kind_named
from casework_web.history import HistoryEntryPublic, history_public

from dispatch.application import Outcome
from dispatch.board import ServiceEntry, Waiting
from dispatch.domain.availability import available_at
from dispatch.domain.demand import Demand, ServiceTask
from dispatch.domain.member import Member
from dispatch.runtime import Runtime
from dispatch.schemas import (
    DemandPublic,
    HandedOn,
    MemberLeft,
    MemberPublic,
    Person,
    RecurrencePublic,
    ServiceEntryPublic,
    TaskOrdered,
    WaitingPublic,
    WorkPublic,
)


def work_public(work: Any, why: str | None = None) -> WorkPublic:
    if isinstance(work, ServiceTask):
        return WorkPublic(
            id=str(work.id),
            kind="task",
            status=work.status.value,
            address=work.address.path,
            description=work.description,
            need=work.need,
            due_by=work.due_by,
            assignee=Person(id=work.assignee.id, role=work.assignee.role.value)
            if work.assignee
            else None,
            accepted_at=work.accepted_at,
            queued_at=work.queued_at,
            why=why,
            version=work.version,
        )
    assert isinstance(work, Case)
    leak = work if isinstance(work, LeakEmergency) else None
    return WorkPublic(
        id=str(work.id),
        kind=work.KIND,
        status=work.status.value,
        address=work.address.path,
        description=work.description,
        need=getattr(work, "category", None) or _skill(work),
        priority=work.priority.value,
        tier=work.tier.value,
        respond_by=work.respond_by,
        settle_by=work.settle_by,
        assignee=Person(id=work.assignee.id, role=work.assignee.role.value)
        if work.assignee
        else None,
        accepted_at=work.accepted_at,
        queued_at=work.queued_at,
        why=why,
        source_unit=leak.source_unit if leak else None,
        owner_reached=(leak.owner_reached_at is not None) if leak else None,
        water_stopped=(leak.water_stopped_at is not None) if leak else None,
        version=work.version,
    )


def _skill(case: Case) -> str | None:
    """The skill a case without a category needs, as its kind names it (a leak: plumbing)."""
    kind = kind_named(case.KIND)
    return kind.skill_for(case) if kind.assignable else None


def member_public(member: Member, now: datetime) -> MemberPublic:
    p = member.profile()
    return MemberPublic(
        **{k: v for k, v in p.items() if k != "last_taken_at"},
        last_taken_at=member.last_taken_at,
        available_now=member.active and available_at(member.availability, member.timezone, now),
    )


def member_left(member: Member, now: datetime, handed_on: list[Outcome]) -> MemberLeft:
    """A member off the roster, and where each piece of their work went."""
    return MemberLeft(
        **member_public(member, now).model_dump(),
        handed_on=[
            HandedOn(work_id=o.work_id, assigned_to=o.assigned_to, why=o.why) for o in handed_on
        ],
    )


def waiting_public(waiting: Waiting) -> WaitingPublic:
    return WaitingPublic(**vars(waiting))


def service_entry_public(entry: ServiceEntry) -> ServiceEntryPublic:
    return ServiceEntryPublic(**{**vars(entry), "for_whom": list(entry.for_whom)})


def task_ordered(task: ServiceTask, outcome: Outcome) -> TaskOrdered:
    """A task ordered from a need, and who was sent (or why it waits)."""
    return TaskOrdered(task=work_public(task), assigned_to=outcome.assigned_to, why=outcome.why)


def demand_public(demand: Demand) -> DemandPublic:
    return DemandPublic(
        id=str(demand.id),
        resident_id=demand.resident_id,
        address=demand.address.path,
        need=demand.need,
        description=demand.description,
        how_often=demand.how_often,
        active=demand.active,
        tasks_ordered=demand.tasks_ordered,
        recorded_at=demand.recorded_at,
        recurrence=(
            RecurrencePublic(**demand.recurrence.to_dict(), words=demand.recurrence.describe())
            if demand.recurrence is not None
            else None
        ),
        paused=demand.paused,
        next_occurrence=demand.next_occurrence(),
        last_occurrence=demand.last_occurrence,
    )


def audit_trail(rt: Runtime, aggregate_id: UUID) -> tuple[bool, list[HistoryEntryPublic]]:
    """A dispatch aggregate's every fact (who, when, why), read as every service shows a case
    file (`casework_web.history`), and whether its hash chain verifies."""
    casework = rt.app.casework
    stored = list(casework.recorder.select_events(aggregate_id))
    entries = (history_entry(e) for e in casework.events.get(aggregate_id))
    return verify_events(aggregate_id, stored, casework.mapper).ok, history_public(entries)
