"""The HTTP API for the people doing the work, and the roster for the property manager.

Endpoints are plain `def`: eventsourcing is synchronous, so FastAPI runs them in its threadpool.
Auth, errors, request ids, metrics and health come from `casework_web`, like the intake's.

Who sees what: anyone sees the work they hold; staff, managers, party secretaries and community
officers see the work and the roster of the place they answer for; auditors read everything and
change nothing. Work outside your sight answers 404 exactly like an unknown id.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from casework import Case, Clock, LeakEmergency, Role, Tier, system_clock
from casework.audit import history_entry, verify_events
from casework.domain.errors import NotPermittedError, ValidationError
from casework_web import (
    Metrics,
    Principal,
    TokenStore,
    Who,
    error_responses,
    install,
    nats_status,
    ops_router,
    store_status,
)
from casework_web.fields import MOMENT_PATTERN
from casework_web.unapplied import in_memory, unapplied, watch_unapplied
from fastapi import APIRouter, FastAPI, Path, Query, Request
from prometheus_client import Counter, Gauge

from dispatch.application import NotFoundError
from dispatch.board import Board
from dispatch.config import Settings
from dispatch.domain.availability import available_at
from dispatch.domain.demand import Demand, ServiceTask
from dispatch.domain.member import Member
from dispatch.runtime import Runtime
from dispatch.schemas import (
    AuditEntry,
    AvailabilityIn,
    CancelIn,
    CauseIn,
    ContactIn,
    DamageDisputeIn,
    DeclineIn,
    DemandHistory,
    DemandIn,
    DemandPage,
    DemandPublic,
    DispatchReadiness,
    DisputeOpened,
    FinishIn,
    HandAssignIn,
    HandedOn,
    LeaveIn,
    MaxLoadIn,
    MemberHistory,
    MemberIn,
    MemberLeft,
    MemberPage,
    MemberPublic,
    OrderIn,
    PauseIn,
    Person,
    PlacesIn,
    QueuePage,
    ReassignIn,
    RecurrenceChangeIn,
    RecurrencePublic,
    RetireIn,
    ServiceEntryPublic,
    ServiceList,
    SkillsIn,
    TaskList,
    TaskOrdered,
    WaitingPublic,
    WaterStoppedIn,
    WorkPublic,
)

log = logging.getLogger("dispatch")

UNSEEN = "no such case or task among those you can see"
ISO_MOMENT = MOMENT_PATTERN
WorkId = Annotated[str, Path(max_length=100, description="a case id or a service task id")]
ActorId = Annotated[str, Path(max_length=128, description="the member's actor id")]
DemandId = Annotated[str, Path(max_length=100, description="a resident's need id")]
OVERSEERS = frozenset(
    {
        Role.PROPERTY_STAFF,
        Role.PROPERTY_MANAGER,
        Role.PARTY_SECRETARY,
        Role.BUILDING_LEADER,
        Role.COMMUNITY_OFFICER,
        Role.OWNERS_COMMITTEE,
    }
)
"""Roles that see the work, queue and roster of the place they answer for."""


class DispatchMetrics(Metrics):
    def __init__(self) -> None:
        super().__init__("dispatch")
        self.actions = Counter(
            "dispatch_actions_total",
            "Actions on work through the API, by action",
            ["action"],
            registry=self.registry,
        )
        self.unapplied = watch_unapplied(self, {})
        self.queue_length = Gauge(
            "dispatch_queue_length",
            "Work waiting for someone suitable to be free (as this replica's board sees it)",
            registry=self.registry,
        )


def rt_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


# ------------------------------------------------------------------ views


def work_public(work: Any, why: str | None = None) -> WorkPublic:
    if isinstance(work, ServiceTask):
        return WorkPublic(
            id=str(work.id),
            kind="task",
            status=work.status.value,
            address=work.address.path,
            description=work.description,
            need=work.need,
            due_by=work.due_by,
            assignee=Person(id=work.assignee.id, role=work.assignee.role.value)
            if work.assignee
            else None,
            accepted_at=work.accepted_at,
            queued_at=work.queued_at,
            why=why,
            version=work.version,
        )
    assert isinstance(work, Case)
    leak = work if isinstance(work, LeakEmergency) else None
    return WorkPublic(
        id=str(work.id),
        kind=work.KIND,  # type: ignore[arg-type]
        status=work.status.value,
        address=work.address.path,
        description=work.description,
        need=getattr(work, "category", None) or ("plumbing" if leak else None),
        priority=work.priority.value,
        tier=work.tier.value,
        respond_by=work.respond_by,
        settle_by=work.settle_by,
        assignee=Person(id=work.assignee.id, role=work.assignee.role.value)
        if work.assignee
        else None,
        accepted_at=work.accepted_at,
        queued_at=work.queued_at,
        why=why,
        source_unit=leak.source_unit if leak else None,
        owner_reached=(leak.owner_reached_at is not None) if leak else None,
        water_stopped=(leak.water_stopped_at is not None) if leak else None,
        version=work.version,
    )


def member_public(member: Member, now: datetime) -> MemberPublic:
    p = member.profile()
    return MemberPublic(
        **{k: v for k, v in p.items() if k != "last_taken_at"},
        last_taken_at=member.last_taken_at,
        available_now=member.active and available_at(member.availability, member.timezone, now),
    )


def demand_public(demand: Demand) -> DemandPublic:
    return DemandPublic(
        id=str(demand.id),
        resident_id=demand.resident_id,
        address=demand.address.path,
        need=demand.need,
        description=demand.description,
        how_often=demand.how_often,
        active=demand.active,
        tasks_ordered=demand.tasks_ordered,
        recorded_at=demand.recorded_at,
        recurrence=(
            RecurrencePublic(**demand.recurrence.to_dict(), words=demand.recurrence.describe())
            if demand.recurrence is not None
            else None
        ),
        paused=demand.paused,
        next_occurrence=demand.next_occurrence(),
        last_occurrence=demand.last_occurrence,
    )


# ------------------------------------------------------------------ scopes


def sees_place(who: Principal, path: str) -> bool:
    return who.is_auditor or (who.actor.role in OVERSEERS and who.covers(path))


def check_sees_work(who: Principal, work: Any) -> None:
    """404 for work outside the caller's sight, exactly like an unknown id."""
    assignee = getattr(work, "assignee", None)
    if assignee is not None and assignee.id == who.actor.id:
        return
    if sees_place(who, work.address.path):
        return
    raise NotFoundError(UNSEEN)


