"""The tier commands of a case: answer at its tier, climb to the next, and when climbing is due.

A mixin of `Case`, kept apart so case.py holds the events and the state: the events recorded
here are declared on `Case` (each kind's stored topics name the kind), and are reached here as
`self.Acknowledged` and `self.Escalated`. Kinds with more deadlines (a leak, a dispute) override
the questions.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from casework.domain.actors import Actor, Role, check_may
from casework.domain.errors import InvalidTransitionError, ValidationError
from casework.domain.lifecycle import SETTLED, Status, require_case_text
from casework.domain.places import Tier


class TierCommands:
    """The ladder: each tier owes a response, and a case climbs by hand or by a passed deadline."""

    if TYPE_CHECKING:  # given by `Case`, which this is mixed into
        Acknowledged: ClassVar[type[Any]]
        Escalated: ClassVar[type[Any]]
        status: Status
        tier: Tier
        respond_by: datetime | None
        settle_by: datetime | None
        responded_at_tier: datetime | None

        @property
        def id(self) -> UUID: ...

        def _record(self, event_class: Any, actor: Actor, at: datetime, **kwargs: Any) -> None: ...

        def _set_deadlines(self, actor: Actor, at: datetime) -> None: ...

        def check_unsettled(self, action: str) -> None: ...

    def acknowledge(self, actor: Actor, at: datetime, note: str = "") -> None:
        """Take the case up at its tier: once when reported, and again at each tier it climbs to.

        A case escalated while assigned (or in mediation) keeps its work going, but the tier it
        landed on owes its own response by its own `respond_by`; acknowledging is how that
        tier's people (the property manager at the compound, the community officer above)
        record it without undoing the assignment.
        """
        check_may(actor, "acknowledge")
        if self.status is not Status.REPORTED:
            self.check_unsettled("be acknowledged")
            if self.responded_at_tier is not None:
                raise InvalidTransitionError(
                    f"case {self.id} is {self.status.value} and was already answered at the "
                    f"{self.tier.value} tier (at {self.responded_at_tier.isoformat()}); "
                    "it can be acknowledged again only when it climbs to another tier"
                )
        self._record(self.Acknowledged, actor, at, reason=note)

    def escalate(self, actor: Actor, at: datetime, reason: str, *, automatic: bool = False) -> None:
        """Up exactly one rung, with a reason; `automatic` marks a deadline's doing."""
        check_may(actor, "escalate")
        self.check_unsettled("be escalated")
        above = self.tier.next_up()
        if above is None:
            raise InvalidTransitionError(
                f"case {self.id} is already at the community, the top of the ladder"
            )
        if automatic and actor.role is not Role.SYSTEM:
            raise ValidationError("only the scheduler records automatic escalations")
        self._record(
            self.Escalated,
            actor,
            at,
            reason=require_case_text(reason, "the reason for escalating"),
            to_tier=above.value,
            automatic=automatic,
        )
        self._set_deadlines(actor, at)

    def escalation_reason(self, now: datetime) -> str | None:
        """Why the case should climb now, or None. Reads deadlines recorded on the case."""
        if self.status in SETTLED or self.tier.next_up() is None:
            return None
        if self.awaits_response_at_tier() and self.respond_by and now > self.respond_by:
            return "deadline passed: no response"
        if self.settle_by and now > self.settle_by and not self.settled_at_this_tier_in_time():
            return "deadline passed: not settled at this tier"
        return None

    def escalation_due_at(self) -> datetime | None:
        """After which moment `escalation_reason` gives a reason, if nothing more is recorded.

        What a scheduler sleeps until, read from the deadlines recorded on the case (never the
        table or the clock). None when no deadline can make the case climb any more. Only
        reasons that a passing moment brings; one that already holds whatever the time (a
        dispute's failed rounds) is for the caller to ask `escalation_reason(now)` about.
        """
        if self.status in SETTLED or self.tier.next_up() is None:
            return None
        moments = self.escalation_moments()
        return min(moments) if moments else None

    def escalation_moments(self) -> list[datetime]:
        """Each deadline still able to make the case climb; kinds with more of them add theirs."""
        moments: list[datetime] = []
        if self.respond_by and self.awaits_response_at_tier():
            moments.append(self.respond_by)
        if self.settle_by and not self.settled_at_this_tier_in_time():
            moments.append(self.settle_by)
        return moments

    def awaits_response_at_tier(self) -> bool:
        """Nobody has answered at this tier since the case entered it, and its substance is not
        settled here either (a leak's water stopped, a dispute agreed): then "no response" is
        still a reason to climb once `respond_by` passes."""
        return self.responded_at_tier is None and not self.settled_at_this_tier_in_time()

    def settled_at_this_tier_in_time(self) -> bool:
        """Kinds with an earlier milestone than `resolved` (a leak: water stopped) override."""
        return False
