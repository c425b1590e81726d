"""Repair (报修): reported → accepted → assigned → work started → work done → confirmed → closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from casework.domain.actors import Actor, check_may
from casework.domain.case import Case, Status, _require_text
from casework.domain.errors import InvalidTransitionError, ValidationError
from casework.domain.places import Address, Tier

REPAIR_CATEGORIES = (
    "appliance",
    "plumbing",
    "electrical",
    "lighting",
    "door_access",
    "lift",
    "roof",
    "other",
)


class Repair(Case):
    KIND = "repair"
    ASSIGNABLE = True

    @dataclass(frozen=True)
    class Reported(Case.Opened):
        """Version 2 added `category`; version 1 reports read back as category "other".
        Version 3 added `contact` (see `Case.Opened`); earlier reports read back with none.

        The hash in a stored v1 report covers the v1 state as stored, so upcasting on read never
        breaks the chain (docs/adr/002-event-versioning.md).
        """

        class_version = 3
        upcast_v2_v3 = staticmethod(Case.Opened.upcast_contact)

        category: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # setdefault, not assignment: reports written before versioning began may already
            # carry a category, and that recorded fact must not be overwritten on read.
            state.setdefault("category", "other")

        def apply_to(self, case: Any) -> None:
            super().apply_to(case)
            case.category = self.category

    @dataclass(frozen=True)
    class WorkStarted(Case.Event):
        LABEL = "已开工"

        def apply_to(self, case: Any) -> None:
            case.status = Status.IN_PROGRESS

    @dataclass(frozen=True)
    class WorkDone(Case.Event):
        LABEL = "已完工"

        summary: str

        def apply_to(self, case: Any) -> None:
            case.status = Status.WORK_DONE
            case.work_summary = self.summary

    def __init__(self) -> None:
        super().__init__()
        self.category = ""
        self.work_summary = ""

    @classmethod
    def report(
        cls,
        actor: Actor,
        at: datetime,
        address: Address,
        description: str,
        category: str = "other",
        priority: str = "routine",
        channel: str = "phone",
        contact: str = "",
        case_id: UUID | None = None,
    ) -> Repair:
        """Repairs start in the building: the property office or a volunteer comes to the flat."""
        if category not in REPAIR_CATEGORIES:
            raise ValidationError(
                f"repair category must be one of {', '.join(REPAIR_CATEGORIES)}, not {category!r}"
            )
        tier = Tier.BUILDING if address.building else Tier.COMPOUND
        return cls._open(
            cls.Reported,
            actor=actor,
            at=at,
            address=address,
            tier=tier,
            priority=priority,
            description=description,
            channel=channel,
            contact=contact,
            case_id=case_id,
            category=category,
        )

    def start_work(self, actor: Actor, at: datetime) -> None:
        check_may(actor, "start_work")
        self.check_status("have work started", Status.ASSIGNED)
        self.check_assignee(actor, "start work")
        self._record(self.WorkStarted, actor, at)

    def finish_work(self, actor: Actor, at: datetime, summary: str) -> None:
        check_may(actor, "finish_work")
        self.check_status("have work finished", Status.IN_PROGRESS)
        self.check_assignee(actor, "finish work")
        self._record(self.WorkDone, actor, at, summary=_require_text(summary, "the work summary"))

    def check_ready_to_resolve(self) -> None:
        if self.status is not Status.WORK_DONE:
            raise InvalidTransitionError(
                f"repair {self.id} is {self.status.value}; finish the work before resolving it"
            )

    def status_after_reopen(self) -> Status:
        return Status.ASSIGNED if self.assignee else Status.ACKNOWLEDGED

    def kind_snapshot(self) -> dict[str, Any]:
        return {"category": self.category, "work_summary": self.work_summary}
