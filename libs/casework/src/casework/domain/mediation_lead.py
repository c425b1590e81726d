"""Who leads a dispute's mediation at its tier: a mediator of the tier takes the lead, or the
tier's head names one, so a dispute with no meeting yet is still on someone's own list.

A mixin of `Dispute`, kept apart so dispute.py stays readable: `LeadMediatorNamed` is declared on
`Dispute` (its stored topic names it) and reached here as `self.LeadMediatorNamed`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from casework.domain.actors import Actor, check_may
from casework.domain.case import _require_text
from casework.domain.errors import InvalidTransitionError, NotPermittedError, ValidationError
from casework.domain.mediation_records import Lead
from casework.domain.mediation_rules import CONVENERS, TIER_HEADS
from casework.domain.places import Tier


class LeadCommands:
    """Taking or naming the lead, and who leads now; see `Dispute` for the event."""

    lead: Lead | None

    if TYPE_CHECKING:  # given by `Case`, `MeetingCommands` and `Dispute`
        LeadMediatorNamed: ClassVar[type[Any]]
        tier: Tier

        @property
        def id(self) -> UUID: ...

        def _record(self, event_class: Any, actor: Actor, at: datetime, **kwargs: Any) -> None: ...

        def check_unsettled(self, action: str) -> None: ...

        def check_mediator(self, actor: Actor, action: str) -> None: ...

    @property
    def lead_mediator(self) -> Lead | None:
        """Who leads the dispute at its current tier, or None: nobody took it, or its lead was
        at a tier it has since climbed from."""
        lead = self.lead
        if lead is None or not lead.leads_at(self.tier):
            return None
        return lead

    def name_lead_mediator(self, actor: Actor, at: datetime, lead: Actor, reason: str) -> None:
        """Make `lead` the one who answers for the dispute at its tier, so a dispute with no
        meeting yet is still on someone's own list. A mediator of the tier (`CONVENERS`) takes it
        themself (`lead` is the actor), unless a colleague leads it already; the tier's head
        (`TIER_HEADS`) names any of them, a colleague's lead included. Either way with a reason."""
        check_may(actor, "convene_mediation")
        self.check_unsettled("take a lead mediator")
        head = TIER_HEADS[self.tier]
        current = self.lead_mediator
        if lead.id == actor.id:
            if lead.role is not actor.role:
                raise ValidationError(
                    f"{actor.id} acts as a {actor.role.value}, so leads as one, not as a "
                    f"{lead.role.value}"
                )
            self.check_mediator(actor, "lead its mediation")
            if current is not None and current.id != actor.id and actor.role is not head:
                raise InvalidTransitionError(
                    f"{current.id} ({current.role.value}) leads dispute {self.id} at the "
                    f"{self.tier.value} since {current.since.isoformat()}; the {head.value} "
                    f"({head.label}) can name another lead"
                )
        else:
            if actor.role is not head:
                raise NotPermittedError(
                    f"only the {head.value} ({head.label}) names who leads a dispute at the "
                    f"{self.tier.value}; a {actor.role.value} may take the lead themself"
                )
            if lead.role not in CONVENERS[self.tier]:
                who = ", ".join(sorted(r.value for r in CONVENERS[self.tier]))
                raise InvalidTransitionError(
                    f"a {lead.role.value} does not mediate at the {self.tier.value} tier, so "
                    f"cannot lead a dispute there; who does: {who}"
                )
        if current is not None and current.id == lead.id:
            raise InvalidTransitionError(
                f"{lead.id} already leads dispute {self.id} at the {self.tier.value} "
                f"(since {current.since.isoformat()})"
            )
        self._record(
            self.LeadMediatorNamed,
            actor,
            at,
            reason=_require_text(reason, "the reason for this lead"),
            lead_id=lead.id,
            lead_role=lead.role.value,
        )