def check_changes(who: Principal) -> None:
    if who.is_auditor:
        raise NotPermittedError("auditors read everything and change nothing")


def check_keeps(who: Principal, places: list[str], what: str) -> None:
    """Keepers act within the place they answer for: every place named must lie inside it."""
    check_changes(who)
    outside = [p for p in places if not who.covers(p.strip().strip("/"))]
    if outside:
        raise NotPermittedError(
            f"a {who.actor.role.value} of {who.place} may not {what} for {', '.join(outside)}"
        )


def member_in_sight(who: Principal, member: Member) -> bool:
    if who.is_auditor or member.actor.id == who.actor.id:
        return True
    return who.actor.role in OVERSEERS and any(
        who.covers(p) or (who.place or "").startswith(p + "/") for p in member.places
    )


def visible_member(rt: Runtime, who: Principal, actor_id: str) -> Member:
    member = rt.app.member(actor_id)
    if not member_in_sight(who, member):
        raise NotFoundError(f"{actor_id} is not on the roster (of the places you can see)")
    return member


def load_work(rt: Runtime, who: Principal, work_id: str) -> Any:
    u = rt.app.read()
    kind = rt.app.kind_of(work_id)
    work = u.task(work_id) if kind == "task" else u.case(work_id)
    check_sees_work(who, work)
    return work


# ------------------------------------------------------------------ routes

tasks = APIRouter(
    prefix="/tasks", tags=["tasks"], responses=error_responses(400, 401, 403, 404, 409, 503)
)


