"""What dispatch decides about: the work (a case or a task), and what a decision did."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from casework.domain import Actor, Case, LeakEmergency, Repair, Role, Status
from casework.domain.errors import CaseNotFoundError
from casework.kinds import Kind, kind_named, kinds
from casework.kinds.live import Live
from eventsourcing.persistence import IntegrityError

from dispatch.domain.demand import OPEN_TASK, ServiceTask, TaskStatus
from dispatch.domain.rule import Work

DISPATCHER = Actor("dispatch", Role.SYSTEM)
"""The actor of dispatch's automatic facts: an assignment by the rule, a case queued."""

ASSIGNABLE_KINDS: Mapping[str, Kind] = Live(lambda: {k.name: k for k in kinds() if k.assignable})
"""The registered kinds dispatch assigns by skill (`Kind.skills`): repair, leak, and any
installed kind that names skills; a dispute is mediated instead."""
HOLDING = frozenset({Status.ASSIGNED, Status.IN_PROGRESS})
FINISHED = frozenset({Status.WORK_DONE, Status.RESOLVED, Status.CONFIRMED, Status.CLOSED})


class AssignedMeanwhileError(IntegrityError):
    """The work was assigned by another replica after this unit read it: the save would clash
    on the work's version anyway, so the unit is run again on fresh state (as for a clash)."""


class NotFoundError(CaseNotFoundError):
    """No member, demand or task with that id (answered like an unknown case: 404)."""


def needs_assignment(case: Case) -> bool:
    return (
        case.KIND in ASSIGNABLE_KINDS
        and case.status in (Status.REPORTED, Status.ACKNOWLEDGED)
        and case.assignee is None
    )


def work_for_case(case: Case) -> Work:
    need = kind_named(case.KIND).skill_for(case)
    return Work(str(case.id), case.KIND, need, case.address, frozenset(case.declined_by))


def work_for_task(task: ServiceTask) -> Work:
    return Work(str(task.id), "task", task.need, task.address, frozenset(task.declined_by))


def case_category(case: Case) -> str:
    return str(getattr(case, "category", "other"))


def work_summary(case: Case) -> str:
    """What goes on the volunteer service list when a case's work is done."""
    if isinstance(case, Repair) and case.work_summary:
        return case.work_summary
    if isinstance(case, LeakEmergency):
        cause = f"; cause: {case.cause}" if case.cause else ""
        return f"leak from {case.source_unit} attended, water stopped{cause}"
    return f"{case.KIND} settled"


@dataclass(frozen=True)
class Outcome:
    """What a dispatch decision did: assigned to someone, or queued (or already was)."""

    work_id: str
    assigned_to: str | None
    why: str
    back_on_duty_at: datetime | None = None

    @property
    def queued(self) -> bool:
        return self.assigned_to is None


@dataclass(frozen=True)
class Raised:
    """One occurrence of a recurring need raised as a task, and where the task went."""

    demand_id: str
    occurrence: datetime
    missed: int
    outcome: Outcome


def held_by(work: Any, actor_id: str) -> bool:
    """The case or task names `actor_id` as its assignee and is still in their hands."""
    if isinstance(work, Case):
        held = work.status in HOLDING
    elif isinstance(work, ServiceTask):
        held = work.status in (TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS)
    else:
        return False
    return held and work.assignee is not None and work.assignee.id == actor_id


def task_is_open(task: ServiceTask) -> bool:
    return task.status in OPEN_TASK
