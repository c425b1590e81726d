"""The assignment commands of a case: assign, accept, queue, decline, take off its assignee.

A mixin of `Case`, kept apart so case.py holds the events and the state: the events these
commands record are declared on `Case` (each kind's stored topics name the kind, e.g.
`casework.domain.repair:Repair.Assigned`), and are reached here as `self.<Event>`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from casework.domain.actors import Actor, Role, check_may
from casework.domain.errors import InvalidTransitionError, ValidationError
from casework.domain.lifecycle import Status, require_case_text


class AssignmentCommands:
    """Who does the work (a repair's or a leak's; a dispute is mediated, not assigned)."""

    if TYPE_CHECKING:  # given by `Case`, which this is mixed into
        KIND: ClassVar[str]
        ASSIGNABLE: ClassVar[bool]
        Assigned: ClassVar[type[Any]]
        AssignmentAccepted: ClassVar[type[Any]]
        AssignmentDeclined: ClassVar[type[Any]]
        QueuedForAssignment: ClassVar[type[Any]]
        status: Status
        assignee: Actor | None
        accepted_at: datetime | None
        queued_at: datetime | None

        @property
        def id(self) -> UUID: ...

        def _record(self, event_class: Any, actor: Actor, at: datetime, **kwargs: Any) -> None: ...

        def check_status(self, action: str, *allowed: Status) -> None: ...

    def assign(self, actor: Actor, at: datetime, assignee: Actor, why: str) -> None:
        check_may(actor, "assign")
        if not self.ASSIGNABLE:
            raise InvalidTransitionError(f"a {self.KIND} is mediated, not assigned")
        if assignee.role not in (Role.PROPERTY_STAFF, Role.PROPERTY_MANAGER, Role.VOLUNTEER):
            raise ValidationError(
                f"work goes to property staff or volunteers, not to a {assignee.role.value}"
            )
        self.check_status("be assigned", Status.REPORTED, Status.ACKNOWLEDGED)
        self._record(
            self.Assigned,
            actor,
            at,
            reason=require_case_text(why, "why this assignee"),
            assignee_id=assignee.id,
            assignee_role=assignee.role.value,
        )

    def check_assignee(self, actor: Actor, action: str) -> None:
        if self.assignee is None or self.assignee.id != actor.id:
            who = self.assignee.id if self.assignee else "nobody"
            raise InvalidTransitionError(
                f"case {self.id} is assigned to {who}; {actor.id} cannot {action}"
            )

    def accept_assignment(self, actor: Actor, at: datetime) -> None:
        check_may(actor, "accept_assignment")
        self.check_status("be accepted", Status.ASSIGNED)
        self.check_assignee(actor, "accept it")
        if self.accepted_at is not None:
            raise InvalidTransitionError(f"{actor.id} has already accepted case {self.id}")
        self._record(self.AssignmentAccepted, actor, at)

    def queue_for_assignment(self, actor: Actor, at: datetime, why: str) -> None:
        """Record that the case waits for someone suitable to be free, and why; once per wait."""
        check_may(actor, "queue_for_assignment")
        if not self.ASSIGNABLE:
            raise InvalidTransitionError(f"a {self.KIND} is mediated, not assigned")
        self.check_status("wait for an assignee", Status.REPORTED, Status.ACKNOWLEDGED)
        if self.queued_at is not None:
            raise InvalidTransitionError(f"case {self.id} is already waiting for an assignee")
        self._record(
            self.QueuedForAssignment, actor, at, reason=require_case_text(why, "why it waits")
        )

    def decline_assignment(self, actor: Actor, at: datetime, reason: str) -> None:
        check_may(actor, "decline_assignment")
        self.check_status("be declined", Status.ASSIGNED)
        self.check_assignee(actor, "decline it")
        self._record(
            self.AssignmentDeclined, actor, at, reason=require_case_text(reason, "the reason")
        )

    def take_off(self, actor: Actor, at: datetime, reason: str) -> None:
        """The manager takes held work off its assignee (before or during the work), so it can
        go to someone else: recorded as the assignment declined, by the manager, with the reason.
        Who may do it beyond `assign` (the property manager only) is the caller's rule."""
        check_may(actor, "assign")
        self.check_status("be taken off its assignee", Status.ASSIGNED, Status.IN_PROGRESS)
        if self.assignee is None:
            raise InvalidTransitionError(f"case {self.id} has nobody to take it off")
        self._record(
            self.AssignmentDeclined, actor, at, reason=require_case_text(reason, "the reason")
        )
