"""Dispatch's unit of work: the library's `UnitOfWork`, with dispatch's aggregates by name."""

from __future__ import annotations

from uuid import UUID

from casework.domain import Case
from casework.unit_of_work import UnitOfWork

from dispatch.application.work import NotFoundError
from dispatch.domain.demand import Demand, ServiceTask
from dispatch.domain.member import Member, member_id
from dispatch.domain.roster import ROSTER_ID, Roster


class Unit(UnitOfWork):
    """One attempt at a change (see `casework.unit_of_work`): cases, members, the directory,
    needs and tasks, each loaded once, the changed ones saved together."""

    def case(self, case_id: UUID | str) -> Case:
        return super().case(as_uuid(case_id, "case"))

    def adopt(self, case: Case) -> Case:
        """Take in a case made elsewhere (the board's copy, as recorded now) as if loaded here:
        dated by it as `get` dates a loaded case; saved with the unit if changed."""
        self.loaded[case.id] = case
        self._at = self.app.dated(case, self.at)
        return case

    def member(self, actor_id: str) -> Member | None:
        found = self.get(member_id(actor_id))
        return found if isinstance(found, Member) else None

    def roster(self) -> Roster | None:
        found = self.get(ROSTER_ID)
        return found if isinstance(found, Roster) else None

    def task(self, task_id: UUID | str) -> ServiceTask:
        found = self.get(as_uuid(task_id, "task"))
        if not isinstance(found, ServiceTask):
            raise NotFoundError(f"no service task with id {task_id}")
        return found

    def demand(self, demand_id: UUID | str) -> Demand:
        found = self.get(as_uuid(demand_id, "need"))
        if not isinstance(found, Demand):
            raise NotFoundError(f"no resident's need with id {demand_id}")
        return found


def as_uuid(value: UUID | str, what: str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise NotFoundError(f"{value!r} is not a {what} id (a UUID)") from None
