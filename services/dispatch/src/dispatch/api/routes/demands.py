"""/demands: the demand list; residents' standing needs, their recurrence, tasks ordered."""

from __future__ import annotations

from casework.domain.errors import NotPermittedError
from casework_web import Principal, Who, error_responses
from fastapi import APIRouter

from dispatch.api.access import OVERSEERS, check_changes, check_keeps, sees_place
from dispatch.api.deps import DemandId, Rt, after_write
from dispatch.api.presenters import audit_trail, demand_public, task_ordered
from dispatch.application import NotFoundError
from dispatch.domain.demand import Demand
from dispatch.runtime import Runtime
from dispatch.schemas import (
    DemandHistory,
    DemandIn,
    DemandPage,
    DemandPublic,
    OrderIn,
    PauseIn,
    RecurrenceChangeIn,
    RetireIn,
    TaskOrdered,
)

router = APIRouter(
    prefix="/demands", tags=["demand list"], responses=error_responses(400, 401, 403, 404, 409, 503)
)


@router.post(
    "",
    response_model=DemandPublic,
    status_code=201,
    summary="Write down a resident's standing need",
)
def record_demand(body: DemandIn, who: Who, rt: Rt) -> DemandPublic:
    check_keeps(who, [body.address], "record needs")
    demand = rt.app.record_demand(
        who.actor,
        resident_id=body.resident_id,
        address=body.address,
        need=body.need,
        description=body.description,
        how_often=body.how_often,
        recurrence=body.recurrence.model_dump(mode="json") if body.recurrence else None,
    )
    after_write(rt)
    return demand_public(demand)


@router.get("", response_model=DemandPage, summary="The demand list of my place")
def list_demands(who: Who, rt: Rt) -> DemandPage:
    if not (who.is_auditor or who.actor.role in OVERSEERS):
        raise NotPermittedError("the demand list is for the property office and leaders")
    rt.board.catch_up()
    found = [d for d in rt.board.demands.values() if sees_place(who, d.address.path)]
    return DemandPage(items=[demand_public(d) for d in found])


def _visible_demand(rt: Runtime, who: Principal, demand_id: str) -> Demand:
    demand = rt.app.demand(demand_id)
    if not sees_place(who, demand.address.path):
        raise NotFoundError("no such need among those you can see")
    return demand


@router.get("/{demand_id}", response_model=DemandPublic)
def get_demand(demand_id: DemandId, who: Who, rt: Rt) -> DemandPublic:
    return demand_public(_visible_demand(rt, who, demand_id))


@router.get(
    "/{demand_id}/history",
    response_model=DemandHistory,
    summary="Every fact of a need: recorded, recurrence set, paused, resumed, each occurrence "
    "raised (by the scheduler), retired; who, when, why; and whether it verifies",
)
def demand_history(demand_id: DemandId, who: Who, rt: Rt) -> DemandHistory:
    demand = _visible_demand(rt, who, demand_id)
    intact, events = audit_trail(rt, demand.id)
    return DemandHistory(demand_id=str(demand.id), intact=intact, events=events)


@router.post("/{demand_id}/retire", response_model=DemandPublic)
def retire_demand(demand_id: DemandId, body: RetireIn, who: Who, rt: Rt) -> DemandPublic:
    check_changes(who)
    _visible_demand(rt, who, demand_id)
    demand = rt.app.retire_demand(who.actor, demand_id, body.reason)
    after_write(rt)
    return demand_public(demand)


@router.put(
    "/{demand_id}/recurrence",
    response_model=DemandPublic,
    summary="Set how the need recurs (weekly on weekdays, or every N days, at a UTC+8 time): "
    "the scheduler raises each occurrence's task when it falls due",
)
def set_recurrence(demand_id: DemandId, body: RecurrenceChangeIn, who: Who, rt: Rt) -> DemandPublic:
    check_changes(who)
    _visible_demand(rt, who, demand_id)
    demand = rt.app.set_recurrence(
        who.actor, demand_id, body.recurrence.model_dump(mode="json"), body.reason
    )
    after_write(rt)
    return demand_public(demand)


@router.post(
    "/{demand_id}/pause",
    response_model=DemandPublic,
    summary="Pause a recurring need (in hospital, away): no occurrence is raised until resumed",
)
def pause_demand(demand_id: DemandId, body: PauseIn, who: Who, rt: Rt) -> DemandPublic:
    check_changes(who)
    _visible_demand(rt, who, demand_id)
    demand = rt.app.pause_demand(who.actor, demand_id, body.reason)
    after_write(rt)
    return demand_public(demand)


@router.post(
    "/{demand_id}/resume",
    response_model=DemandPublic,
    summary="Resume a paused need: occurrences after now are raised (none owed for the pause)",
)
def resume_demand(demand_id: DemandId, body: PauseIn, who: Who, rt: Rt) -> DemandPublic:
    check_changes(who)
    _visible_demand(rt, who, demand_id)
    demand = rt.app.resume_demand(who.actor, demand_id, body.reason)
    after_write(rt)
    return demand_public(demand)


@router.post(
    "/{demand_id}/tasks",
    response_model=TaskOrdered,
    status_code=201,
    summary="Order a task from the need (群众点单): a volunteer is sent at once, or it waits",
)
def order_task(demand_id: DemandId, body: OrderIn, who: Who, rt: Rt) -> TaskOrdered:
    check_changes(who)
    _visible_demand(rt, who, demand_id)
    task, outcome = rt.app.order_task(
        who.actor, demand_id, description=body.description, due_by=body.due_by
    )
    after_write(rt)
    return task_ordered(task, outcome)
