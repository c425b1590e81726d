"""The residents' demand list (居民需求清单) and the service tasks ordered from it.

A demand is a standing need: "Mrs Wang, 82, in b12/0302, needs rice and water carried up; every
Saturday morning". Residents order (群众点单): each time the need falls due, the property office
(or the resident's building leader) orders a `ServiceTask` from the demand, and dispatch sends a
volunteer the same way it sends someone to a repair (党员接单). The task has the repair's
lifecycle: assigned → accepted → started → finished, or declined (→ the next volunteer) or
waiting in the queue when nobody suitable is free.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import uuid4

from casework.domain.actors import Actor, Role
from casework.domain.errors import InvalidTransitionError, NotPermittedError, ValidationError
from casework.domain.places import Address

from dispatch.domain.audited import Audited, require_text
from dispatch.domain.skills import DEMAND_SKILLS, ROLES_FOR

DEMAND_KEEPERS = frozenset(
    {Role.PROPERTY_MANAGER, Role.PROPERTY_STAFF, Role.BUILDING_LEADER, Role.PARTY_SECRETARY}
)
"""Who writes residents' needs down and orders tasks: the property office, building leaders and
the party branch (a resident tells them; residents have no dispatch token of their own yet)."""


def check_demand_keeper(actor: Actor, action: str) -> None:
    if actor.role not in DEMAND_KEEPERS:
        names = ", ".join(sorted(r.value for r in DEMAND_KEEPERS))
        raise NotPermittedError(f"a {actor.role.value} may not {action}; roles that may: {names}")


class Demand(Audited):
    @dataclass(frozen=True)
    class Recorded(Audited.Created):
        resident_id: str
        address: str
        need: str
        description: str
        how_often: str

        def apply_to(self, demand: Any) -> None:
            demand.resident_id = self.resident_id
            demand.address = Address.parse(self.address)
            demand.need = self.need
            demand.description = self.description
            demand.how_often = self.how_often
            demand.active = True
            demand.recorded_at = self.timestamp

    @dataclass(frozen=True)
    class Retired(Audited.Event):
        def apply_to(self, demand: Any) -> None:
            demand.active = False

    @dataclass(frozen=True)
    class TaskOrdered(Audited.Event):
        task_id: str

        def apply_to(self, demand: Any) -> None:
            demand.tasks_ordered += 1

    def __init__(self) -> None:
        super().__init__()
        self.resident_id = ""
        self.address: Address
        self.need = ""
        self.description = ""
        self.how_often = ""
        self.active = False
        self.recorded_at: datetime
        self.tasks_ordered = 0

    @classmethod
    def record_need(
        cls,
        actor: Actor,
        at: datetime,
        *,
        resident_id: str,
        address: str,
        need: str,
        description: str,
        how_often: str = "",
    ) -> Demand:
        check_demand_keeper(actor, "record residents' needs")
        if need not in DEMAND_SKILLS:
            raise ValidationError(
                f"a resident's need is one of {', '.join(sorted(DEMAND_SKILLS))}, not {need!r}"
            )
        place = Address.parse(address)
        if place.building is None:
            raise ValidationError("a need is someone's: give the flat (community/compound/b/unit)")
        Actor(resident_id, Role.RESIDENT)  # the same id rules as any actor
        demand: Demand = cls.start(
            cls.Recorded,
            uuid4(),
            actor,
            at,
            resident_id=resident_id,
            address=place.path,
            need=need,
            description=require_text(description, "the description"),
            how_often=how_often.strip()[:200],
        )
        return demand

    def retire(self, actor: Actor, at: datetime, reason: str) -> None:
        check_demand_keeper(actor, "retire residents' needs")
        if not self.active:
            raise InvalidTransitionError(f"need {self.id} is already retired")
        self.record(self.Retired, actor, at, reason=require_text(reason, "the reason"))

    def order(self, actor: Actor, at: datetime, task_id: str, note: str) -> None:
        check_demand_keeper(actor, "order tasks")
        if not self.active:
            raise InvalidTransitionError(f"need {self.id} is retired; record it again if needed")
        self.record(self.TaskOrdered, actor, at, reason=note.strip(), task_id=task_id)


class TaskStatus(StrEnum):
    REQUESTED = "requested"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


OPEN_TASK = frozenset({TaskStatus.REQUESTED, TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS})


class ServiceTask(Audited):
    """One delivery or visit ordered from a demand; assigned like a repair, to volunteers."""

    KIND = "task"

    @dataclass(frozen=True)
    class Requested(Audited.Created):
        demand_id: str
        resident_id: str
        address: str
        need: str
        description: str
        due_by: datetime | None

        def apply_to(self, task: Any) -> None:
            task.demand_id = self.demand_id
            task.resident_id = self.resident_id
            task.address = Address.parse(self.address)
            task.need = self.need
            task.description = self.description
            task.due_by = self.due_by
            task.requested_at = self.timestamp

    @dataclass(frozen=True)
    class Assigned(Audited.Event):
        assignee_id: str
        assignee_role: str

        def apply_to(self, task: Any) -> None:
            task.assignee = Actor(self.assignee_id, Role(self.assignee_role))
            task.status = TaskStatus.ASSIGNED
            task.accepted_at = None
            task.queued_at = None

    @dataclass(frozen=True)
    class Queued(Audited.Event):
        def apply_to(self, task: Any) -> None:
            task.queued_at = self.timestamp

    @dataclass(frozen=True)
    class Accepted(Audited.Event):
        def apply_to(self, task: Any) -> None:
            task.accepted_at = self.timestamp

    @dataclass(frozen=True)
    class Declined(Audited.Event):
        """Given back by the volunteer, or taken off them by the manager (`take_off`): either
        way the one who held it is not offered it again by the rule."""

        def apply_to(self, task: Any) -> None:
            task.declined_by.append(task.assignee.id if task.assignee else self.actor_id)
            task.assignee = None
            task.accepted_at = None
            task.status = TaskStatus.REQUESTED

    @dataclass(frozen=True)
    class Started(Audited.Event):
        def apply_to(self, task: Any) -> None:
            task.status = TaskStatus.IN_PROGRESS

    @dataclass(frozen=True)
    class Finished(Audited.Event):
        summary: str

        def apply_to(self, task: Any) -> None:
            task.status = TaskStatus.DONE
            task.summary = self.summary
            task.finished_at = self.timestamp

    @dataclass(frozen=True)
    class Cancelled(Audited.Event):
        def apply_to(self, task: Any) -> None:
            task.status = TaskStatus.CANCELLED

    def __init__(self) -> None:
        super().__init__()
        self.demand_id = ""
        self.resident_id = ""
        self.address: Address
        self.need = ""
        self.description = ""
        self.due_by: datetime | None = None
        self.requested_at: datetime
        self.status = TaskStatus.REQUESTED
        self.assignee: Actor | None = None
        self.accepted_at: datetime | None = None
        self.queued_at: datetime | None = None
        self.declined_by: list[str] = []
        self.summary = ""
        self.finished_at: datetime | None = None

    @classmethod
    def request(
        cls, actor: Actor, at: datetime, demand: Demand, description: str, due_by: datetime | None
    ) -> ServiceTask:
        check_demand_keeper(actor, "order tasks")
        if due_by is not None and due_by.tzinfo is None:
            raise ValidationError("due_by must carry a timezone, e.g. 2026-11-28T10:00:00+08:00")
        task: ServiceTask = cls.start(
            cls.Requested,
            uuid4(),
            actor,
            at,
            demand_id=str(demand.id),
            resident_id=demand.resident_id,
            address=demand.address.path,
            need=demand.need,
            description=description.strip() or demand.description,
            due_by=due_by,
        )
        return task

    # Same rules as a case's assignment, for the same people.

    def assign(self, actor: Actor, at: datetime, assignee: Actor, why: str) -> None:
        if actor.role not in (Role.SYSTEM, Role.PROPERTY_MANAGER, Role.PROPERTY_STAFF):
            raise NotPermittedError(f"a {actor.role.value} may not assign tasks")
        if assignee.role not in ROLES_FOR["task"]:
            raise ValidationError(f"residents' needs go to volunteers, not a {assignee.role.value}")
        self.check_status("be assigned", TaskStatus.REQUESTED)
        self.record(
            self.Assigned,
            actor,
            at,
            reason=require_text(why, "why this assignee"),
            assignee_id=assignee.id,
            assignee_role=assignee.role.value,
        )

    def queue(self, actor: Actor, at: datetime, why: str) -> None:
        self.check_status("wait for a volunteer", TaskStatus.REQUESTED)
        if self.queued_at is not None:
            raise InvalidTransitionError(f"task {self.id} is already waiting for a volunteer")
        self.record(self.Queued, actor, at, reason=require_text(why, "why it waits"))

    def accept(self, actor: Actor, at: datetime) -> None:
        self.check_status("be accepted", TaskStatus.ASSIGNED)
        self.check_assignee(actor, "accept it")
        if self.accepted_at is not None:
            raise InvalidTransitionError(f"{actor.id} has already accepted task {self.id}")
        self.record(self.Accepted, actor, at)

    def decline(self, actor: Actor, at: datetime, reason: str) -> None:
        self.check_status("be declined", TaskStatus.ASSIGNED)
        self.check_assignee(actor, "decline it")
        self.record(self.Declined, actor, at, reason=require_text(reason, "the reason"))

    def take_off(self, actor: Actor, at: datetime, reason: str) -> None:
        """The manager takes the task off its volunteer (ill, not answering, away)."""
        if actor.role not in (Role.SYSTEM, Role.PROPERTY_MANAGER, Role.PROPERTY_STAFF):
            raise NotPermittedError(f"a {actor.role.value} may not take tasks off volunteers")
        self.check_status("be taken off its volunteer", TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS)
        if self.assignee is None:
            raise InvalidTransitionError(f"task {self.id} has nobody to take it off")
        self.record(self.Declined, actor, at, reason=require_text(reason, "the reason"))

    def begin(self, actor: Actor, at: datetime) -> None:
        self.check_status("be started", TaskStatus.ASSIGNED)
        self.check_assignee(actor, "start it")
        self.record(self.Started, actor, at)

    def finish(self, actor: Actor, at: datetime, summary: str) -> None:
        self.check_status("be finished", TaskStatus.IN_PROGRESS)
        self.check_assignee(actor, "finish it")
        self.record(self.Finished, actor, at, summary=require_text(summary, "what was done"))

    def cancel(self, actor: Actor, at: datetime, reason: str) -> None:
        check_demand_keeper(actor, "cancel tasks")
        self.check_status("be cancelled", *OPEN_TASK)
        self.record(self.Cancelled, actor, at, reason=require_text(reason, "the reason"))

    def check_status(self, action: str, *allowed: TaskStatus) -> None:
        if self.status not in allowed:
            names = " or ".join(s.value for s in allowed)
            raise InvalidTransitionError(
                f"task {self.id} is {self.status.value}; it must be {names} to {action}"
            )

    def check_assignee(self, actor: Actor, action: str) -> None:
        if self.assignee is None or self.assignee.id != actor.id:
            who = self.assignee.id if self.assignee else "nobody"
            raise InvalidTransitionError(
                f"task {self.id} is assigned to {who}; {actor.id} cannot {action}"
            )

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "kind": "task",
            "version": self.version,
            "demand_id": self.demand_id,
            "resident_id": self.resident_id,
            "address": self.address.path,
            "need": self.need,
            "description": self.description,
            "due_by": self.due_by.isoformat() if self.due_by else None,
            "requested_at": self.requested_at.isoformat(),
            "status": self.status.value,
            "assignee": (
                {"id": self.assignee.id, "role": self.assignee.role.value}
                if self.assignee
                else None
            ),
            "accepted_at": self.accepted_at.isoformat() if self.accepted_at else None,
            "queued_at": self.queued_at.isoformat() if self.queued_at else None,
            "declined_by": list(self.declined_by),
            "summary": self.summary,
        }
