"""The residents' demand list (居民需求清单) and the service tasks ordered from it.

A demand is a standing need: "Mrs Wang, 82, in b12/0302, needs rice and water carried up; every
Saturday morning". Residents order (群众点单): each time the need falls due, the property office
(or the resident's building leader) orders a `ServiceTask` from the demand, and dispatch sends a
volunteer the same way it sends someone to a repair (党员接单). The task has the repair's
lifecycle: assigned → accepted → started → finished, or declined (→ the next volunteer) or
waiting in the queue when nobody suitable is free.

A need may carry a recurrence (`recurrence.py`): then the scheduler orders each occurrence's
task itself when it falls due, as the automatic actor `scheduler`, instead of someone ordering
it by hand. The demand's `cursor` is the moment up to which occurrences are settled (raised,
or passed over on purpose); each raise moves it forward in the same transaction as the task is
created, under an id derived from the need and the occurrence, so a second raise of the same
occurrence clashes in the store and is decided again on fresh state, where nothing is due.
Occurrences missed while dispatch was down are not all raised: only the latest is, and the
number passed over is recorded with it (a week-old "carry the rice up" helps nobody, and three
volunteers sent at once for one need is worse than one). Pausing (in hospital, away) stops
occurrences until resumed; resuming counts only occurrences after it. Retiring ends them.

Why one module of ~515 lines: it holds two aggregates, `Demand` and the `ServiceTask` ordered
from it, and the store names each of their events by this module (`dispatch.domain.demand:
ServiceTask.Assigned`, ...). Moving `ServiceTask` out would change the topic of every task event
already stored, so reading existing stores would need old topics registered for each of them;
the two are read together (a task is raised from a demand's occurrence), and the seam that
could move without touching stored topics (a few helpers) would leave no module simpler.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from casework.domain.actors import Actor, Role
from casework.domain.errors import InvalidTransitionError, NotPermittedError, ValidationError
from casework.domain.places import Address
from casework.domain.windows import RECURRENCE_START, TASK_DUE

from dispatch.domain.audited import Audited, named_id, require_text
from dispatch.domain.recurrence import CST, Recurrence
from dispatch.domain.skills import DEMAND_SKILLS, ROLES_FOR

DEMAND_KEEPERS = frozenset(
    {Role.PROPERTY_MANAGER, Role.PROPERTY_STAFF, Role.BUILDING_LEADER, Role.PARTY_SECRETARY}
)
"""Who writes residents' needs down and orders tasks: the property office, building leaders and
the party branch (a resident tells them; residents have no dispatch token of their own yet)."""


def occurrence_task_id(demand_id: UUID | str, occurrence: datetime) -> UUID:
    """The task of one occurrence of a need: the same id on every replica and after a restart,
    so raising it twice is refused by the store."""
    return named_id("occurrence", f"{demand_id}@{occurrence.astimezone(UTC).isoformat()}")


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

    @dataclass(frozen=True)
    class RecurrenceSet(Audited.Event):
        """The need recurs by this rule from now on (occurrences after the event's moment)."""

        recurrence: dict[str, Any]

        def apply_to(self, demand: Any) -> None:
            rule = Recurrence.parse(self.recurrence, self.timestamp.astimezone(CST).date())
            demand.recurrence = rule
            demand.cursor = self.timestamp

    @dataclass(frozen=True)
    class Paused(Audited.Event):
        def apply_to(self, demand: Any) -> None:
            demand.paused = True

    @dataclass(frozen=True)
    class Resumed(Audited.Event):
        """Occurrences while paused are not owed: only those after resuming are raised."""

        def apply_to(self, demand: Any) -> None:
            demand.paused = False
            demand.cursor = self.timestamp

    @dataclass(frozen=True)
    class OccurrenceRaised(Audited.Event):
        task_id: str
        occurrence: datetime
        missed: int

        def apply_to(self, demand: Any) -> None:
            demand.tasks_ordered += 1
            demand.cursor = self.occurrence
            demand.last_occurrence = self.occurrence

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
        self.recurrence: Recurrence | None = None
        self.paused = False
        self.cursor: datetime | None = None
        self.last_occurrence: datetime | None = None

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

    # ------------------------------------------------------------ recurrence

    def set_recurrence(self, actor: Actor, at: datetime, rule: Recurrence, reason: str) -> None:
        check_demand_keeper(actor, "set how residents' needs recur")
        self.check_active("recur")
        RECURRENCE_START.check_day(rule.starts_on, at.astimezone(CST).date())
        self.record(
            self.RecurrenceSet,
            actor,
            at,
            reason=reason.strip()[:2000] or f"recurs {rule.describe()}",
            recurrence=rule.to_dict(),
        )

    def pause(self, actor: Actor, at: datetime, reason: str) -> None:
        check_demand_keeper(actor, "pause residents' needs")
        self.check_active("be paused")
        if self.recurrence is None:
            raise InvalidTransitionError(f"need {self.id} does not recur; nothing to pause")
        if self.paused:
            raise InvalidTransitionError(f"need {self.id} is already paused")
        self.record(self.Paused, actor, at, reason=require_text(reason, "the reason"))

    def resume(self, actor: Actor, at: datetime, reason: str) -> None:
        check_demand_keeper(actor, "resume residents' needs")
        self.check_active("be resumed")
        if not self.paused:
            raise InvalidTransitionError(f"need {self.id} is not paused")
        self.record(self.Resumed, actor, at, reason=require_text(reason, "the reason"))

    def check_active(self, action: str) -> None:
        if not self.active:
            raise InvalidTransitionError(f"need {self.id} is retired and cannot {action}")

    def next_occurrence(self) -> datetime | None:
        """The next occurrence to be raised (None: no rule, paused or retired)."""
        if not self.active or self.paused or self.recurrence is None or self.cursor is None:
            return None
        return self.recurrence.next_after(self.cursor)

    def due_occurrence(self, now: datetime) -> tuple[datetime, int] | None:
        """The occurrence to raise at `now` and how many earlier ones it passes over, or None.

        Only the latest occurrence at or before `now` is raised; those between the cursor and
        it (missed while no scheduler ran) are counted, not raised.
        """
        following = self.next_occurrence()
        if following is None or following > now:
            return None
        assert self.recurrence is not None
        assert self.cursor is not None
        latest = self.recurrence.latest_at_or_before(now)
        if latest is None or latest <= self.cursor:
            return None
        return latest, self.recurrence.count_between(self.cursor, latest)

    def raise_occurrence(
        self, actor: Actor, at: datetime, occurrence: datetime, task_id: str, missed: int
    ) -> None:
        if actor.role is not Role.SYSTEM:
            raise NotPermittedError("occurrences are raised by the scheduler; order a task instead")
        due = self.due_occurrence(at)
        if due is None or due[0] != occurrence:
            raise InvalidTransitionError(f"need {self.id} has no occurrence due at {occurrence}")
        assert self.recurrence is not None
        rule = self.recurrence.describe()
        reason = f"recurs {rule}: the occurrence of {local(occurrence)} fell due"
        if missed:
            reason += (
                f"; {missed} earlier occurrence(s) passed while dispatch was not running and "
                "are not raised (only the latest is: a late delivery helps nobody)"
            )
        self.record(
            self.OccurrenceRaised,
            actor,
            at,
            reason=reason,
            task_id=task_id,
            occurrence=occurrence,
            missed=missed,
        )


def local(moment: datetime) -> str:
    """A moment as the UI shows it: 2026-11-28 09:00 (UTC+8)."""
    return moment.astimezone(CST).strftime("%Y-%m-%d %H:%M") + " (UTC+8)"


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
        if due_by is not None:
            TASK_DUE.check(due_by, at)
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

    @classmethod
    def for_occurrence(
        cls, actor: Actor, at: datetime, demand: Demand, occurrence: datetime
    ) -> ServiceTask:
        """The task of one occurrence of a recurring need, raised by the scheduler under the id
        `occurrence_task_id` gives (a second raise of it clashes in the store)."""
        if actor.role is not Role.SYSTEM:
            raise NotPermittedError("occurrences are raised by the scheduler; order a task instead")
        task: ServiceTask = cls.start(
            cls.Requested,
            occurrence_task_id(demand.id, occurrence),
            actor,
            at,
            reason=f"the need recurs; this is the occurrence of {local(occurrence)}",
            demand_id=str(demand.id),
            resident_id=demand.resident_id,
            address=demand.address.path,
            need=demand.need,
            description=f"{demand.description} ({local(occurrence)})",
            due_by=None,
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