@tasks.get(
    "", response_model=TaskList, summary="My tasks: the work I hold, and decisions at my rung"
)
def my_tasks(who: Who, request: Request) -> TaskList:
    rt = rt_of(request)
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
            decisions.append(work_public(rt.app.get_case(leak.id)))
    return TaskList(items=items, decisions=decisions)


def _act(request: Request, who: Principal, work_id: str, action: str) -> Runtime:
    rt = rt_of(request)
    check_changes(who)
    request.state.case_id = work_id
    load_work(rt, who, work_id)
    rt_metrics(request).actions.labels(action).inc()
    return rt


def rt_metrics(request: Request) -> DispatchMetrics:
    metrics: DispatchMetrics = request.app.state.casework_web.metrics
    return metrics


def _after(rt: Runtime, work: Any) -> WorkPublic:
    rt.board.catch_up()
    return work_public(work)


@tasks.post("/{work_id}/accept", response_model=WorkPublic, summary="Accept work assigned to me")
def accept(work_id: WorkId, who: Who, request: Request) -> WorkPublic:
    rt = _act(request, who, work_id, "accept")
    return _after(rt, rt.app.accept(who.actor, work_id))


@tasks.post(
    "/{work_id}/decline",
    response_model=WorkPublic,
    summary="Decline work assigned to me, with a reason: it goes to the next suitable person",
)
def decline(work_id: WorkId, body: DeclineIn, who: Who, request: Request) -> WorkPublic:
    rt = _act(request, who, work_id, "decline")
    return _after(rt, rt.app.decline(who.actor, work_id, body.reason))


@tasks.post(
    "/{work_id}/start",
    response_model=WorkPublic,
    summary="Start the work (for a leak: I am on site)",
)
def start(work_id: WorkId, who: Who, request: Request) -> WorkPublic:
    rt = _act(request, who, work_id, "start")
    return _after(rt, rt.app.start(who.actor, work_id))


@tasks.post(
    "/{work_id}/finish",
    response_model=WorkPublic,
    summary="Finish the work with a summary (a repair is then the resident's to confirm; a "
    "leak must have its water stopped and cause recorded)",
)
def finish(work_id: WorkId, body: FinishIn, who: Who, request: Request) -> WorkPublic:
    rt = _act(request, who, work_id, "finish")
    return _after(rt, rt.app.finish(who.actor, work_id, body.summary))


@tasks.post(
    "/{work_id}/reassign",
    response_model=WorkPublic,
    summary="Take held work off its holder, with the reason, and give it to a named member or "
    "the next suitable one by the rule (property manager)",
)
def reassign(work_id: WorkId, body: ReassignIn, who: Who, request: Request) -> WorkPublic:
    rt = _act(request, who, work_id, "reassign")
    outcome = rt.app.reassign(who.actor, work_id, body.reason, body.to)
    rt.board.catch_up()
    return work_public(load_work(rt, who, work_id), outcome.why)


@tasks.post(
    "/{work_id}/cancel",
    response_model=WorkPublic,
    summary="Cancel a service task ordered from the demand list (not a case)",
)
def cancel(work_id: WorkId, body: CancelIn, who: Who, request: Request) -> WorkPublic:
    rt = _act(request, who, work_id, "cancel")
    return _after(rt, rt.app.cancel_task(who.actor, work_id, body.reason))


leaks = APIRouter(
    prefix="/leaks", tags=["leaks"], responses=error_responses(400, 401, 403, 404, 409, 503)
)


def _leak(request: Request, who: Principal, case_id: str, action: str) -> Runtime:
    rt = _act(request, who, case_id, action)
    if rt.app.kind_of(case_id) != "leak":
        raise NotFoundError(f"case {case_id} is not a leak emergency")
    return rt


@leaks.post(
    "/{case_id}/contact-attempts",
    response_model=WorkPublic,
    summary="Record a call (or message, or knock) to the owner of the source flat, with outcome",
)
def contact_attempt(case_id: WorkId, body: ContactIn, who: Who, request: Request) -> WorkPublic:
    rt = _leak(request, who, case_id, "contact_attempt")
    case = rt.app.contact_owner(who.actor, case_id, body.channel, body.outcome, body.note)
    return _after(rt, case)


