"""The dispatch application: the roster, the demand list and the work, on the case store.

`Dispatch` is the `Casework` application with dispatch's own aggregates beside the case files
(docs/adr/007-dispatch-roster-in-the-case-store.md). Whatever changes a case and a member's load
is one unit of work, saved in one transaction: assigning a repair records `Assigned` on the case
and `WorkTaken` on the assignee together, or neither. Units are retried on a version clash, so
two replicas deciding at once end with one assignment, made on fresh state.

Inside the consumer's `tracking` block nothing is written until the block commits; a `Unit`
then builds on the block's pending aggregates (`Casework.pending`), never on a second copy.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from casework import Casework
from casework.contracts import CaseEvent
from casework.domain import (
    SYSTEM,
    Actor,
    Address,
    Case,
    Dispute,
    InvalidTransitionError,
    LeakEmergency,
    Repair,
    Role,
    Status,
    ValidationError,
)
from casework.domain.errors import CaseNotFoundError, ConcurrencyConflictError
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from dispatch.domain.availability import DEFAULT_TIMEZONE
from dispatch.domain.demand import (
    OPEN_TASK,
    Demand,
    ServiceTask,
    TaskStatus,
    occurrence_task_id,
)
from dispatch.domain.handover import check_reassigner, taken_off_why
from dispatch.domain.member import Member, member_id
from dispatch.domain.recurrence import CST, Recurrence
from dispatch.domain.roster import ROSTER_ID, Roster
from dispatch.domain.rule import Candidate, Decision, Work, decide
from dispatch.domain.skills import LEAK_SKILL, skill_for_repair
from dispatch.followed import FollowedRoster

DISPATCHER = Actor("dispatch", Role.SYSTEM)
"""The actor of dispatch's automatic facts: an assignment by the rule, a case queued."""

ASSIGNABLE_KINDS = ("repair", "leak")
HOLDING = frozenset({Status.ASSIGNED, Status.IN_PROGRESS})
FINISHED = frozenset({Status.WORK_DONE, Status.RESOLVED, Status.CONFIRMED, Status.CLOSED})
T = TypeVar("T")


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
    need = LEAK_SKILL if isinstance(case, LeakEmergency) else skill_for_repair(case_category(case))
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


class Unit:
    """One attempt at a change: every aggregate loaded once, every changed one saved together."""

    def __init__(self, app: Dispatch) -> None:
        self.app = app
        self.at = app.clock()
        self.loaded: dict[UUID, Any] = {}

    def add(self, aggregate: Any) -> Any:
        self.loaded[aggregate.id] = aggregate
        return aggregate

    def get(self, aggregate_id: UUID) -> Any | None:
        found = self.peek(aggregate_id)
        if found is None:
            found = self.app.load(aggregate_id)
            if found is None:
                return None
        self.loaded[aggregate_id] = found
        if isinstance(found, Case):
            # A case file never runs backwards: a clock a little behind the case's latest
            # event dates the unit at that event (`Casework.dated`); far behind, it is refused.
            self.at = self.app.dated(found, self.at)
        return found

    def peek(self, aggregate_id: UUID) -> Any | None:
        """The aggregate as this unit (or the open tracking block) has it already, else None."""
        if aggregate_id in self.loaded:
            return self.loaded[aggregate_id]
        return self.app.pending(aggregate_id)

    def case(self, case_id: UUID | str) -> Case:
        uid = _uuid(case_id, "case")
        found = self.get(uid)
        if not isinstance(found, Case):
            raise CaseNotFoundError(f"no case file with id {uid}")
        return found

    def member(self, actor_id: str) -> Member | None:
        found = self.get(member_id(actor_id))
        return found if isinstance(found, Member) else None

    def roster(self) -> Roster | None:
        found = self.get(ROSTER_ID)
        return found if isinstance(found, Roster) else None

    def task(self, task_id: UUID | str) -> ServiceTask:
        found = self.get(_uuid(task_id, "task"))
        if not isinstance(found, ServiceTask):
            raise NotFoundError(f"no service task with id {task_id}")
        return found

    def demand(self, demand_id: UUID | str) -> Demand:
        found = self.get(_uuid(demand_id, "need"))
        if not isinstance(found, Demand):
            raise NotFoundError(f"no resident's need with id {demand_id}")
        return found

    def save(self) -> None:
        changed = [a for a in self.loaded.values() if a.pending_events]
        if changed:
            self.app.save(*changed)


