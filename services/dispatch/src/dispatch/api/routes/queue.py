"""/queue: work waiting for someone suitable to be free, and assigning it by hand."""

from __future__ import annotations

from casework import Role
from casework.domain.errors import NotPermittedError
from casework_web import Who, error_responses
from fastapi import APIRouter, Depends

from dispatch.api.access import OVERSEERS, load_work
from dispatch.api.deps import Rt, WorkId, acting, answered, names_the_work
from dispatch.api.presenters import waiting_public
from dispatch.schemas import HandAssignIn, QueuePage, WorkPublic

router = APIRouter(
    prefix="/queue",
    tags=["queue"],
    responses=error_responses(400, 401, 403, 404, 409, 503),
    dependencies=[Depends(names_the_work)],
)


@router.get("", response_model=QueuePage, summary="Work waiting for someone suitable to be free")
def waiting(who: Who, rt: Rt) -> QueuePage:
    if not (who.is_auditor or who.actor.role in OVERSEERS):
        raise NotPermittedError(
            f"the queue is for the property office, not a {who.actor.role.value}"
        )
    rt.board.catch_up()
    place = None if who.is_auditor else who.place
    if place is None and not who.is_auditor:
        return QueuePage(items=[])
    rows = rt.board.waiting(place)
    return QueuePage(items=[waiting_public(w) for w in rows])


@router.post(
    "/{work_id}/assignment",
    response_model=WorkPublic,
    summary="Send someone by hand (off duty but willing, or over capacity), with why",
)
def assign_by_hand(work_id: WorkId, body: HandAssignIn, who: Who, rt: Rt) -> WorkPublic:
    acting(rt, who, work_id, "assign_by_hand")
    if who.actor.role not in (Role.PROPERTY_MANAGER, Role.PROPERTY_STAFF):
        raise NotPermittedError("the property office assigns by hand")
    rt.app.assign_by_hand(who.actor, work_id, body.member, body.why)
    return answered(rt, load_work(rt, who, work_id))
