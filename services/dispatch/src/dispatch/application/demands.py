"""The demand list: residents' standing needs, their recurrence, and the tasks raised from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from casework.domain import SYSTEM, Actor

from dispatch.application.assigning import Assigning
from dispatch.application.unit import Unit
from dispatch.application.work import Outcome, Raised
from dispatch.domain.demand import Demand, ServiceTask, occurrence_task_id
from dispatch.domain.recurrence import CST, Recurrence


class DemandCommands(Assigning):
    """Needs recorded, retired, paused, resumed; occurrences raised; tasks ordered."""

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
