"""The core of dispatch: the rule applied to work as cases and tasks arrive, wait and change hands.

`Assigning` holds a `Casework` (it is not one): the case files' commands stay the library's,
and dispatch's own aggregates (members, the directory, needs, tasks) live in the same store
(docs/adr/007-dispatch-roster-in-the-case-store.md). Whatever changes a case and a member's
load is one unit of work (`casework.unit_of_work`), saved in one transaction and run again on
a version clash, so two replicas deciding at once end with one assignment, made on fresh state.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, Self, TypeVar
from uuid import UUID

from casework import Casework
from casework.contracts import CaseEvent
from casework.domain import Actor, Case, InvalidTransitionError, Repair, Status, ValidationError
from casework.kinds import kind_named
from casework.unit_of_work import run_unit

from dispatch.application.unit import Unit, as_uuid
from dispatch.application.work import (
    ASSIGNABLE_KINDS,
    DISPATCHER,
    FINISHED,
    HOLDING,
    AssignedMeanwhileError,
    NotFoundError,
    Outcome,
    needs_assignment,
    work_for_case,
    work_for_task,
    work_summary,
)
from dispatch.domain.demand import ServiceTask, TaskStatus
from dispatch.domain.handover import check_reassigner, taken_off_why
from dispatch.domain.member import Member, member_id
from dispatch.domain.roster import ROSTER_ID
from dispatch.domain.rule import Candidate, Decision, Work, decide
from dispatch.followed import FollowedRoster

T = TypeVar("T")


class CaseView(Protocol):
    """Cases as the store's log says they are now, folded in memory (`dispatch.board.Board`)."""

    position: int
    """The last notification folded in."""

    def current(
        self, case_id: UUID, since: int | None = None
    ) -> AbstractContextManager[Case | None]:
        """The case caught up to the log (given `since`: as held, not caught up, if held at its
        event `since` or later) and held still while read; None when the view cannot vouch for
        it (unknown, closed, or it skipped an event; given `since`, held at an earlier one)."""
        ...

    def folded(self, case_id: UUID) -> Case | None:
        """A private copy of the case caught up to the log (personal values sealed, as stored),
        or None as `current` gives it."""
        ...


