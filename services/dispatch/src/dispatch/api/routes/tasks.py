"""/tasks: my work and decisions at my rung; accept, decline, start, finish, reassign, cancel;
and for a repair or a leak, what the property office writes in its case file while working it:
an escalation by hand, a note, a link to another case."""

from __future__ import annotations

from casework import Role, Tier
from casework_web import Who, error_responses
from fastapi import APIRouter, Depends

from dispatch.api.access import load_work
from dispatch.api.deps import Rt, WorkId, acting, after_write, answered, names_the_work
from dispatch.api.presenters import work_public
from dispatch.application import NotFoundError
from dispatch.schemas import (
    CancelIn,
    DeclineIn,
    EscalationIn,
    FinishIn,
    LinkIn,
    NoteIn,
    ReassignIn,
    TaskList,
    WorkPublic,
)

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


@router.post(
    "/{work_id}/escalation",
    response_model=WorkPublic,
    summary="Escalate a repair or a leak one rung by hand, with why: the tier above owes it a "
    "response (a service task has no tiers; a dispute climbs through mediation)",
)
def escalate(work_id: WorkId, body: EscalationIn, who: Who, rt: Rt) -> WorkPublic:
    acting(rt, who, work_id, "escalate")
    return answered(rt, rt.app.escalate(who.actor, work_id, body.reason))


@router.post(
    "/{work_id}/notes",
    response_model=WorkPublic,
    summary="Write a note in a repair's or a leak's case file (parts used, who was told what)",
)
def add_note(work_id: WorkId, body: NoteIn, who: Who, rt: Rt) -> WorkPublic:
    acting(rt, who, work_id, "note")
    return answered(rt, rt.app.add_note(who.actor, work_id, body.text))


@router.post(
    "/{work_id}/links",
    response_model=WorkPublic,
    summary="Link a repair or a leak to another case within your sight: both case files record "
    "it, in one transaction",
)
def link(work_id: WorkId, body: LinkIn, who: Who, rt: Rt) -> WorkPublic:
    acting(rt, who, work_id, "link")
    load_work(rt, who, str(body.case_id))  # the other case too: 404 outside your sight
    return answered(rt, rt.app.link(who.actor, work_id, body.case_id, body.relation))
