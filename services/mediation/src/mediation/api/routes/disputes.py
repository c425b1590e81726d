"""/disputes/{case_id}: one dispute as a mediator reads it, and the commands on it (convene a
meeting, lead, agree, escalate, follow up a commitment, resolve)."""

from __future__ import annotations

from casework_web import Who, error_responses
from fastapi import APIRouter

from mediation.api.deps import ACTION_ERRORS, CaseId, Meters, Rt
from mediation.api.presenters import meeting_public, present
from mediation.schemas import (
    AgreementCreate,
    DisputePublic,
    EscalationCreate,
    FollowUpCreate,
    LeadCreate,
    MeetingCreate,
    MeetingPublic,
    ResolutionCreate,
)

router = APIRouter(prefix="/disputes", tags=["disputes"], responses=error_responses(401, 422, 503))


@router.get(
    "/{case_id}",
    response_model=DisputePublic,
    responses=error_responses(403, 404),
    summary="The dispute: meetings with every round (tallies included), commitments, escalations",
)
def get_dispute(case_id: CaseId, who: Who, rt: Rt) -> DisputePublic:
    return present(rt.app, rt.desk.dispute(who, case_id), personal=not who.is_auditor)


@router.post(
    "/{case_id}/meetings",
    status_code=201,
    response_model=MeetingPublic,
    responses=ACTION_ERRORS,
    summary="Convene a meeting: form, time, place, participants (county departments at a council)",
)
def convene(
    case_id: CaseId, body: MeetingCreate, who: Who, rt: Rt, meters: Meters
) -> MeetingPublic:
    dispute, meeting_id = rt.desk.convene(who, case_id, body)
    meeting = dispute.meetings[meeting_id]
    meters.meetings.labels(meeting.form, meeting.tier.value).inc()
    return meeting_public(present(rt.app, dispute), meeting_id)


@router.post(
    "/{case_id}/lead",
    response_model=DisputePublic,
    responses=ACTION_ERRORS,
    summary="Take the lead of the dispute at its tier yourself, or (the tier's head) name its "
    "lead mediator, with the reason; the lead lapses when the dispute climbs",
)
def lead(case_id: CaseId, body: LeadCreate, who: Who, rt: Rt, meters: Meters) -> DisputePublic:
    dispute = rt.desk.lead(who, case_id, body)
    meters.leads.labels("taken" if body.lead is None else "named").inc()
    return present(rt.app, dispute)


@router.post(
    "/{case_id}/agreement",
    status_code=201,
    response_model=DisputePublic,
    responses=ACTION_ERRORS,
    summary="Record the agreement: terms and commitments (who does what by when)",
)
def agree(
    case_id: CaseId, body: AgreementCreate, who: Who, rt: Rt, meters: Meters
) -> DisputePublic:
    dispute = rt.desk.agree(who, case_id, body)
    meters.agreements.labels(dispute.tier.value).inc()
    return present(rt.app, dispute)


@router.post(
    "/{case_id}/escalate",
    response_model=DisputePublic,
    responses=ACTION_ERRORS,
    summary="Send the dispute up one rung, on grounds the case file bears out",
)
def escalate(
    case_id: CaseId, body: EscalationCreate, who: Who, rt: Rt, meters: Meters
) -> DisputePublic:
    dispute = rt.desk.escalate(who, case_id, body)
    meters.escalations.labels(body.grounds).inc()
    return present(rt.app, dispute)


@router.post(
    "/{case_id}/follow-ups",
    status_code=201,
    response_model=DisputePublic,
    responses=ACTION_ERRORS,
    summary="Record a commitment's check-back: kept, or broken (which reopens the dispute)",
)
def follow_up(case_id: CaseId, body: FollowUpCreate, who: Who, rt: Rt) -> DisputePublic:
    return present(rt.app, rt.desk.follow_up(who, case_id, body))


@router.post(
    "/{case_id}/resolution",
    response_model=DisputePublic,
    responses=ACTION_ERRORS,
    summary="Record the dispute as resolved at its tier (it needs an agreement)",
)
def resolve(case_id: CaseId, body: ResolutionCreate, who: Who, rt: Rt) -> DisputePublic:
    return present(rt.app, rt.desk.resolve(who, case_id, body.summary))
