"""/roster: the supply list; members join, change skills, places, hours and load, and leave."""

from __future__ import annotations

from typing import Annotated, Any

from casework import Role
from casework_web import Principal, Who, error_responses
from fastapi import APIRouter, Query

from dispatch.api.access import check_changes, check_keeps, member_in_sight, visible_member
from dispatch.api.deps import ActorId, Rt, after_write
from dispatch.api.presenters import audit_trail, member_left, member_public
from dispatch.runtime import Runtime
from dispatch.schemas import (
    AvailabilityIn,
    LeaveIn,
    MaxLoadIn,
    MemberHistory,
    MemberIn,
    MemberLeft,
    MemberPage,
    MemberPublic,
    PlacesIn,
    SkillsIn,
)

router = APIRouter(
    prefix="/roster", tags=["roster"], responses=error_responses(400, 401, 403, 404, 409, 503)
)


@router.get("/members", response_model=MemberPage, summary="The supply list: who covers my place")
def list_members(
    who: Who,
    rt: Rt,
    skill: Annotated[str | None, Query(max_length=40)] = None,
    available_now: bool | None = None,
) -> MemberPage:
    now = rt.app.clock()
    items = []
    for member in rt.app.members():
        if not member_in_sight(who, member):
            continue
        if skill is not None and skill not in member.skills:
            continue
        public = member_public(member, now)
        if available_now is not None and public.available_now != available_now:
            continue
        items.append(public)
    return MemberPage(items=items)


@router.post(
    "/members",
    response_model=MemberPublic,
    status_code=201,
    summary="Put someone on the roster (again, if they left)",
)
def join(body: MemberIn, who: Who, rt: Rt) -> MemberPublic:
    places = body.places or ([who.place] if who.place else [])
    check_keeps(who, places, "add people")
    member = rt.app.join(
        who.actor,
        _actor(body.actor_id, body.role),
        name=body.name or body.actor_id,
        skills=body.skills,
        places=places,
        availability=body.availability,
        timezone=body.timezone,
        max_load=body.max_load,
        reason=body.reason,
    )
    return member_public(member, rt.app.clock())


def _actor(actor_id: str, role: str) -> Any:
    from casework import Actor

    return Actor(actor_id, Role(role))


@router.get("/members/{actor_id}", response_model=MemberPublic)
def get_member(actor_id: ActorId, who: Who, rt: Rt) -> MemberPublic:
    return member_public(visible_member(rt, who, actor_id), rt.app.clock())


@router.get(
    "/members/{actor_id}/history",
    response_model=MemberHistory,
    summary="Every change to a member's record: who, when, why; and whether it verifies",
)
def member_history(actor_id: ActorId, who: Who, rt: Rt) -> MemberHistory:
    member = visible_member(rt, who, actor_id)
    intact, events = audit_trail(rt, member.id)
    return MemberHistory(actor_id=actor_id, intact=intact, events=events)


def _change(rt: Runtime, who: Principal, actor_id: str) -> None:
    check_changes(who)
    member = visible_member(rt, who, actor_id)
    if member.actor.id != who.actor.id:
        check_keeps(who, list(member.places), "change the roster")


@router.put("/members/{actor_id}/skills", response_model=MemberPublic)
def change_skills(actor_id: ActorId, body: SkillsIn, who: Who, rt: Rt) -> MemberPublic:
    _change(rt, who, actor_id)
    member = rt.app.change_skills(who.actor, actor_id, body.skills, body.reason)
    return member_public(member, rt.app.clock())


@router.put("/members/{actor_id}/places", response_model=MemberPublic)
def change_places(actor_id: ActorId, body: PlacesIn, who: Who, rt: Rt) -> MemberPublic:
    _change(rt, who, actor_id)
    check_keeps(who, body.places, "assign places")
    member = rt.app.change_places(who.actor, actor_id, body.places, body.reason)
    return member_public(member, rt.app.clock())


@router.put(
    "/members/{actor_id}/availability",
    response_model=MemberPublic,
    summary="Set when a member is available (a member may set their own)",
)
def set_availability(actor_id: ActorId, body: AvailabilityIn, who: Who, rt: Rt) -> MemberPublic:
    _change(rt, who, actor_id)
    member = rt.app.set_availability(
        who.actor, actor_id, body.availability, body.timezone, body.reason
    )
    return member_public(member, rt.app.clock())


@router.put("/members/{actor_id}/max-load", response_model=MemberPublic)
def set_max_load(actor_id: ActorId, body: MaxLoadIn, who: Who, rt: Rt) -> MemberPublic:
    _change(rt, who, actor_id)
    member = rt.app.set_max_load(who.actor, actor_id, body.max_load, body.reason)
    return member_public(member, rt.app.clock())


@router.post(
    "/members/{actor_id}/leave",
    response_model=MemberLeft,
    summary="Take someone off the roster: refused while they hold work, unless hand_on (their "
    "work goes to the next suitable people by the rule, or the queue)",
)
def leave(actor_id: ActorId, body: LeaveIn, who: Who, rt: Rt) -> MemberLeft:
    _change(rt, who, actor_id)
    member, outcomes = rt.app.leave(who.actor, actor_id, body.reason, hand_on=body.hand_on)
    if outcomes:
        after_write(rt)
    return member_left(member, rt.app.clock(), outcomes)
