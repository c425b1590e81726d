"""The domain's objects as the API shows them: the response models of `mediation.schemas`.

A dispute is shown from its state and its case file together: the state says where it stands,
the file adds what the state does not keep (every round with its tally, each change to a meeting
with its reason, each climb with its grounds). The rules table is shown from the domain's own
tables (`casework.domain.mediation_rules`), so a client builds its forms from what is enforced.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from casework import Casework, Dispute, Tier
from casework.audit import HistoryEntry
from casework.domain.ladder import FAILED_ROUNDS_BEFORE_ESCALATION
from casework.domain.mediation_records import participant_dict
from casework.domain.mediation_rules import (
    CONVENERS,
    COUNTY_DEPARTMENTS,
    COUNTY_SEAT_FORMS,
    ESCALATION_GROUNDS,
    MATTERS,
    MEETING_FORMS,
    OPEN_FORMS,
    TIER_HEADS,
    county_department,
)

from mediation.schemas import (
    CommitmentPublic,
    DisputePublic,
    EscalationPublic,
    FormRule,
    LeadPublic,
    MatterRule,
    MediationRules,
    MeetingChange,
    MeetingPublic,
    Participant,
    RoundPublic,
    TierRule,
    WorkItem,
    WorkPage,
)
from mediation.worklist import WorkRow, next_action


def present(app: Casework, case: Dispute, *, personal: bool = True) -> DisputePublic:
    """The dispute as shown, its case file read from `app`; `personal` False (an auditor's
    reading): stated positions, notes and descriptions read `[personal]`."""
    return dispute_public(case, app.history(case.id, personal=personal))


def meeting_public(dispute: DisputePublic, meeting_id: str) -> MeetingPublic:
    """One meeting of a dispute as shown (its rounds and changes included)."""
    return next(m for m in dispute.meetings if m.meeting_id == meeting_id)


def work_page(total: int, rows: list[WorkRow], *, offset: int, limit: int) -> WorkPage:
    """A page of the worklist: its rows as they are kept, with the page's place in the whole."""
    return WorkPage(
        total=total,
        offset=offset,
        limit=limit,
        items=[WorkItem.model_validate(asdict(row)) for row in rows],
    )


_CHANGES: dict[str, Literal["rescheduled", "cancelled", "joined", "invited"]] = {
    "MeetingRescheduled": "rescheduled",
    "MeetingCancelled": "cancelled",
    "ParticipantJoined": "joined",
    "ParticipantInvited": "invited",
}


def _participant(p: dict[str, str]) -> Participant:
    department = county_department(p["id"]) if p["role"] == "county_department_rep" else None
    return Participant(id=p["id"], role=p["role"], department=department)


def dispute_public(case: Dispute, history: list[HistoryEntry]) -> DisputePublic:
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


MEDIATION_RULES = MediationRules(
    forms=[
        FormRule(
            form=form,
            label=label,
            tiers=sorted(tiers, key=lambda t: t.rank),
            seats_county_departments=form in COUNTY_SEAT_FORMS,
            checks_attendance=form not in OPEN_FORMS,
        )
        for form, (label, tiers) in MEETING_FORMS.items()
    ],
    tiers=[
        TierRule(
            tier=tier,
            label=tier.label,
            mediators=sorted(r.value for r in CONVENERS[tier]),
            head=TIER_HEADS[tier].value,
            forms=[f for f, (_, tiers) in MEETING_FORMS.items() if tier in tiers],
        )
        for tier in Tier
    ],
    matters=[
        MatterRule(matter=matter, label=label, decided_at=tier)
        for matter, (label, tier) in MATTERS.items()
    ],
    county_departments=dict(COUNTY_DEPARTMENTS),
    escalation_grounds=list(ESCALATION_GROUNDS),
    failed_rounds_before_escalation=FAILED_ROUNDS_BEFORE_ESCALATION,
)
"""The tables `GET /mediation-rules` shows: made once, from the domain's, at import."""