@leaks.post("/{case_id}/arrival", response_model=WorkPublic, summary="Someone is on site")
def arrival(case_id: WorkId, who: Who, request: Request) -> WorkPublic:
    rt = _leak(request, who, case_id, "arrival")
    return _after(rt, rt.app.arrive(who.actor, case_id))


@leaks.post(
    "/{case_id}/water-stopped",
    response_model=WorkPublic,
    summary="The water is stopped, and how (the riser valve needs the compound; entry with "
    "witnesses the community)",
)
def water_stopped(case_id: WorkId, body: WaterStoppedIn, who: Who, request: Request) -> WorkPublic:
    rt = _leak(request, who, case_id, "water_stopped")
    return _after(rt, rt.app.water_stopped(who.actor, case_id, body.method, body.note))


@leaks.post(
    "/{case_id}/cause",
    response_model=WorkPublic,
    summary="Record the cause and the damage (flats damaged)",
)
def cause(case_id: WorkId, body: CauseIn, who: Who, request: Request) -> WorkPublic:
    rt = _leak(request, who, case_id, "cause")
    case = rt.app.cause_found(who.actor, case_id, body.cause, body.damage, body.damaged_units)
    return _after(rt, case)


@leaks.post(
    "/{case_id}/damage-dispute",
    response_model=DisputeOpened,
    status_code=201,
    summary="Open a dispute for mediation about the damage to another flat, linked both ways",
)
def damage_dispute(
    case_id: WorkId, body: DamageDisputeIn, who: Who, request: Request
) -> DisputeOpened:
    rt = _leak(request, who, case_id, "damage_dispute")
    dispute_id = rt.app.open_damage_dispute(
        who.actor, case_id, address=body.address, description=body.description, parties=body.parties
    )
    rt.board.catch_up()
    return DisputeOpened(dispute_id=str(dispute_id), leak_id=case_id)


queue = APIRouter(
    prefix="/queue", tags=["queue"], responses=error_responses(400, 401, 403, 404, 409, 503)
)


@queue.get("", response_model=QueuePage, summary="Work waiting for someone suitable to be free")
def waiting(who: Who, request: Request) -> QueuePage:
    rt = rt_of(request)
    if not (who.is_auditor or who.actor.role in OVERSEERS):
        raise NotPermittedError(
            f"the queue is for the property office, not a {who.actor.role.value}"
        )
    rt.board.catch_up()
    place = None if who.is_auditor else who.place
    if place is None and not who.is_auditor:
        return QueuePage(items=[])
    rows = rt.board.waiting(place)
    return QueuePage(items=[WaitingPublic(**vars(w)) for w in rows])


@queue.post(
    "/{work_id}/assignment",
    response_model=WorkPublic,
    summary="Send someone by hand (off duty but willing, or over capacity), with why",
)
def assign_by_hand(work_id: WorkId, body: HandAssignIn, who: Who, request: Request) -> WorkPublic:
    rt = _act(request, who, work_id, "assign_by_hand")
    if who.actor.role not in (Role.PROPERTY_MANAGER, Role.PROPERTY_STAFF):
        raise NotPermittedError("the property office assigns by hand")
    rt.app.assign_by_hand(who.actor, work_id, body.member, body.why)
    return _after(rt, load_work(rt, who, work_id))


roster = APIRouter(
    prefix="/roster", tags=["roster"], responses=error_responses(400, 401, 403, 404, 409, 503)
)


@roster.get("/members", response_model=MemberPage, summary="The supply list: who covers my place")
def list_members(
    who: Who,
    request: Request,
    skill: Annotated[str | None, Query(max_length=40)] = None,
    available_now: bool | None = None,
) -> MemberPage:
    rt = rt_of(request)
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


@roster.post(
    "/members",
    response_model=MemberPublic,
    status_code=201,
    summary="Put someone on the roster (again, if they left)",
)
def join(body: MemberIn, who: Who, request: Request) -> MemberPublic:
    rt = rt_of(request)
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


