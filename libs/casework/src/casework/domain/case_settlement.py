"""The settling commands of a case: resolve, confirm or reopen, rate, visit back, close.

A mixin of `Case`, kept apart so case.py holds the events and the state: the events these
commands record are declared on `Case` (each kind's stored topics name the kind), and are
reached here as `self.<Event>`. Kinds add their own conditions through `check_ready_to_resolve`
and `check_closable`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from casework.domain.actors import Actor, check_may
from casework.domain.chained import require_aware
from casework.domain.errors import InvalidTransitionError, ValidationError
from casework.domain.ladder import REOPEN_WITHIN
from casework.domain.lifecycle import Status, require_case_text


class SettlementCommands:
    """From the work done to the file closed, with the resident's say on the way."""

    if TYPE_CHECKING:  # given by `Case`, which this is mixed into
        Resolved: ClassVar[type[Any]]
        ConfirmedByResident: ClassVar[type[Any]]
        Reopened: ClassVar[type[Any]]
        SatisfactionRated: ClassVar[type[Any]]
        ReturnVisitRecorded: ClassVar[type[Any]]
        Closed: ClassVar[type[Any]]
        status: Status
        resolved_at: datetime | None
        visited_since_resolved: bool

        @property
        def id(self) -> UUID: ...

        def _record(self, event_class: Any, actor: Actor, at: datetime, **kwargs: Any) -> None: ...

        def _set_deadlines(self, actor: Actor, at: datetime) -> None: ...

        def check_unsettled(self, action: str) -> None: ...

        def check_status(self, action: str, *allowed: Status) -> None: ...

        def check_reporter(self, actor: Actor, action: str) -> None: ...

        def check_ready_to_resolve(self) -> None: ...

    def resolve(self, actor: Actor, at: datetime, summary: str) -> None:
        check_may(actor, "resolve")
        self.check_unsettled("be resolved")
        self.check_ready_to_resolve()
        self._record(self.Resolved, actor, at, summary=require_case_text(summary, "the summary"))

    def confirm_resolution(self, actor: Actor, at: datetime) -> None:
        check_may(actor, "confirm_resolution")
        self.check_status("be confirmed", Status.RESOLVED)
        self.check_reporter(actor, "confirm it")
        self._record(self.ConfirmedByResident, actor, at)

    def reopen(self, actor: Actor, at: datetime, reason: str) -> None:
        check_may(actor, "reopen")
        self.check_status("be reopened", Status.RESOLVED, Status.CONFIRMED)
        self.check_reporter(actor, "reopen it")
        assert self.resolved_at is not None
        if at - self.resolved_at > REOPEN_WITHIN:
            raise InvalidTransitionError(
                f"case {self.id} was resolved more than {REOPEN_WITHIN.days} days ago; "
                "report the problem again as a new case"
            )
        self._reopen(actor, at, require_case_text(reason, "the reason"))

    def _reopen(self, actor: Actor, at: datetime, reason: str) -> None:
        """Reopening puts the matter back before the tier it was settled at, so that tier owes a
        new response and a new settlement: fresh deadlines from now, or the old, long-passed
        ones would make the case climb the moment it reopened."""
        self._record(self.Reopened, actor, at, reason=reason)
        self._set_deadlines(actor, at)

    def rate_satisfaction(self, actor: Actor, at: datetime, score: int, comment: str = "") -> None:
        check_may(actor, "rate_satisfaction")
        self.check_status("be rated", Status.RESOLVED, Status.CONFIRMED)
        self.check_reporter(actor, "rate it")
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise ValidationError(f"satisfaction is a whole number from 1 to 5, not {score!r}")
        self._record(self.SatisfactionRated, actor, at, score=score, comment=comment.strip())

    def record_return_visit(self, actor: Actor, at: datetime, note: str) -> None:
        check_may(actor, "record_return_visit")
        self.check_status("get a return visit", Status.RESOLVED, Status.CONFIRMED)
        self._record(self.ReturnVisitRecorded, actor, at, note=require_case_text(note, "the note"))

    def close_case(self, actor: Actor, at: datetime, reason: str = "") -> None:
        """Close the case file (结案) once nothing is left for anyone to do on it.

        Closing is final: a closed case can no longer be reopened, rated or visited back. So
        whoever closes (a desk, a service, a script through the library) is held to
        `check_closable` here, in the aggregate, not in one caller.
        """
        check_may(actor, "close_case")
        self.check_closable(require_aware(at))
        self._record(self.Closed, actor, at, reason=reason.strip())

    def check_closable(self, at: datetime) -> None:
        """Refuse, with what is still missing, to close at `at` a case someone may still act on.

        The resident has had their say (they confirmed the work, or the reopening window since
        it was resolved has passed, so they can no longer reopen it), and staff have made the
        return visit (回访) since it was last resolved. Kinds add their own (a dispute: every
        commitment checked back). Reads only the case and `at`, never the clock.
        """
        if self.status is Status.CLOSED:
            raise InvalidTransitionError(f"case {self.id} is already closed")
        if self.status not in (Status.RESOLVED, Status.CONFIRMED):
            raise InvalidTransitionError(
                f"case {self.id} is {self.status.value}; it is closed only after it is resolved"
            )
        if self.status is Status.RESOLVED:
            assert self.resolved_at is not None
            window_ends = self.resolved_at + REOPEN_WITHIN
            if at <= window_ends:
                raise InvalidTransitionError(
                    f"case {self.id} waits for its reporter to confirm the work; unconfirmed, it "
                    f"can be closed after {window_ends.isoformat(timespec='minutes')}, when the "
                    f"{REOPEN_WITHIN.days}-day reopening window ends"
                )
        if not self.visited_since_resolved:
            raise InvalidTransitionError(
                f"case {self.id} has no return visit (回访) since it was resolved; record one first"
            )
