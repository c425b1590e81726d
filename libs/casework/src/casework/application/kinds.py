"""The commands only one kind of case has: a repair's work, a leak's response, a dispute's
mediation. Each refuses a case of another kind (`CaseStore._update` checks the kind).
A registered kind's own commands go through `command` (`casework.kinds`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from casework.application.store import CaseStore
from casework.domain.actors import Actor
from casework.domain.case import TCase
from casework.domain.dispute import Dispute
from casework.domain.leak import LeakEmergency
from casework.domain.repair import Repair


class KindCommands(CaseStore):
    """A repair's, a leak's and a dispute's own commands, and any registered kind's."""

    def command(
        self, case_id: UUID | str, kind: type[TCase], action: Callable[[TCase, datetime], Any]
    ) -> TCase:
        """Run a kind's own command on a case of that kind: `action(case, at)` in one unit of
        work (retried on a clash), refused for a case of another kind. A package that
        registers a kind calls its aggregate's commands through this, e.g.
        `app.command(case_id, LiftEntrapment, lambda c, at: c.rescue(actor, at, how))`."""
        return self._update(case_id, kind, action)

    # ---------------------------------------------------------------- repair

    def start_work(self, case_id: UUID | str, actor: Actor) -> None:
        self._update(case_id, Repair, lambda c, at: c.start_work(actor, at))

    def finish_work(self, case_id: UUID | str, actor: Actor, summary: str) -> None:
        self._update(case_id, Repair, lambda c, at: c.finish_work(actor, at, summary))

    # ------------------------------------------------------------------ leak

    def attempt_owner_contact(
        self, case_id: UUID | str, actor: Actor, channel: str, outcome: str, note: str = ""
    ) -> None:
        self._update(
            case_id,
            LeakEmergency,
            lambda c, at: c.attempt_owner_contact(actor, at, channel, outcome, note),
        )

    def arrive_on_site(self, case_id: UUID | str, actor: Actor) -> None:
        self._update(case_id, LeakEmergency, lambda c, at: c.arrive_on_site(actor, at))

    def stop_water(self, case_id: UUID | str, actor: Actor, method: str, note: str = "") -> None:
        self._update(case_id, LeakEmergency, lambda c, at: c.stop_water(actor, at, method, note))

    def record_cause(
        self,
        case_id: UUID | str,
        actor: Actor,
        cause: str,
        damage: str = "",
        damaged_units: list[str] | None = None,
    ) -> None:
        self._update(
            case_id,
            LeakEmergency,
            lambda c, at: c.record_cause(actor, at, cause, damage, damaged_units or []),
        )

    # --------------------------------------------------------------- dispute

    def convene_mediation(
        self,
        case_id: UUID | str,
        actor: Actor,
        form: str,
        scheduled_for: datetime,
        place: str,
        participants: list[dict[str, str]],
    ) -> str:
        meeting_id = uuid4().hex[:12]
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.convene_mediation(
                actor, at, meeting_id, form, scheduled_for, place, participants
            ),
        )
        return meeting_id

    def hold_round(
        self,
        case_id: UUID | str,
        actor: Actor,
        meeting_id: str,
        attendees: list[str],
        outcome: str,
        *,
        positions: dict[str, str] | None = None,
        proposals: list[str] | None = None,
        options: list[str] | None = None,
        tally: dict[str, int] | None = None,
        note: str = "",
        walk_ins: list[dict[str, str]] | None = None,
    ) -> None:
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.hold_round(
                actor,
                at,
                meeting_id,
                attendees,
                outcome,
                positions,
                proposals,
                options,
                tally,
                note,
                walk_ins,
            ),
        )

    def reschedule_meeting(
        self,
        case_id: UUID | str,
        actor: Actor,
        meeting_id: str,
        scheduled_for: datetime,
        place: str,
        reason: str,
    ) -> None:
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.reschedule_meeting(actor, at, meeting_id, scheduled_for, place, reason),
        )

    def invite_participants(
        self,
        case_id: UUID | str,
        actor: Actor,
        meeting_id: str,
        participants: list[dict[str, str]],
        reason: str,
    ) -> None:
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.invite_participants(actor, at, meeting_id, participants, reason),
        )

    def name_lead_mediator(
        self, case_id: UUID | str, actor: Actor, lead: Actor, reason: str
    ) -> None:
        """`lead` answers for the dispute at its current tier (the actor themself, or named by
        the tier's head); the domain decides who may."""
        self._update(case_id, Dispute, lambda c, at: c.name_lead_mediator(actor, at, lead, reason))

    def cancel_meeting(
        self, case_id: UUID | str, actor: Actor, meeting_id: str, reason: str
    ) -> None:
        self._update(
            case_id, Dispute, lambda c, at: c.cancel_meeting(actor, at, meeting_id, reason)
        )

    def record_mediation_failed(
        self, case_id: UUID | str, actor: Actor, meeting_id: str, reason: str
    ) -> None:
        self._update(
            case_id, Dispute, lambda c, at: c.record_mediation_failed(actor, at, meeting_id, reason)
        )

    def reach_agreement(
        self,
        case_id: UUID | str,
        actor: Actor,
        meeting_id: str,
        terms: list[str],
        commitments: list[dict[str, str]],
        basis: str = "",
    ) -> None:
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.reach_agreement(actor, at, meeting_id, terms, commitments, basis),
        )

    def record_follow_up(
        self, case_id: UUID | str, actor: Actor, commitment_index: int, kept: bool, note: str
    ) -> None:
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.record_follow_up(actor, at, commitment_index, kept, note),
        )

    def escalate_dispute(
        self,
        case_id: UUID | str,
        actor: Actor,
        grounds: str,
        reason: str = "",
        matter: str | None = None,
    ) -> None:
        """Up one rung on grounds the case file bears out (see `Dispute.escalate_on_grounds`)."""
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.escalate_on_grounds(actor, at, grounds, reason, matter),
        )

    def check_back_commitments(self, case_id: UUID | str, actor: Actor) -> list[int]:
        """The scheduler's check-back: marks commitments past their due date, once each.

        Decided on the freshly loaded case inside the retry loop, like `escalate_if_due`, so two
        schedulers racing on one case record each check-back once.
        """
        marked: list[int] = []

        def decide(case: Dispute, at: datetime) -> None:
            marked[:] = case.check_back_commitments(actor, at)

        self._update(case_id, Dispute, decide)
        return marked