class Assigning:
    """See the module docstring; the commands are in the modules beside this one."""

    def __init__(
        self, store: str | None = None, *, casework: Casework | None = None, **settings: Any
    ) -> None:
        """Open the case store at `store` (with `Casework`'s `settings`), or work on `casework`."""
        self.casework = casework if casework is not None else Casework(store, **settings)
        self.clock = self.casework.clock
        self.followed = FollowedRoster(self.casework)
        self.case_view: CaseView | None = None
        """Where `on_case_event` may see that an event asks nothing of dispatch without
        replaying the case (the runtime gives it its board); None: always the unit of work."""

    def close(self) -> None:
        self.casework.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing

    def dated(self, case: Case, at: datetime) -> datetime:
        return self.casework.dated(case, at)

    def pending(self, aggregate_id: UUID) -> Any | None:
        return self.casework.pending(aggregate_id)

    def save(self, *aggregates: Any) -> None:
        self.casework.save(*aggregates)

    def load(self, aggregate_id: UUID) -> Any | None:
        """The aggregate as recorded now, or None: a member (or the directory) from a copy of
        the followed roster plus the events recorded since it was folded; anything else
        replayed from the store."""
        found: Any = self.followed.copy(aggregate_id)
        if found is not None:
            recorded: Any
            for recorded in self.casework.events.get(aggregate_id, gt=found.version):
                found = recorded.mutate(found)
            return found
        return self.casework.load(aggregate_id)

    def run(self, change: Callable[[Unit], T]) -> T:
        """Run `change` on fresh aggregates and save what it changed, retrying on a clash."""
        return run_unit(lambda: Unit(self), change, attempts=self.casework.max_attempts)

    def read(self) -> Unit:
        """A unit for looking only (never saved)."""
        return Unit(self)

    def kind_of(self, work_id: UUID | str) -> str:
        """`repair`, `leak`, `dispute` or `task`, or NotFoundError."""
        found = self.read().get(as_uuid(work_id, "case or task"))
        if isinstance(found, Case):
            return found.KIND
        if isinstance(found, ServiceTask):
            return "task"
        raise NotFoundError(f"no case or service task with id {work_id}")

    def _member(self, u: Unit, actor_id: str) -> Member:
        member = u.member(actor_id)
        if member is None:
            raise NotFoundError(f"{actor_id} is not on the roster")
        return member

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
            changed = u.peek(ROSTER_ID)
            covering = changed.covering(work.address) if changed else now.covering(work.address)
            for actor_id in covering:
                uid = member_id(actor_id)
                member = u.peek(uid)
                if member is None:
                    member = now.members.get(uid)
                    if member is not None and member.active:
                        candidates.append(now.candidate(member))
                elif member.active:
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
        the case as it stands in the log (loaded, or the board's copy caught up to the log:
        `_waiting`) and the members' loads and the assignment are brought in line with it. So a
        case gets its assignee from whichever of its events is handled first, and
        a second replica handling another of its events at the same moment finds it assigned.
        """
        if event.kind not in ASSIGNABLE_KINDS:
            return None
        name = event.event_name
        if name == "queued_for_assignment":
            return None  # our own "nobody free": reacting to it would only decide the same again
        if event.actor_id == DISPATCHER.id and event.actor_role == DISPATCHER.role.value:
            # Our own fact (an assignment, a resolution after work done): the unit that recorded
            # it brought the loads in line in the same transaction; a later change of the case
            # is a later event, handled on its own.
            return None
        if name != "assignment_declined" and self._in_line(event.case_id, since=event.version):
            return None  # what the unit of work below would find, without replaying the case

        def change(u: Unit) -> Outcome | None:
            case = self._waiting(u, event.case_id) if name != "assignment_declined" else None
            if case is not None:
                return self._assign_case(u, case)
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

    def _waiting(self, u: Unit, case_id: UUID) -> Case | None:
        """The case from `case_view` (a copy, caught up to the log: what a load from the store
        gives, without the replay and the opening of its personal values) when it waits for
        someone, taken into `u` to be assigned or queued; else None, and `u` loads it.

        Only then, because only then does the unit read nothing personal: `_settle_members`
        has nothing to settle (no assignee) and the decision reads the kind, the category, the
        address and who declined (`work_for_case`; a kind whose `need` may read personal values,
        `Kind.need_reads_personal`, has its case loaded); the events it records carry the
        dispatcher's words, never a value of the case. A case the tracking block changed
        already is the block's (`u.peek`)."""
        if self.case_view is None or u.peek(case_id) is not None:
            return None
        case = self.case_view.folded(case_id)
        if case is None or not needs_assignment(case):
            return None
        kind = kind_named(case.KIND)
        if kind.need is not None and kind.need_reads_personal:
            return None  # an installed kind's `need` may read what the copy holds sealed
        return u.adopt(case)

    def _in_line(self, case_id: UUID, since: int | None = None) -> bool:
        """`_answers` of the view as it holds the case, if it holds it at the event `since` or
        later and finds it in line; else of the view caught up to the log.

        Asked as held first, because most of a case's messages come after the view folded
        their event (when it caught up for an earlier one), and an answer "in line" there is
        the one this handler would have given had it run at that moment, which was after the
        event was recorded; whatever was recorded for the case since is an event of its own,
        handled when its message comes. A "no" is asked again of the log, as before: a view
        that lags behind dispatch's own assignment would send each such message to the unit
        of work."""
        if since is not None and self._answers(case_id, since):
            return True
        return self._answers(case_id)

    def _answers(self, case_id: UUID, since: int | None = None) -> bool:
        """Whether the case, as `case_view` and the followed roster have it now, needs nothing:
        not waiting for someone, and its assignee's load agrees with it. The same questions
        `change` in `on_case_event` asks of the case and member it loads (`needs_assignment`,
        `_settle_members`), asked of the log folded in memory (the same state, as `followed`
        argues for members); any doubt (no view, a case or member it does not hold, a repair
        whose work is done, which is resolved) answers False, and the unit of work decides.
        `since`: the case as the view holds it, if at that version or later (`CaseView`)."""
        if self.case_view is None:
            return False
        with self.case_view.current(case_id, since) as case:
            if case is None or needs_assignment(case):
                return False
            if case.assignee is None:
                return True
            if isinstance(case, Repair) and case.status is Status.WORK_DONE:
                return False
            assignee, key, status = case.assignee.id, str(case.id), case.status
            seen = self.case_view.position
        self.followed.catch_up(upto=seen)  # the roster as of the same moment as the case
        with self.followed.reading() as now:
            if now.skipped:
                return False
            member = now.members.get(member_id(assignee))
            if member is None:
                return True  # assigned to someone dispatch does not list (by hand, elsewhere)
            if status in FINISHED:
                return key not in member.holding
            if status in HOLDING:
                return key in member.holding or not member.active
            return True

    def redispatch(self, work_id: UUID | str) -> Outcome | None:
        """Try again for work that waits (the queue's drain): the same rule, on fresh state."""

        def change(u: Unit) -> Outcome | None:
            found = u.get(as_uuid(work_id, "case or task"))
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
            found = u.get(as_uuid(work_id, "case or task"))
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
        found = u.get(as_uuid(work_id, "case or task"))
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
