"""The mediators' use cases: convene, invite to, reschedule or cancel a meeting, record rounds,
agree, escalate, follow up, resolve, list.

Everything goes through the `Casework` application (the only writer of case files) after the
principal's scope is checked. A dispute outside the principal's scope answers exactly like one
that does not exist (`CaseNotFoundError`), so ids cannot be probed; so does a case that is not a
dispute. After each command the dispute's worklist row is refreshed from the committed case, so
the mediator's next listing shows it without waiting for the feed; the command answers with the
dispute as committed, and the API presents it (`api/presenters.py`).
"""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from casework import (
    Actor,
    CaseNotFoundError,
    Casework,
    Dispute,
    NotPermittedError,
)
from casework_web import Principal

from mediation.feeds import refresh
from mediation.reactions import MEDIATION
from mediation.schemas import (
    AgreementCreate,
    EscalationCreate,
    FollowUpCreate,
    InvitationCreate,
    LeadCreate,
    MeetingCancel,
    MeetingCreate,
    MeetingReschedule,
    RoundCreate,
)
from mediation.worklist import Worklist, WorkRow

AUDITORS_READ_ONLY = "auditors read everything and change nothing"


class Desk:
    """The mediation desk: one per process, shared by the API's threads."""

    def __init__(self, app: Casework, worklist: Worklist) -> None:
        self.app = app
        self.worklist = worklist

    # ----------------------------------------------------------------- reading

    def dispute(self, who: Principal, case_id: str) -> Dispute:
        """The dispute, if this principal may see it; otherwise as if it did not exist. An
        auditor's copy reads `[personal]` for every personal value (docs/adr/011)."""
        try:
            case = self.app.get_case(case_id, personal=not who.is_auditor)
        except CaseNotFoundError:
            raise CaseNotFoundError(_not_found(case_id)) from None
        if not isinstance(case, Dispute):
            raise CaseNotFoundError(_not_found(case_id))
        if who.may_see(case.address.path, [*case.reporter_ids, *case.parties]) is not None:
            raise CaseNotFoundError(_not_found(case_id))
        return case

    def worklist_page(
        self,
        who: Principal,
        *,
        tier: str | None,
        compound: str | None,
        status: str | None,
        include_closed: bool,
        mine: bool = False,
        unled: bool = False,
        offset: int,
        limit: int,
    ) -> tuple[int, list[WorkRow]]:
        """The worklist in the principal's scope; `mine` narrows it to the disputes they lead or
        whose meetings they convened or were invited to, `unled` to those nobody leads, within
        that same scope. Descriptions are kept sealed and opened here, for this reader
        (`[personal]` for an auditor, `[erased]` after an erasure)."""
        total, rows = self.worklist.page(
            who.scope(),
            tier=tier,
            compound=compound,
            status=status,
            include_closed=include_closed,
            mine=who.actor.id if mine else None,
            unled=unled,
            offset=offset,
            limit=limit,
        )
        opener = self.app.privacy.opener
        shown = [
            replace(
                row,
                description=str(
                    opener.open(
                        row.description,
                        case_id=row.case_id,
                        field="description",
                        allowed=not who.is_auditor,
                    )
                )[:280],
            )
            for row in rows
        ]
        return total, shown

    # ----------------------------------------------------------------- writing

    def convene(self, who: Principal, case_id: str, body: MeetingCreate) -> tuple[Dispute, str]:
        """The dispute after, and the new meeting's id."""
        case = self._writable(who, case_id)
        meeting_id = self.app.convene_mediation(
            case.id,
            who.actor,
            body.form,
            body.scheduled_for,
            body.place,
            [p.as_participant() for p in body.participants],
        )
        return self._done(case.id), meeting_id

    def lead(self, who: Principal, case_id: str, body: LeadCreate) -> Dispute:
        """The caller takes the lead, or (the tier's head) names its lead; the domain decides."""
        case = self._writable(who, case_id)
        lead = who.actor if body.lead is None else Actor(body.lead.id, body.lead.role)
        self.app.name_lead_mediator(case.id, who.actor, lead, body.reason)
        return self._done(case.id)

    def reschedule(self, who: Principal, meeting_id: str, body: MeetingReschedule) -> Dispute:
        case = self._writable(who, self._case_of_meeting(meeting_id))
        place = body.place
        if place is None:
            place = case.meetings[meeting_id].place
        self.app.reschedule_meeting(
            case.id, who.actor, meeting_id, body.scheduled_for, place, body.reason
        )
        return self._done(case.id)

    def invite(self, who: Principal, meeting_id: str, body: InvitationCreate) -> Dispute:
        case = self._writable(who, self._case_of_meeting(meeting_id))
        self.app.invite_participants(
            case.id,
            who.actor,
            meeting_id,
            [p.as_participant() for p in body.participants],
            body.reason,
        )
        return self._done(case.id)

    def cancel(self, who: Principal, meeting_id: str, body: MeetingCancel) -> Dispute:
        case = self._writable(who, self._case_of_meeting(meeting_id))
        self.app.cancel_meeting(case.id, who.actor, meeting_id, body.reason)
        return self._done(case.id)

    def _case_of_meeting(self, meeting_id: str) -> str:
        """The dispute a meeting belongs to, from the worklist's index of meetings."""
        case_id = self.worklist.case_of_meeting(meeting_id)
        if case_id is None:
            raise CaseNotFoundError(
                f"no meeting {meeting_id[:64]!r} among the disputes you can see; check the id"
            )
        return case_id

    def hold_round(self, who: Principal, meeting_id: str, body: RoundCreate) -> Dispute:
        case = self._writable(who, self._case_of_meeting(meeting_id))
        self.app.hold_round(
            case.id,
            who.actor,
            meeting_id,
            list(body.attendees),
            body.outcome,
            positions=dict(body.positions),
            proposals=list(body.proposals),
            options=list(body.options),
            tally=dict(body.tally),
            note=body.note,
            walk_ins=[{**w.as_participant(), "reason": w.reason} for w in body.walk_ins],
        )
        if body.outcome == "failed":
            # The set number of failed rounds climbs a rung now, not at the feed's leisure; the
            # feed's own reaction then finds nothing due (the decision is made on fresh state).
            self.app.escalate_if_due(case.id, MEDIATION)
        return self._done(case.id)

    def agree(self, who: Principal, case_id: str, body: AgreementCreate) -> Dispute:
        case = self._writable(who, case_id)
        self.app.reach_agreement(
            case.id,
            who.actor,
            body.meeting_id,
            list(body.terms),
            [c.model_dump() for c in body.commitments],
            body.basis,
        )
        return self._done(case.id)

    def escalate(self, who: Principal, case_id: str, body: EscalationCreate) -> Dispute:
        case = self._writable(who, case_id)
        self.app.escalate_dispute(case.id, who.actor, body.grounds, body.reason, body.matter)
        return self._done(case.id)

    def follow_up(self, who: Principal, case_id: str, body: FollowUpCreate) -> Dispute:
        case = self._writable(who, case_id)
        self.app.record_follow_up(case.id, who.actor, body.commitment_index, body.kept, body.note)
        return self._done(case.id)

    def resolve(self, who: Principal, case_id: str, summary: str) -> Dispute:
        case = self._writable(who, case_id)
        self.app.resolve(case.id, who.actor, summary)
        return self._done(case.id)

    def _writable(self, who: Principal, case_id: str) -> Dispute:
        case = self.dispute(who, case_id)
        if who.is_auditor:
            raise NotPermittedError(AUDITORS_READ_ONLY)
        return case

    def _done(self, case_id: UUID) -> Dispute:
        """The dispute as committed, its worklist row refreshed from it."""
        refresh(self.app, self.worklist, case_id)
        case = self.app.get_case(case_id)
        assert isinstance(case, Dispute)
        return case


def _not_found(case_id: str) -> str:
    """One message for "no such dispute" and "not yours to see", so ids cannot be probed."""
    shown = case_id if len(case_id) <= 64 else case_id[:61] + "..."
    return f"no dispute {shown!r} among the cases you can see; check the id"