def _uuid(value: UUID | str, what: str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise NotFoundError(f"{value!r} is not a {what} id (a UUID)") from None


class Dispatch(Casework):
    """See the module docstring. `name` stays Casework's: on PostgreSQL it picks the tables."""

    name = Casework.name

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.followed = FollowedRoster(self)

    def load(self, aggregate_id: UUID) -> Any | None:
        """The aggregate as recorded now, or None: a member (or the directory) from a copy of
        the followed roster plus the events recorded since it was folded; anything else
        replayed from the store."""
        found: Any = self.followed.copy(aggregate_id)
        if found is not None:
            recorded: Any
            for recorded in self.events.get(aggregate_id, gt=found.version):
                found = recorded.mutate(found)
            return found
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    # ------------------------------------------------------------ plumbing

    def run(self, change: Callable[[Unit], T]) -> T:
        """Run `change` on fresh aggregates and save what it changed, retrying on a clash."""
        for attempt in range(self.max_attempts):
            unit = Unit(self)
            try:
                result = change(unit)
                unit.save()
            except IntegrityError:
                self._backoff(attempt)
                continue
            return result
        raise ConcurrencyConflictError(
            f"the work kept changing under {self.max_attempts} attempts; try again"
        )

    def read(self) -> Unit:
        """A unit for looking only (never saved)."""
        return Unit(self)

    def kind_of(self, work_id: UUID | str) -> str:
        """`repair`, `leak`, `dispute` or `task`, or NotFoundError."""
        found = self.read().get(_uuid(work_id, "case or task"))
        if isinstance(found, Case):
            return found.KIND
        if isinstance(found, ServiceTask):
            return "task"
        raise NotFoundError(f"no case or service task with id {work_id}")

    # -------------------------------------------------------------- roster

    def join(
        self,
        actor: Actor,
        member: Actor,
        *,
        name: str,
        skills: list[str],
        places: list[str],
        availability: list[str],
        timezone: str = DEFAULT_TIMEZONE,
        max_load: int = 3,
        reason: str = "",
    ) -> Member:
        """Put someone on the roster (again, if they left)."""

        def change(u: Unit) -> Member:
            profile: dict[str, Any] = {
                "name": name,
                "skills": skills,
                "places": places,
                "availability": availability,
                "timezone": timezone,
                "max_load": max_load,
                "reason": reason,
            }
            existing = u.member(member.id)
            if existing is None:
                joined: Member = u.add(Member.join(actor, u.at, member, **profile))
            else:
                if existing.actor.role is not member.role:
                    raise ValidationError(
                        f"{member.id} was on the roster as {existing.actor.role.value}; "
                        "one actor id keeps one role"
                    )
                existing.rejoin(actor, u.at, **profile)
                joined = existing
            roster = u.roster() or u.add(Roster.open(actor, u.at))
            roster.list_member(actor, u.at, member.id, list(joined.places))
            return joined

        return self.run(change)

    def leave(
        self, actor: Actor, member_actor_id: str, reason: str, *, hand_on: bool = False
    ) -> tuple[Member, list[Outcome]]:
        """Take someone off the roster. While they hold work this is refused with the list of
        it, unless `hand_on`: then each piece (oldest first) is taken off them and goes to the
        next suitable person by the rule, or waits in the queue, in the same transaction as
        the leaving, so no work is dropped and no load is left on someone who is gone."""

        def change(u: Unit) -> tuple[Member, list[Outcome]]:
            member = self._member(u, member_actor_id)
            outcomes: list[Outcome] = []
            if hand_on and member.holding:
                check_reassigner(actor, "hand on someone's work as they leave")
                why = f"{member_actor_id} leaves the roster: {reason.strip()}"
                held = sorted(member.holding.values(), key=lambda h: (h.taken_at, h.work_id))
                for piece in held:
                    work = u.get(UUID(piece.work_id))
                    if _held_by(work, member_actor_id):
                        outcomes.append(self._reassign(u, actor, piece.work_id, why, None))
                    else:  # the record says it is not theirs (any more): only the load goes
                        member.release(actor, u.at, piece.work_id, f"not held on the record; {why}")
            member.leave(actor, u.at, reason)
            roster = u.roster()
            if roster is not None:
                roster.unlist(actor, u.at, member_actor_id)
            return member, outcomes

        return self.run(change)

    def change_skills(
        self, actor: Actor, member_actor_id: str, skills: list[str], reason: str
    ) -> Member:
        return self._on_member(
            member_actor_id, lambda m, at: m.change_skills(actor, at, skills, reason)
        )

    def change_places(
        self, actor: Actor, member_actor_id: str, places: list[str], reason: str
    ) -> Member:
        def change(u: Unit) -> Member:
            member = self._member(u, member_actor_id)
            member.change_places(actor, u.at, places, reason)
            roster = u.roster() or u.add(Roster.open(actor, u.at))
            roster.list_member(actor, u.at, member_actor_id, list(member.places))
            return member

        return self.run(change)

    def set_availability(
        self,
        actor: Actor,
        member_actor_id: str,
        availability: list[str],
        timezone: str = DEFAULT_TIMEZONE,
        reason: str = "",
    ) -> Member:
        return self._on_member(
            member_actor_id,
            lambda m, at: m.set_availability(actor, at, availability, timezone, reason),
        )

    def set_max_load(
        self, actor: Actor, member_actor_id: str, max_load: int, reason: str
    ) -> Member:
        return self._on_member(
            member_actor_id, lambda m, at: m.set_max_load(actor, at, max_load, reason)
        )

    def member(self, actor_id: str) -> Member:
        return self._member(self.read(), actor_id)

    def members(self) -> list[Member]:
        """Everyone listed on the roster now (who left is not listed), by actor id."""
        self.followed.catch_up()
        with self.followed.reading() as now:
            if now.roster is None:
                return []
            found = [now.members.get(member_id(a)) for a in sorted(now.roster.places)]
            return [copy.deepcopy(m) for m in found if m is not None]

    def _member(self, u: Unit, actor_id: str) -> Member:
        member = u.member(actor_id)
        if member is None:
            raise NotFoundError(f"{actor_id} is not on the roster")
        return member

    def _on_member(self, actor_id: str, action: Callable[[Member, datetime], None]) -> Member:
        def change(u: Unit) -> Member:
            member = self._member(u, actor_id)
            action(member, u.at)
            return member

        return self.run(change)

    # ------------------------------------------------------- the decision

    def decide(self, u: Unit, work: Work) -> Decision:
        """The rule over everyone listed as covering the work's place, as they stand now.

        "Now" is the followed roster caught up to the log, under whatever this unit (or the open
        tracking block) has changed already; nobody is loaded. The caller loads the chosen
        member into the unit to write, so a choice made on facts that changed meanwhile clashes
        on that member's version and is made again.
        """
        self.followed.catch_up()
        candidates = []
        with self.followed.reading() as now:
            roster = u.peek(ROSTER_ID) or now.roster
            for actor_id in roster.covering(work.address) if roster is not None else []:
                uid = member_id(actor_id)
                member = u.peek(uid) or now.members.get(uid)
                if member is not None and member.active:
                    candidates.append(Candidate.of(member))
        return decide(work, candidates, u.at)

    def _chosen(self, u: Unit, decision: Decision, key: str) -> Member:
        """The chosen member, loaded into the unit as recorded now (to be written)."""
        assert decision.chosen is not None
        member = u.member(decision.chosen.candidate.actor.id)
        assert member is not None
        if key in member.holding:
            raise AssignedMeanwhileError(f"{member.actor.id} got {key} while this was decided")
        return member

    def _assign_case(self, u: Unit, case: Case) -> Outcome:
        decision = self.decide(u, work_for_case(case))
        key = str(case.id)
        if decision.chosen is not None:
            member = self._chosen(u, decision, key)
            case.assign(DISPATCHER, u.at, member.actor, decision.why)
            member.take(DISPATCHER, u.at, key, case.KIND, case.address.path, decision.why)
            return Outcome(key, member.actor.id, decision.why)
        if case.queued_at is None:
            case.queue_for_assignment(DISPATCHER, u.at, decision.why)
        return Outcome(key, None, decision.why, decision.back_on_duty_at)

    def _assign_task(self, u: Unit, task: ServiceTask) -> Outcome:
        decision = self.decide(u, work_for_task(task))
        key = str(task.id)
        if decision.chosen is not None:
            member = self._chosen(u, decision, key)
            task.assign(DISPATCHER, u.at, member.actor, decision.why)
            member.take(DISPATCHER, u.at, key, "task", task.address.path, decision.why)
            return Outcome(key, member.actor.id, decision.why)
        if task.queued_at is None:
            task.queue(DISPATCHER, u.at, decision.why)
        return Outcome(key, None, decision.why, decision.back_on_duty_at)

    def _settle_members(self, u: Unit, case: Case, actor: Actor) -> None:
        """Make the assignee's load agree with the case: done work completed, held work held.

        A repair whose work is done is resolved here too: the assignee's "done" settles it at
        its tier, and the resident confirms or reopens it (within the window) from there.
        """
        if case.assignee is None:
            return
        if isinstance(case, Repair) and case.status is Status.WORK_DONE:
            case.resolve(
                DISPATCHER,
                u.at,
                f"work done by {case.assignee.id}: {case.work_summary}; "
                "for the resident to confirm",
            )
        member = u.member(case.assignee.id)
        if member is None:
            return  # assigned to someone dispatch does not list (by hand, elsewhere)
        key = str(case.id)
        if case.status in FINISHED and key in member.holding:
            member.complete(actor, u.at, key, work_summary(case), list(case.reporter_ids))
        elif case.status in HOLDING and key not in member.holding and member.active:
            member.take(actor, u.at, key, case.KIND, case.address.path, "assigned on the case file")

    # ------------------------------------------------------ case events

    def on_case_event(self, event: CaseEvent) -> Outcome | None:
        """React to one case event from the stream (the consumer's handler).

        Idempotent on state, not on the message: whatever event of a repair or leak arrives,
        the case is read fresh and the members' loads and the assignment are brought in line
        with it. So a case gets its assignee from whichever of its events is handled first, and
        a second replica handling another of its events at the same moment finds it assigned.
        """
        if event.kind not in ASSIGNABLE_KINDS:
            return None
        name = event.type.split(".")[2]
        if name == "queued_for_assignment":
            return None  # our own "nobody free": reacting to it would only decide the same again
        if event.actor_id == DISPATCHER.id and event.actor_role == DISPATCHER.role.value:
            # Our own fact (an assignment, a resolution after work done): the unit that recorded
            # it brought the loads in line in the same transaction; a later change of the case
            # is a later event, handled on its own.
            return None

        def change(u: Unit) -> Outcome | None:
            case = u.case(event.case_id)
            key = str(case.id)
            if name == "assignment_declined":
                # Declined by its assignee; when a manager took it off someone, the unit that
                # did so moved the loads, and the manager may hold the work now themselves.
                decliner = u.member(event.actor_id)
                holds_it_now = case.assignee is not None and case.assignee.id == event.actor_id
                if decliner is not None and key in decliner.holding and not holds_it_now:
                    decliner.release(DISPATCHER, u.at, key, f"declined: {event.reason}")
            self._settle_members(u, case, DISPATCHER)
            if needs_assignment(case):
                return self._assign_case(u, case)
            return None

        return self.run(change)

    def redispatch(self, work_id: UUID | str) -> Outcome | None:
        """Try again for work that waits (the queue's drain): the same rule, on fresh state."""

        def change(u: Unit) -> Outcome | None:
            found = u.get(_uuid(work_id, "case or task"))
            if isinstance(found, Case) and needs_assignment(found):
                return self._assign_case(u, found)
            if isinstance(found, ServiceTask) and found.status is TaskStatus.REQUESTED:
                return self._assign_task(u, found)
            return None

        return self.run(change)

    def assign_by_hand(
        self, actor: Actor, work_id: UUID | str, member_actor_id: str, why: str
    ) -> None:
        """The property manager sends someone the rule would not (off duty but willing, over
        capacity): recorded with the manager's name and reason."""

        def change(u: Unit) -> None:
            found = u.get(_uuid(work_id, "case or task"))
            member = self._member(u, member_actor_id)
            if isinstance(found, Case):
                found.assign(actor, u.at, member.actor, why)
                member.take(actor, u.at, str(found.id), found.KIND, found.address.path, why)
            elif isinstance(found, ServiceTask):
                found.assign(actor, u.at, member.actor, why)
                member.take(actor, u.at, str(found.id), "task", found.address.path, why)
            else:
                raise NotFoundError(f"no case or service task with id {work_id}")

        self.run(change)

    def reassign(
        self, actor: Actor, work_id: UUID | str, reason: str, to: str | None = None
    ) -> Outcome:
        """The property manager takes held work off its assignee (ill, not answering, away) and
        gives it to `to`, or to the next suitable person by the rule (never the one taken off),
        or queues it when nobody is. One transaction: the case's (or task's) facts, the old
        holder's load released and the new one's taken; a clash with the holder accepting or
        finishing at that moment runs it again on fresh state, where it is refused if the work
        is no longer held."""
        check_reassigner(actor)

        def change(u: Unit) -> Outcome:
            return self._reassign(u, actor, work_id, reason, to)

        return self.run(change)

    def _reassign(
        self, u: Unit, actor: Actor, work_id: UUID | str, reason: str, to: str | None
    ) -> Outcome:
        found = u.get(_uuid(work_id, "case or task"))
        if isinstance(found, Case):
            if found.KIND not in ASSIGNABLE_KINDS:
                raise InvalidTransitionError(f"a {found.KIND} is mediated, not assigned")
            kind = found.KIND
        elif isinstance(found, ServiceTask):
            kind = "task"
        else:
            raise NotFoundError(f"no case or service task with id {work_id}")
        key = str(found.id)
        holder = found.assignee
        if holder is None:
            raise InvalidTransitionError(
                f"{key} is held by nobody; assign it from the queue instead"
            )
        new = None
        if to is not None:
            if to == holder.id:
                raise ValidationError(f"{to} already holds {key}; name someone else")
            new = self._member(u, to)
            new.check_active()
        found.take_off(actor, u.at, reason)
        old = u.member(holder.id)
        if old is not None and key in old.holding:
            old.release(actor, u.at, key, f"taken off by {actor.id}: {reason.strip()}")
        if new is None:
            if isinstance(found, Case):
                return self._assign_case(u, found)
            return self._assign_task(u, found)
        why = taken_off_why(holder.id, reason)
        found.assign(actor, u.at, new.actor, why)
        new.take(actor, u.at, key, kind, found.address.path, why)
        return Outcome(key, new.actor.id, why)

    # ------------------------------------------------ the assignee's actions

    def accept(self, actor: Actor, work_id: UUID | str) -> Any:
        return self._act(
            work_id,
            lambda c, u: c.accept_assignment(actor, u.at),
            lambda t, u: t.accept(actor, u.at),
        )

    def decline(self, actor: Actor, work_id: UUID | str, reason: str) -> Any:
        """Declined with a reason; the next suitable person is chosen in the same transaction."""

        def on_case(case: Case, u: Unit) -> None:
            case.decline_assignment(actor, u.at, reason)
            self._release(u, actor, str(case.id), f"declined: {reason}")
            self._assign_case(u, case)

        def on_task(task: ServiceTask, u: Unit) -> None:
            task.decline(actor, u.at, reason)
            self._release(u, actor, str(task.id), f"declined: {reason}")
            self._assign_task(u, task)

        return self._act(work_id, on_case, on_task)

    def start(self, actor: Actor, work_id: UUID | str) -> Any:
        """A repair's work starts; for a leak, starting is arriving on site."""

        def on_case(case: Case, u: Unit) -> None:
            if isinstance(case, Repair):
                case.start_work(actor, u.at)
            elif isinstance(case, LeakEmergency):
                case.arrive_on_site(actor, u.at)  # the office's protocol, not one person's
            else:
                raise InvalidTransitionError(f"a {case.KIND} is mediated, not worked on")

        return self._act(work_id, on_case, lambda t, u: t.begin(actor, u.at))

    def finish(self, actor: Actor, work_id: UUID | str, summary: str) -> Any:
        def on_case(case: Case, u: Unit) -> None:
            if isinstance(case, Repair):
                case.finish_work(actor, u.at, summary)
            elif isinstance(case, LeakEmergency):
                # A leak's work is the protocol (water stopped, cause recorded), carried out by
                # whoever of the office is there; finishing it settles the case with a summary.
                case.resolve(actor, u.at, summary)
            else:
                raise InvalidTransitionError(f"a {case.KIND} is mediated, not worked on")
            self._settle_members(u, case, actor)

        def on_task(task: ServiceTask, u: Unit) -> None:
            task.finish(actor, u.at, summary)
            member = u.member(actor.id)
            if member is not None and str(task.id) in member.holding:
                member.complete(actor, u.at, str(task.id), task.summary, [task.resident_id])

        return self._act(work_id, on_case, on_task)

    def cancel_task(self, actor: Actor, task_id: UUID | str, reason: str) -> ServiceTask:
        def change(u: Unit) -> ServiceTask:
            task = u.task(task_id)
            holder = task.assignee
            task.cancel(actor, u.at, reason)
            if holder is not None:
                self._release(u, actor, str(task.id), f"cancelled: {reason}")
            return task

        return self.run(change)

    def _release(self, u: Unit, actor: Actor, work_id: str, why: str) -> None:
        holder = u.member(actor.id)
        if holder is not None and work_id in holder.holding:
            holder.release(actor, u.at, work_id, why)

    def _act(
        self,
        work_id: UUID | str,
        on_case: Callable[[Any, Unit], None],
        on_task: Callable[[ServiceTask, Unit], None],
    ) -> Any:
        def change(u: Unit) -> Any:
            found = u.get(_uuid(work_id, "case or task"))
            if isinstance(found, Case):
                on_case(found, u)
                return found
            if isinstance(found, ServiceTask):
                on_task(found, u)
                return found
            raise NotFoundError(f"no case or service task with id {work_id}")

        return self.run(change)

    # ---------------------------------------------------- leak protocol

    def contact_owner(
        self, actor: Actor, case_id: UUID | str, channel: str, outcome: str, note: str = ""
    ) -> Case:
        return self._on_leak(
            case_id, actor, lambda c, at: c.attempt_owner_contact(actor, at, channel, outcome, note)
        )

    def arrive(self, actor: Actor, case_id: UUID | str) -> Case:
        return self._on_leak(case_id, actor, lambda c, at: c.arrive_on_site(actor, at))

    def water_stopped(self, actor: Actor, case_id: UUID | str, method: str, note: str = "") -> Case:
        return self._on_leak(case_id, actor, lambda c, at: c.stop_water(actor, at, method, note))

    def cause_found(
        self, actor: Actor, case_id: UUID | str, cause: str, damage: str, damaged_units: list[str]
    ) -> Case:
        return self._on_leak(
            case_id, actor, lambda c, at: c.record_cause(actor, at, cause, damage, damaged_units)
        )

    def _on_leak(
        self, case_id: UUID | str, actor: Actor, action: Callable[[LeakEmergency, datetime], None]
    ) -> Case:
        def change(u: Unit) -> Case:
            case = u.case(case_id)
            if not isinstance(case, LeakEmergency):
                raise InvalidTransitionError(f"case {case.id} is a {case.KIND}, not a leak")
            action(case, u.at)
            self._settle_members(u, case, actor)
            return case

        return self.run(change)

    def open_damage_dispute(
        self,
        actor: Actor,
        leak_id: UUID | str,
        *,
        address: str,
        description: str,
        parties: list[str],
    ) -> UUID:
        """Damage the leak did to another flat opens a dispute for mediation, linked both ways
        (relation `damage_dispute`), in one transaction with the report."""

        def change(u: Unit) -> UUID:
            leak = u.case(leak_id)
            if not isinstance(leak, LeakEmergency):
                raise InvalidTransitionError(f"case {leak.id} is a {leak.KIND}, not a leak")
            place = Address.parse(address)
            if place.compound_path != leak.address.compound_path:
                compound = leak.address.compound_path
                raise ValidationError(
                    f"the damaged flat must be in the leak's compound ({compound})"
                )
            dispute = u.add(
                Dispute.report(actor, u.at, place, description, "leak_between_flats", parties)
            )
            leak.link(actor, u.at, dispute.id, "damage_dispute")
            dispute.link(actor, u.at, leak.id, "damage_dispute")
            return UUID(str(dispute.id))

        return self.run(change)

    # ------------------------------------------------------ demand list

    def record_demand(
        self,
        actor: Actor,
        *,
        resident_id: str,
        address: str,
        need: str,
        description: str,
        how_often: str = "",
        recurrence: dict[str, Any] | None = None,
    ) -> Demand:
        """A standing need, with its recurrence (if given) set in the same transaction."""

        def change(u: Unit) -> Demand:
            demand: Demand = u.add(
                Demand.record_need(
                    actor,
                    u.at,
                    resident_id=resident_id,
                    address=address,
                    need=need,
                    description=description,
                    how_often=how_often,
                )
            )
            if recurrence is not None:
                rule = Recurrence.parse(recurrence, u.at.astimezone(CST).date())
                demand.set_recurrence(actor, u.at, rule, "")
            return demand

        return self.run(change)

    def retire_demand(self, actor: Actor, demand_id: UUID | str, reason: str) -> Demand:
        def change(u: Unit) -> Demand:
            demand = u.demand(demand_id)
            demand.retire(actor, u.at, reason)
            return demand

        return self.run(change)

    def set_recurrence(
        self, actor: Actor, demand_id: UUID | str, recurrence: dict[str, Any], reason: str = ""
    ) -> Demand:
        """Set (or change) how a need recurs; occurrences after now follow the new rule."""

        def change(u: Unit) -> Demand:
            demand = u.demand(demand_id)
            rule = Recurrence.parse(recurrence, u.at.astimezone(CST).date())
            demand.set_recurrence(actor, u.at, rule, reason)
            return demand

        return self.run(change)

    def pause_demand(self, actor: Actor, demand_id: UUID | str, reason: str) -> Demand:
        def change(u: Unit) -> Demand:
            demand = u.demand(demand_id)
            demand.pause(actor, u.at, reason)
            return demand

        return self.run(change)

    def resume_demand(self, actor: Actor, demand_id: UUID | str, reason: str) -> Demand:
        def change(u: Unit) -> Demand:
            demand = u.demand(demand_id)
            demand.resume(actor, u.at, reason)
            return demand

        return self.run(change)

    def raise_occurrence_if_due(self, demand_id: UUID | str) -> Raised | None:
        """Raise the task of the need's latest due occurrence, if one is due, as `scheduler`.

        Decided on the freshly loaded need inside `run`'s retry loop, like `escalate_if_due`:
        the task's id comes from the need and the occurrence, and the need's cursor moves in the
        same transaction, so a replica raising the same occurrence at the same moment clashes
        (on the task's id or the need's version), runs again, finds nothing due and records
        nothing. After a restart the recorded cursor says what was raised already.
        """

        def change(u: Unit) -> Raised | None:
            demand = u.demand(demand_id)
            due = demand.due_occurrence(u.at)
            if due is None:
                return None
            occurrence, missed = due
            if u.get(occurrence_task_id(demand.id, occurrence)) is not None:
                return None  # raised already (the cursor says otherwise only if tampered with)
            task: ServiceTask = u.add(ServiceTask.for_occurrence(SYSTEM, u.at, demand, occurrence))
            demand.raise_occurrence(SYSTEM, u.at, occurrence, str(task.id), missed)
            return Raised(str(demand.id), occurrence, missed, self._assign_task(u, task))

        return self.run(change)

    def order_task(
        self,
        actor: Actor,
        demand_id: UUID | str,
        *,
        description: str = "",
        due_by: datetime | None = None,
    ) -> tuple[ServiceTask, Outcome]:
        """群众点单: a task from a standing need, sent to a volunteer at once (or queued)."""

        def change(u: Unit) -> tuple[ServiceTask, Outcome]:
            demand = u.demand(demand_id)
            task: ServiceTask = u.add(ServiceTask.request(actor, u.at, demand, description, due_by))
            demand.order(actor, u.at, str(task.id), description)
            return task, self._assign_task(u, task)

        return self.run(change)

    def demand(self, demand_id: UUID | str) -> Demand:
        return self.read().demand(demand_id)

    def task(self, task_id: UUID | str) -> ServiceTask:
        return self.read().task(task_id)

    def open_tasks(self, member: Member) -> list[Any]:
        """The cases and service tasks a member holds now, oldest first."""
        u = self.read()
        held = sorted(member.holding.values(), key=lambda h: (h.taken_at, h.work_id))
        found = [u.get(UUID(h.work_id)) for h in held]
        return [w for w in found if isinstance(w, (Case, ServiceTask))]


def _held_by(work: Any, actor_id: str) -> bool:
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
