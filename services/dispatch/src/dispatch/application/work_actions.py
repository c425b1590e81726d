"""What the assignee does with the work, the leak protocol carried out on site, and what the
property office writes in a repair's or leak's case file while working it (escalation, notes,
links)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from casework.domain import (
    Actor,
    Address,
    Case,
    Dispute,
    InvalidTransitionError,
    LeakEmergency,
    Repair,
    ValidationError,
)

from dispatch.application.assigning import Assigning
from dispatch.application.unit import Unit, as_uuid
from dispatch.application.work import NotFoundError
from dispatch.domain.demand import ServiceTask


class WorkCommands(Assigning):
    """Accept, decline, start, finish, cancel; for a leak: owner contacted, arrival, water
    stopped, cause found, a damage dispute opened; for a repair or a leak: escalated by hand, a
    note, a link to another case."""

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
            found = u.get(as_uuid(work_id, "case or task"))
            if isinstance(found, Case):
                on_case(found, u)
                return found
            if isinstance(found, ServiceTask):
                on_task(found, u)
                return found
            raise NotFoundError(f"no case or service task with id {work_id}")

        return self.run(change)

    # ------------------------------------------ the case file, from the work

    def escalate(self, actor: Actor, case_id: UUID | str, reason: str) -> Case:
        """Up one rung by hand, with the reason (nobody free in the building, a decision beyond
        it). The case then owes the new tier a response; dispatch hears the `Escalated` event
        like any other and brings the assignment in line."""
        return self._on_worked_case(case_id, lambda c, at: c.escalate(actor, at, reason))

    def add_note(self, actor: Actor, case_id: UUID | str, text: str) -> Case:
        """A note in the case file (parts used, who was told what): on the record, changes
        nothing else."""
        return self._on_worked_case(case_id, lambda c, at: c.add_note(actor, at, text))

    def link(self, actor: Actor, case_id: UUID | str, other_id: UUID | str, relation: str) -> Case:
        """The case and another (of any kind) each record the link, in one transaction."""

        def change(u: Unit) -> Case:
            case = self._worked(u, case_id)
            other = u.case(other_id)
            case.link(actor, u.at, other.id, relation)
            other.link(actor, u.at, case.id, relation)
            return case

        return self.run(change)

    def _on_worked_case(
        self, case_id: UUID | str, action: Callable[[Case, datetime], None]
    ) -> Case:
        def change(u: Unit) -> Case:
            case = self._worked(u, case_id)
            action(case, u.at)
            return case

        return self.run(change)

    def _worked(self, u: Unit, case_id: UUID | str) -> Case:
        """A repair or a leak: the cases dispatch works (a dispute is mediation's, a service
        task has no case file)."""
        found = u.get(as_uuid(case_id, "case"))
        if isinstance(found, ServiceTask):
            raise InvalidTransitionError(
                f"{case_id} is a service task from the demand list: it has no case file"
            )
        if not isinstance(found, Repair | LeakEmergency):
            if isinstance(found, Case):
                raise InvalidTransitionError(
                    f"case {found.id} is a {found.KIND}: that is mediation's, not dispatch's"
                )
            raise NotFoundError(f"no case with id {case_id}")
        return found

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