@roster.get("/members/{actor_id}", response_model=MemberPublic)
def get_member(actor_id: ActorId, who: Who, request: Request) -> MemberPublic:
    rt = rt_of(request)
    return member_public(visible_member(rt, who, actor_id), rt.app.clock())


@roster.get(
    "/members/{actor_id}/history",
    response_model=MemberHistory,
    summary="Every change to a member's record: who, when, why; and whether it verifies",
)
def member_history(actor_id: ActorId, who: Who, request: Request) -> MemberHistory:
    rt = rt_of(request)
    member = visible_member(rt, who, actor_id)
    intact, events = audit_trail(rt, member.id)
    return MemberHistory(actor_id=actor_id, intact=intact, events=events)


def audit_trail(rt: Runtime, aggregate_id: UUID) -> tuple[bool, list[AuditEntry]]:
    """A dispatch aggregate's every fact (who, when, why) and whether its hash chain verifies."""
    stored = list(rt.app.recorder.select_events(aggregate_id))
    entries = [history_entry(e) for e in rt.app.events.get(aggregate_id)]
    return verify_events(aggregate_id, stored, rt.app.mapper).ok, [
        AuditEntry(
            version=e.version,
            event=e.event,
            at=e.at,
            actor_id=e.actor_id,
            actor_role=e.actor_role,
            reason=e.reason,
            details=e.details,
            hash=e.hash,
        )
        for e in entries
    ]


def _change(request: Request, who: Principal, actor_id: str) -> Runtime:
    rt = rt_of(request)
    check_changes(who)
    member = visible_member(rt, who, actor_id)
    if member.actor.id != who.actor.id:
        check_keeps(who, list(member.places), "change the roster")
    return rt


@roster.put("/members/{actor_id}/skills", response_model=MemberPublic)
def change_skills(actor_id: ActorId, body: SkillsIn, who: Who, request: Request) -> MemberPublic:
    rt = _change(request, who, actor_id)
    member = rt.app.change_skills(who.actor, actor_id, body.skills, body.reason)
    return member_public(member, rt.app.clock())


@roster.put("/members/{actor_id}/places", response_model=MemberPublic)
def change_places(actor_id: ActorId, body: PlacesIn, who: Who, request: Request) -> MemberPublic:
    rt = _change(request, who, actor_id)
    check_keeps(who, body.places, "assign places")
    member = rt.app.change_places(who.actor, actor_id, body.places, body.reason)
    return member_public(member, rt.app.clock())


@roster.put(
    "/members/{actor_id}/availability",
    response_model=MemberPublic,
    summary="Set when a member is available (a member may set their own)",
)
def set_availability(
    actor_id: ActorId, body: AvailabilityIn, who: Who, request: Request
) -> MemberPublic:
    rt = _change(request, who, actor_id)
    member = rt.app.set_availability(
        who.actor, actor_id, body.availability, body.timezone, body.reason
    )
    return member_public(member, rt.app.clock())


@roster.put("/members/{actor_id}/max-load", response_model=MemberPublic)
def set_max_load(actor_id: ActorId, body: MaxLoadIn, who: Who, request: Request) -> MemberPublic:
    rt = _change(request, who, actor_id)
    member = rt.app.set_max_load(who.actor, actor_id, body.max_load, body.reason)
    return member_public(member, rt.app.clock())


@roster.post(
    "/members/{actor_id}/leave",
    response_model=MemberLeft,
    summary="Take someone off the roster: refused while they hold work, unless hand_on (their "
    "work goes to the next suitable people by the rule, or the queue)",
)
def leave(actor_id: ActorId, body: LeaveIn, who: Who, request: Request) -> MemberLeft:
    rt = _change(request, who, actor_id)
    member, outcomes = rt.app.leave(who.actor, actor_id, body.reason, hand_on=body.hand_on)
    if outcomes:
        rt.board.catch_up()
    public = member_public(member, rt.app.clock())
    handed_on = [
        HandedOn(work_id=o.work_id, assigned_to=o.assigned_to, why=o.why) for o in outcomes
    ]
    return MemberLeft(**public.model_dump(), handed_on=handed_on)


