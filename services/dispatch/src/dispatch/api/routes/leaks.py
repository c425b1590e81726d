"""/leaks: the leak protocol on site (owner contact, arrival, water stopped, cause, damage)."""

from __future__ import annotations

from casework.domain import LeakEmergency
from casework_web import Principal, Who, error_responses
from fastapi import APIRouter, Depends

from dispatch.api.deps import Rt, WorkId, acting, after_write, answered, names_the_work
from dispatch.application import NotFoundError
from dispatch.runtime import Runtime
from dispatch.schemas import (
    CauseIn,
    ContactIn,
    DamageDisputeIn,
    DisputeOpened,
    WaterStoppedIn,
    WorkPublic,
)

router = APIRouter(
    prefix="/leaks",
    tags=["leaks"],
    responses=error_responses(400, 401, 403, 404, 409, 503),
    dependencies=[Depends(names_the_work)],
)


def _leak(rt: Runtime, who: Principal, case_id: str, action: str) -> None:
    if not isinstance(acting(rt, who, case_id, action), LeakEmergency):
        raise NotFoundError(f"case {case_id} is not a leak emergency")


@router.post(
    "/{case_id}/contact-attempts",
    response_model=WorkPublic,
    summary="Record a call (or message, or knock) to the owner of the source flat, with outcome",
)
def contact_attempt(case_id: WorkId, body: ContactIn, who: Who, rt: Rt) -> WorkPublic:
    _leak(rt, who, case_id, "contact_attempt")
    case = rt.app.contact_owner(who.actor, case_id, body.channel, body.outcome, body.note)
    return answered(rt, case)


@router.post("/{case_id}/arrival", response_model=WorkPublic, summary="Someone is on site")
def arrival(case_id: WorkId, who: Who, rt: Rt) -> WorkPublic:
    _leak(rt, who, case_id, "arrival")
    return answered(rt, rt.app.arrive(who.actor, case_id))


@router.post(
    "/{case_id}/water-stopped",
    response_model=WorkPublic,
    summary="The water is stopped, and how (the riser valve needs the compound; entry with "
    "witnesses the community)",
)
def water_stopped(case_id: WorkId, body: WaterStoppedIn, who: Who, rt: Rt) -> WorkPublic:
    _leak(rt, who, case_id, "water_stopped")
    return answered(rt, rt.app.water_stopped(who.actor, case_id, body.method, body.note))


@router.post(
    "/{case_id}/cause",
    response_model=WorkPublic,
    summary="Record the cause and the damage (flats damaged)",
)
def cause(case_id: WorkId, body: CauseIn, who: Who, rt: Rt) -> WorkPublic:
    _leak(rt, who, case_id, "cause")
    case = rt.app.cause_found(who.actor, case_id, body.cause, body.damage, body.damaged_units)
    return answered(rt, case)


@router.post(
    "/{case_id}/damage-dispute",
    response_model=DisputeOpened,
    status_code=201,
    summary="Open a dispute for mediation about the damage to another flat, linked both ways",
)
def damage_dispute(case_id: WorkId, body: DamageDisputeIn, who: Who, rt: Rt) -> DisputeOpened:
    _leak(rt, who, case_id, "damage_dispute")
    dispute_id = rt.app.open_damage_dispute(
        who.actor, case_id, address=body.address, description=body.description, parties=body.parties
    )
    after_write(rt)
    return DisputeOpened(dispute_id=str(dispute_id), leak_id=case_id)
