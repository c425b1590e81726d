"""The mediators' use cases: convene, invite to, reschedule or cancel a meeting, record rounds,
agree, escalate, follow up, resolve, list.

Everything goes through the `Casework` application (the only writer of case files) after the
principal's scope is checked. A dispute outside the principal's scope answers exactly like one
that does not exist (`CaseNotFoundError`), so ids cannot be probed; so does a case that is not a
dispute. After each command the dispute's worklist row is refreshed from the committed case, so
the mediator's next listing shows it without waiting for the feed.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from casework import (
    Actor,
    CaseNotFoundError,
    Casework,
    Dispute,
    NotPermittedError,
)
from casework.audit import HistoryEntry
from casework.domain.mediation_records import participant_dict
from casework.domain.mediation_rules import county_department
from casework_web import Principal

from mediation.feeds import refresh
from mediation.reactions import MEDIATION
from mediation.schemas import (
    AgreementCreate,
    CommitmentPublic,
    DisputePublic,
    EscalationCreate,
    EscalationPublic,
    FollowUpCreate,
    InvitationCreate,
    LeadCreate,
    LeadPublic,
    MeetingCancel,
    MeetingChange,
    MeetingCreate,
    MeetingPublic,
    MeetingReschedule,
    Participant,
    RoundCreate,
    RoundPublic,
)
from mediation.worklist import Worklist, WorkRow, next_action

AUDITORS_READ_ONLY = "auditors read everything and change nothing"


class Desk:
    """The mediation desk: one per process, shared by the API's threads."""

    def __init__(self, app: Casework, worklist: Worklist) -> None:
        self.app = app
        self.worklist = worklist

    # ----------------------------------------------------------------- reading

    def dispute(self, who: Principal, case_id: str) -> Dispute:
        """The dispute, if this principal may see it; otherwise as if it did not exist."""
        try:
            case = self.app.get_case(case_id)
        except CaseNotFoundError:
            raise CaseNotFoundError(_not_found(case_id)) from None
        if not isinstance(case, Dispute):
            raise CaseNotFoundError(_not_found(case_id))
        if who.may_see(case.address.path, [*case.reporter_ids, *case.parties]) is not None:
            raise CaseNotFoundError(_not_found(case_id))
        return case

    def view(self, case: Dispute) -> DisputePublic:
        return view(case, self.app.history(case.id))

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
        that same scope."""
        return self.worklist.page(
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

    # ----------------------------------------------------------------- writing

    def convene(self, who: Principal, case_id: str, body: MeetingCreate) -> MeetingPublic:
        case = self._writable(who, case_id)
        meeting_id = self.app.convene_mediation(
            case.id,
            who.actor,
            body.form,
            body.scheduled_for,
            body.place,
            [p.as_participant() for p in body.participants],
        )
        after = self._done(case.id)
        return next(m for m in after.meetings if m.meeting_id == meeting_id)

    def lead(self, who: Principal, case_id: str, body: LeadCreate) -> DisputePublic:
        """The caller takes the lead, or (the tier's head) names its lead; the domain decides."""
        case = self._writable(who, case_id)
        lead = who.actor if body.lead is None else Actor(body.lead.id, body.lead.role)
        self.app.name_lead_mediator(case.id, who.actor, lead, body.reason)
        return self._done(case.id)

    def reschedule(self, who: Principal, meeting_id: str, body: MeetingReschedule) -> MeetingPublic:
        case = self._writable(who, self._case_of_meeting(meeting_id))
        place = body.place
        if place is None:
            place = case.meetings[meeting_id].place
        self.app.reschedule_meeting(
            case.id, who.actor, meeting_id, body.scheduled_for, place, body.reason
        )
        return self._meeting(case.id, meeting_id)

    def invite(self, who: Principal, meeting_id: str, body: InvitationCreate) -> MeetingPublic:
        case = self._writable(who, self._case_of_meeting(meeting_id))
        self.app.invite_participants(
            case.id,
            who.actor,
            meeting_id,
            [p.as_participant() for p in body.participants],
            body.reason,
        )
        return self._meeting(case.id, meeting_id)

    def cancel(self, who: Principal, meeting_id: str, body: MeetingCancel) -> MeetingPublic:
        case = self._writable(who, self._case_of_meeting(meeting_id))
        self.app.cancel_meeting(case.id, who.actor, meeting_id, body.reason)
        return self._meeting(case.id, meeting_id)

    def _case_of_meeting(self, meeting_id: str) -> str:
        """The dispute a meeting belongs to, from the worklist's index of meetings."""
        case_id = self.worklist.case_of_meeting(meeting_id)
        if case_id is None:
            raise CaseNotFoundError(
                f"no meeting {meeting_id[:64]!r} among the disputes you can see; check the id"
            )
        return case_id

    def _meeting(self, case_id: UUID, meeting_id: str) -> MeetingPublic:
        after = self._done(case_id)
        return next(m for m in after.meetings if m.meeting_id == meeting_id)

    def hold_round(
        self, who: Principal, meeting_id: str, body: RoundCreate
    ) -> tuple[RoundPublic, DisputePublic]:
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
        after = self._done(case.id)
        meeting = next(m for m in after.meetings if m.meeting_id == meeting_id)
        return meeting.rounds[-1], after

    def agree(self, who: Principal, case_id: str, body: AgreementCreate) -> DisputePublic:
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

    def escalate(self, who: Principal, case_id: str, body: EscalationCreate) -> DisputePublic:
        case = self._writable(who, case_id)
        self.app.escalate_dispute(case.id, who.actor, body.grounds, body.reason, body.matter)
        return self._done(case.id)

    def follow_up(self, who: Principal, case_id: str, body: FollowUpCreate) -> DisputePublic:
        case = self._writable(who, case_id)
        self.app.record_follow_up(case.id, who.actor, body.commitment_index, body.kept, body.note)
        return self._done(case.id)

    def resolve(self, who: Principal, case_id: str, summary: str) -> DisputePublic:
        case = self._writable(who, case_id)
        self.app.resolve(case.id, who.actor, summary)
        return self._done(case.id)

    def _writable(self, who: Principal, case_id: str) -> Dispute:
        case = self.dispute(who, case_id)
        if who.is_auditor:
            raise NotPermittedError(AUDITORS_READ_ONLY)
        return case

    def _done(self, case_id: UUID) -> DisputePublic:
        refresh(self.app, self.worklist, case_id)
        case = self.app.get_case(case_id)
        assert isinstance(case, Dispute)
        return self.view(case)


def _not_found(case_id: str) -> str:
    """One message for "no such dispute" and "not yours to see", so ids cannot be probed."""
    shown = case_id if len(case_id) <= 64 else case_id[:61] + "..."
    return f"no dispute {shown!r} among the cases you can see; check the id"


_CHANGES: dict[str, Literal["rescheduled", "cancelled", "joined", "invited"]] = {
    "MeetingRescheduled": "rescheduled",
    "MeetingCancelled": "cancelled",
    "ParticipantJoined": "joined",
    "ParticipantInvited": "invited",
}


def _participant(p: dict[str, str]) -> Participant:
    department = county_department(p["id"]) if p["role"] == "county_department_rep" else None
    return Participant(id=p["id"], role=p["role"], department=department)


def view(case: Dispute, history: list[HistoryEntry]) -> DisputePublic:
    """The dispute as a mediator reads it: its meetings with every round, from the case file."""
    rounds: dict[str, list[RoundPublic]] = {}
    changes: dict[str, list[MeetingChange]] = {}
    escalations: list[EscalationPublic] = []
    lead_reason = ""
    for entry in history:
        d: dict[str, Any] = entry.details
        if entry.event == "LeadMediatorNamed":
            lead_reason = entry.reason
        elif entry.event in _CHANGES:
            changes.setdefault(d["meeting_id"], []).append(
                MeetingChange(
                    change=_CHANGES[entry.event],
                    at=entry.at,
                    by=entry.actor_id,
                    role=entry.actor_role,
                    reason=entry.reason,
                    scheduled_for=d.get("scheduled_for"),
                    place=d.get("place"),
                    participant=_participant(d["participant"]) if "participant" in d else None,
                )
            )
        elif entry.event == "RoundHeld":
            rounds.setdefault(d["meeting_id"], []).append(
                RoundPublic(
                    meeting_id=d["meeting_id"],
                    round_no=d["round_no"],
                    at=entry.at,
                    recorded_by=entry.actor_id,
                    outcome=d["outcome"],
                    attendees=list(d["attendees"]),
                    positions=dict(d["positions"]),
                    proposals=list(d["proposals"]),
                    options=list(d["options"]),
                    tally=dict(d["tally"]),
                    note=entry.reason,
                )
            )
        elif entry.event == "Escalated":
            escalations.append(
                EscalationPublic(
                    at=entry.at,
                    from_tier=entry.tier,
                    to_tier=d["to_tier"],
                    automatic=d["automatic"],
                    by=entry.actor_id,
                    reason=entry.reason,
                )
            )
    meetings = [
        MeetingPublic(
            meeting_id=meeting_id,
            case_id=str(case.id),
            form=m.form,
            label=m.label,
            tier=m.tier.value,
            scheduled_for=m.scheduled_for,
            place=m.place,
            status=m.status,
            checks_attendance=m.checks_attendance,
            participants=[_participant(participant_dict(p)) for p in m.participants],
            rounds=rounds.get(meeting_id, []),
            changes=changes.get(meeting_id, []),
        )
        for meeting_id, m in case.meetings.items()
    ]
    return DisputePublic(
        case_id=str(case.id),
        version=case.version,
        address=case.address.path,
        category=case.category,
        description=case.description,
        parties=list(case.parties),
        reporter_ids=list(case.reporter_ids),
        tier=case.tier.value,
        entry_tier=case.entry_tier.value,
        status=case.status.value,
        priority=case.priority.value,
        respond_by=case.respond_by,
        settle_by=case.settle_by,
        escalation_due_at=case.escalation_due_at(),
        failed_rounds_at_tier=case.failed_rounds_at_tier,
        escalations=escalations,
        meetings=meetings,
        terms=list(case.terms),
        commitments=[
            CommitmentPublic(index=i, who=c.who, what=c.what, due=c.due, status=c.status.value)
            for i, c in enumerate(case.commitments)
        ],
        tally_citation=case.tally_citation(),
        settled_tier=case.settled_tier.value if case.settled_tier else None,
        links=[{"case_id": c, "relation": r} for c, r in case.links],
        next_action=next_action(case),
        lead=_lead(case, lead_reason),
    )


def _lead(case: Dispute, reason: str) -> LeadPublic | None:
    """The current lead, with the reason of the latest `LeadMediatorNamed` (the one that made
    them lead: a lead is current only if it was the latest named)."""
    lead = case.lead_mediator
    if lead is None:
        return None
    return LeadPublic(
        id=lead.id,
        role=lead.role.value,
        named_by=lead.named_by,
        since=lead.since,
        reason=reason,
    )
