"""/meetings/{meeting_id}: a meeting's rounds, invitations, new time and cancellation. The
caller names the meeting only; the desk finds its dispute (the worklist indexes meetings)."""

from __future__ import annotations

from casework import Casework, Dispute
from casework_web import Who, error_responses
from fastapi import APIRouter, Request

from mediation.api.deps import ACTION_ERRORS, MeetingId, Meters, Rt
from mediation.api.presenters import meeting_public, present
from mediation.schemas import (
    InvitationCreate,
    MeetingCancel,
    MeetingPublic,
    MeetingReschedule,
    RoundCreate,
    RoundRecorded,
)

router = APIRouter(prefix="/meetings", tags=["meetings"], responses=error_responses(401, 503))


def changed(request: Request, app: Casework, dispute: Dispute, meeting_id: str) -> MeetingPublic:
    """The meeting as changed; its dispute named in the request's log line."""
    request.state.case_id = str(dispute.id)
    return meeting_public(present(app, dispute), meeting_id)


@router.post(
    "/{meeting_id}/rounds",
    status_code=201,
    response_model=RoundRecorded,
    responses=ACTION_ERRORS,
    summary="Record a round: who came (or was consulted), walk-ins with their reason, positions, "
    "proposals, tally, outcome",
)
def hold_round(
    meeting_id: MeetingId, body: RoundCreate, who: Who, rt: Rt, meters: Meters, request: Request
) -> RoundRecorded:
    dispute = rt.desk.hold_round(who, meeting_id, body)
    request.state.case_id = str(dispute.id)
    shown = present(rt.app, dispute)
    held = meeting_public(shown, meeting_id).rounds[-1]
    meters.rounds.labels(held.outcome).inc()
    return RoundRecorded(round=held, dispute=shown)


@router.post(
    "/{meeting_id}/invitations",
    status_code=201,
    response_model=MeetingPublic,
    responses=ACTION_ERRORS,
    summary="Invite more people to a meeting that awaits its round, with the reason; they are "
    "then among the invited at the round",
)
def invite(
    meeting_id: MeetingId,
    body: InvitationCreate,
    who: Who,
    rt: Rt,
    meters: Meters,
    request: Request,
) -> MeetingPublic:
    dispute = rt.desk.invite(who, meeting_id, body)
    meters.meeting_changes.labels("invited").inc()
    return changed(request, rt.app, dispute, meeting_id)


@router.post(
    "/{meeting_id}/reschedule",
    response_model=MeetingPublic,
    responses=ACTION_ERRORS,
    summary="Move the meeting's next round to a new time (and place), with the reason",
)
def reschedule(
    meeting_id: MeetingId,
    body: MeetingReschedule,
    who: Who,
    rt: Rt,
    meters: Meters,
    request: Request,
) -> MeetingPublic:
    dispute = rt.desk.reschedule(who, meeting_id, body)
    meters.meeting_changes.labels("rescheduled").inc()
    return changed(request, rt.app, dispute, meeting_id)


@router.post(
    "/{meeting_id}/cancel",
    response_model=MeetingPublic,
    responses=ACTION_ERRORS,
    summary="Call the meeting off, with the reason; rounds already held stand",
)
def cancel(
    meeting_id: MeetingId,
    body: MeetingCancel,
    who: Who,
    rt: Rt,
    meters: Meters,
    request: Request,
) -> MeetingPublic:
    dispute = rt.desk.cancel(who, meeting_id, body)
    meters.meeting_changes.labels("cancelled").inc()
    return changed(request, rt.app, dispute, meeting_id)