demands = APIRouter(
    prefix="/demands", tags=["demand list"], responses=error_responses(400, 401, 403, 404, 409, 503)
)


@demands.post(
    "",
    response_model=DemandPublic,
    status_code=201,
    summary="Write down a resident's standing need",
)
def record_demand(body: DemandIn, who: Who, request: Request) -> DemandPublic:
    rt = rt_of(request)
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
    rt.board.catch_up()
    return demand_public(demand)


@demands.get("", response_model=DemandPage, summary="The demand list of my place")
def list_demands(who: Who, request: Request) -> DemandPage:
    rt = rt_of(request)
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


@demands.get("/{demand_id}", response_model=DemandPublic)
def get_demand(demand_id: DemandId, who: Who, request: Request) -> DemandPublic:
    return demand_public(_visible_demand(rt_of(request), who, demand_id))


@demands.get(
    "/{demand_id}/history",
    response_model=DemandHistory,
    summary="Every fact of a need: recorded, recurrence set, paused, resumed, each occurrence "
    "raised (by the scheduler), retired; who, when, why; and whether it verifies",
)
def demand_history(demand_id: DemandId, who: Who, request: Request) -> DemandHistory:
    rt = rt_of(request)
    demand = _visible_demand(rt, who, demand_id)
    intact, events = audit_trail(rt, demand.id)
    return DemandHistory(demand_id=str(demand.id), intact=intact, events=events)


@demands.post("/{demand_id}/retire", response_model=DemandPublic)
def retire_demand(demand_id: DemandId, body: RetireIn, who: Who, request: Request) -> DemandPublic:
    rt = rt_of(request)
    check_changes(who)
    _visible_demand(rt, who, demand_id)
    demand = rt.app.retire_demand(who.actor, demand_id, body.reason)
    rt.board.catch_up()
    return demand_public(demand)


@demands.put(
    "/{demand_id}/recurrence",
    response_model=DemandPublic,
    summary="Set how the need recurs (weekly on weekdays, or every N days, at a UTC+8 time): "
    "the scheduler raises each occurrence's task when it falls due",
)
def set_recurrence(
    demand_id: DemandId, body: RecurrenceChangeIn, who: Who, request: Request
) -> DemandPublic:
    rt = rt_of(request)
    check_changes(who)
    _visible_demand(rt, who, demand_id)
    demand = rt.app.set_recurrence(
        who.actor, demand_id, body.recurrence.model_dump(mode="json"), body.reason
    )
    rt.board.catch_up()
    return demand_public(demand)


@demands.post(
    "/{demand_id}/pause",
    response_model=DemandPublic,
    summary="Pause a recurring need (in hospital, away): no occurrence is raised until resumed",
)
def pause_demand(demand_id: DemandId, body: PauseIn, who: Who, request: Request) -> DemandPublic:
    rt = rt_of(request)
    check_changes(who)
    _visible_demand(rt, who, demand_id)
    demand = rt.app.pause_demand(who.actor, demand_id, body.reason)
    rt.board.catch_up()
    return demand_public(demand)


@demands.post(
    "/{demand_id}/resume",
    response_model=DemandPublic,
    summary="Resume a paused need: occurrences after now are raised (none owed for the pause)",
)
def resume_demand(demand_id: DemandId, body: PauseIn, who: Who, request: Request) -> DemandPublic:
    rt = rt_of(request)
    check_changes(who)
    _visible_demand(rt, who, demand_id)
    demand = rt.app.resume_demand(who.actor, demand_id, body.reason)
    rt.board.catch_up()
    return demand_public(demand)


@demands.post(
    "/{demand_id}/tasks",
    response_model=TaskOrdered,
    status_code=201,
    summary="Order a task from the need (群众点单): a volunteer is sent at once, or it waits",
)
def order_task(demand_id: DemandId, body: OrderIn, who: Who, request: Request) -> TaskOrdered:
    rt = rt_of(request)
    check_changes(who)
    _visible_demand(rt, who, demand_id)
    task, outcome = rt.app.order_task(
        who.actor, demand_id, description=body.description, due_by=body.due_by
    )
    rt.board.catch_up()
    return TaskOrdered(task=work_public(task), assigned_to=outcome.assigned_to, why=outcome.why)


