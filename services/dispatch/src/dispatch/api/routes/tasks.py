"""/tasks: my work and decisions at my rung; accept, decline, start, finish, reassign, cancel."""

from __future__ import annotations

from casework import Role, Tier
from casework_web import Who, error_responses
from fastapi import APIRouter, Depends

from dispatch.api.access import load_work
from dispatch.api.deps import Rt, WorkId, acting, after_write, answered, names_the_work
from dispatch.api.presenters import work_public
from dispatch.application import NotFoundError
from dispatch.schemas import CancelIn, DeclineIn, FinishIn, ReassignIn, TaskList, WorkPublic

router = APIRouter(
    prefix="/tasks",
    tags=["tasks"],
    responses=error_responses(400, 401, 403, 404, 409, 503),
    dependencies=[Depends(names_the_work)],
)


@router.get(
    "", response_model=TaskList, summary="My tasks: the work I hold, and decisions at my rung"
)
def my_tasks(who: Who, rt: Rt) -> TaskList:
    items: list[WorkPublic] = []
    try:
        member = rt.app.member(who.actor.id)
    except NotFoundError:
        member = None
    if member is not None:
        held = member.holding
        for work in rt.app.open_tasks(member):
            items.append(work_public(work, held[str(work.id)].why))
    decisions: list[WorkPublic] = []
    rung = {Role.PROPERTY_MANAGER: Tier.COMPOUND, Role.COMMUNITY_OFFICER: Tier.COMMUNITY}
    tier = rung.get(who.actor.role)
    if tier is not None and who.place is not None:
        rt.board.catch_up()
        for leak in rt.board.leaks_at(tier, who.place):
            decisions.append(work_public(rt.app.casework.get_case(leak.id)))
    return TaskList(items=items, decisions=decisions)


@router.post("/{work_id}/accept", response_model=WorkPublic, summary="Accept work assigned to me")
def accept(work_id: WorkId, who: Who, rt: Rt) -> WorkPublic:
    acting(rt, who, work_id, "accept")
    return answered(rt, rt.app.accept(who.actor, work_id))


@router.post(
    "/{work_id}/decline",
    response_model=WorkPublic,
    summary="Decline work assigned to me, with a reason: it goes to the next suitable person",
)
def decline(work_id: WorkId, body: DeclineIn, who: Who, rt: Rt) -> WorkPublic:
    acting(rt, who, work_id, "decline")
    return answered(rt, rt.app.decline(who.actor, work_id, body.reason))


@router.post(
    "/{work_id}/start",
    response_model=WorkPublic,
    summary="Start the work (for a leak: I am on site)",
)
def start(work_id: WorkId, who: Who, rt: Rt) -> WorkPublic:
    acting(rt, who, work_id, "start")
    return answered(rt, rt.app.start(who.actor, work_id))


@router.post(
    "/{work_id}/finish",
    response_model=WorkPublic,
    summary="Finish the work with a summary (a repair is then the resident's to confirm; a "
    "leak must have its water stopped and cause recorded)",
)
def finish(work_id: WorkId, body: FinishIn, who: Who, rt: Rt) -> WorkPublic:
    acting(rt, who, work_id, "finish")
    return answered(rt, rt.app.finish(who.actor, work_id, body.summary))


@router.post(
    "/{work_id}/reassign",
    response_model=WorkPublic,
    summary="Take held work off its holder, with the reason, and give it to a named member or "
    "the next suitable one by the rule (property manager)",
)
def reassign(work_id: WorkId, body: ReassignIn, who: Who, rt: Rt) -> WorkPublic:
    acting(rt, who, work_id, "reassign")
    outcome = rt.app.reassign(who.actor, work_id, body.reason, body.to)
    after_write(rt)
    return work_public(load_work(rt, who, work_id), outcome.why)


@router.post(
    "/{work_id}/cancel",
    response_model=WorkPublic,
    summary="Cancel a service task ordered from the demand list (not a case)",
)
def cancel(work_id: WorkId, body: CancelIn, who: Who, rt: Rt) -> WorkPublic:
    acting(rt, who, work_id, "cancel")
    return answered(rt, rt.app.cancel_task(who.actor, work_id, body.reason))