services = APIRouter(tags=["service list"], responses=error_responses(400, 401, 403, 503))


@services.get(
    "/service-list",
    response_model=ServiceList,
    summary="The volunteer service list (志愿服务清单): what was done, where, for whom",
)
def service_list(
    who: Who,
    request: Request,
    member: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[
        str | None,
        Query(
            pattern=ISO_MOMENT,
            description="entries from this moment on, with its zone: 2026-11-24T09:30:00+08:00",
        ),
    ] = None,
) -> ServiceList:
    rt = rt_of(request)
    start = moment(since, "since") if since is not None else None
    if not (who.is_auditor or who.actor.role in OVERSEERS or member == who.actor.id):
        raise NotPermittedError(
            "the service list is for the property office and leaders; "
            "members see their own with ?member=<your id>"
        )
    rt.board.catch_up()
    place = None if who.is_auditor or member == who.actor.id else who.place
    rows = rt.board.services(place=place, member=member, since=start)
    return ServiceList(
        items=[ServiceEntryPublic(**{**vars(e), "for_whom": list(e.for_whom)}) for e in rows]
    )


def moment(text: str, what: str) -> datetime:
    """A query's moment: ISO 8601 with its zone (numbers like 0.5 are not moments)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{what}: {text!r} is not a moment like 2026-11-24T09:30:00+08:00"
        ) from None


def readiness(request: Request) -> DispatchReadiness:
    rt = rt_of(request)
    store = store_status(rt.app.recorder)
    nats = nats_status(rt.nats, configured=rt.settings.nats_url is not None)
    consumer = "bound" if rt.consumer is not None else "not running (NATS_URL unset)"
    return DispatchReadiness(
        ready=store == "ok" and not nats.startswith("unreachable"),
        store=store,
        nats=nats,
        consumer=consumer,
        board_position=rt.board.position,
        roster_position=rt.app.followed.position,
        **vars(
            unapplied(
                {
                    "board": in_memory(rt.board.skipped),
                    "roster": in_memory(rt.app.followed.skipped),
                }
            )
        ),
    )


def create_app(
    settings: Settings | None = None,
    clock: Clock = system_clock,
    *,
    background: bool = True,
) -> FastAPI:
    """The app; `background=False` leaves the scheduler and the queue to the caller (tests)."""
    settings = settings or Settings()
    metrics = DispatchMetrics()
    tokens = TokenStore(settings.tokens_path, clock)

    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        rt = Runtime.build(settings, clock)
        api.state.runtime = rt
        metrics.queue_length.set_function(lambda: len(rt.board.waiting()))
        metrics.unapplied.labels(read_model="board").set_function(lambda: len(rt.board.skipped))
        metrics.unapplied.labels(read_model="roster").set_function(
            lambda: len(rt.app.followed.skipped)
        )
        await rt.start(background=background)
        log.info("dispatch ready", extra={"store": settings.store.split("@")[-1]})
        try:
            yield
        finally:
            await rt.close()

    api = FastAPI(
        title="Casework dispatch",
        version="1.0.0",
        description=(
            "Repairs, leak emergencies and residents' needs to the right hands: my tasks, the "
            "leak protocol, the queue, the roster (supply list), the demand list and the "
            "volunteer service list. Every request needs a bearer token; every error is a "
            "JSON body with a code and a message."
        ),
        lifespan=lifespan,
    )
    install(
        api,
        "dispatch",
        tokens,
        metrics,
        store=settings.store,
        casework=lambda a: a.state.runtime.app if hasattr(a.state, "runtime") else None,
    )
    for router in (tasks, leaks, queue, roster, demands, services):
        api.include_router(router)
    api.include_router(ops_router(readiness, DispatchReadiness))
    return api


__all__ = ["Board", "create_app"]
