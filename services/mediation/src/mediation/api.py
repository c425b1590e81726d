"""The HTTP API for mediators: routes, their dependencies, and the app factory with its lifespan.

Endpoints are plain `def`: eventsourcing is synchronous, so FastAPI runs them in its threadpool.
Auth, error bodies, request ids, logs, metrics and health come from `casework_web`, as for every
Casework service.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from casework import Casework, Clock, Status, Tier, system_clock
from casework.domain.ladder import FAILED_ROUNDS_BEFORE_ESCALATION
from casework.domain.mediation_rules import (
    CONVENERS,
    COUNTY_DEPARTMENTS,
    COUNTY_SEAT_FORMS,
    ESCALATION_GROUNDS,
    MATTERS,
    MEETING_FORMS,
    OPEN_FORMS,
    TIER_HEADS,
)
from casework_web import (
    Metrics,
    Readiness,
    TokenStore,
    Who,
    error_responses,
    feed_status,
    install,
    ops_router,
    store_status,
)
from casework_web.unapplied import Unapplied, unapplied, watch_unapplied
from fastapi import APIRouter, FastAPI, Path, Query, Request
from prometheus_client import Counter
from pydantic import Field

from mediation.config import Settings
from mediation.feeds import StoreFeed, catch_up_schema, start_consumer
from mediation.scheduler import Scheduler
from mediation.schemas import (
    AgreementCreate,
    DisputePublic,
    EscalationCreate,
    FollowUpCreate,
    FormRule,
    InvitationCreate,
    LeadCreate,
    MatterRule,
    MediationRules,
    MeetingCancel,
    MeetingCreate,
    MeetingPublic,
    MeetingReschedule,
    ResolutionCreate,
    RoundCreate,
    RoundRecorded,
    TierRule,
    WorkItem,
    WorkPage,
)
from mediation.service import Desk
from mediation.worklist import Worklist

log = logging.getLogger("mediation")


class MediationMetrics(Metrics):
    def __init__(self) -> None:
        super().__init__("mediation")
        self.meetings = Counter(
            "mediation_meetings_convened_total",
            "Meetings convened, by form and tier",
            ["form", "tier"],
            registry=self.registry,
        )
        self.meeting_changes = Counter(
            "mediation_meetings_changed_total",
            "Meetings rescheduled, cancelled or with people invited",
            ["change"],
            registry=self.registry,
        )
        self.leads = Counter(
            "mediation_leads_total",
            "Lead mediators recorded: taken by themselves, or named by the tier's head",
            ["how"],
            registry=self.registry,
        )
        self.rounds = Counter(
            "mediation_rounds_total",
            "Rounds recorded, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.escalations = Counter(
            "mediation_escalations_total",
            "Escalations a mediator asked for, by grounds",
            ["grounds"],
            registry=self.registry,
        )
        self.agreements = Counter(
            "mediation_agreements_total",
            "Agreements recorded, by tier",
            ["tier"],
            registry=self.registry,
        )


@dataclass
class Runtime:
    """What the lifespan starts and stops; endpoints reach it through `request.app.state`."""

    settings: Settings
    app: Casework
    worklist: Worklist
    desk: Desk
    scheduler: Scheduler
    metrics: MediationMetrics
    store_feed: StoreFeed | None = None
    feed: Any = None
    """The NATS consumer (`casework.messaging.background.ConsumerInBackground`), if configured."""


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


CaseId = Annotated[str, Path(max_length=100, description="the dispute's case id (a UUID)")]
MeetingId = Annotated[str, Path(max_length=100, description="the meeting id from its convening")]

disputes = APIRouter(
    prefix="/disputes", tags=["disputes"], responses=error_responses(401, 422, 503)
)
meetings = APIRouter(prefix="/meetings", tags=["meetings"], responses=error_responses(401, 503))
rules = APIRouter(tags=["rules"])
_ACTION = error_responses(400, 403, 404, 409)


@disputes.get(
    "",
    response_model=WorkPage,
    summary="A mediator's worklist: open disputes in your place, what needs attention first",
)
def list_disputes(
    who: Who,
    request: Request,
    tier: Tier | None = None,
    compound: Annotated[
        str | None, Query(max_length=130, description="compound id, or community/compound")
    ] = None,
    status: Status | None = None,
    include_closed: Annotated[bool, Query(description="closed disputes too")] = False,
    mine: Annotated[
        bool,
        Query(
            description="only the disputes you lead, convened a meeting of, or were invited "
            "to one of (at its convening, after it, or as a walk-in)"
        ),
    ] = False,
    unled: Annotated[
        bool,
        Query(description="only the disputes nobody leads at their tier (POST .../lead)"),
    ] = False,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> WorkPage:
    rt = runtime(request)
    total, rows = rt.desk.worklist_page(
        who,
        tier=tier.value if tier else None,
        compound=compound,
        status=status.value if status else None,
        include_closed=include_closed,
        mine=mine,
        unled=unled,
        offset=offset,
        limit=limit,
    )
    return WorkPage(
        total=total,
        offset=offset,
        limit=limit,
        items=[WorkItem.model_validate(asdict(row)) for row in rows],
    )


@disputes.get(
    "/{case_id}",
    response_model=DisputePublic,
    responses=error_responses(403, 404),
    summary="The dispute: meetings with every round (tallies included), commitments, escalations",
)
def get_dispute(case_id: CaseId, who: Who, request: Request) -> DisputePublic:
    rt = runtime(request)
    request.state.case_id = case_id
    return rt.desk.view(rt.desk.dispute(who, case_id))


@disputes.post(
    "/{case_id}/meetings",
    status_code=201,
    response_model=MeetingPublic,
    responses=_ACTION,
    summary="Convene a meeting: form, time, place, participants (county departments at a council)",
)
def convene(case_id: CaseId, body: MeetingCreate, who: Who, request: Request) -> MeetingPublic:
    rt = runtime(request)
    request.state.case_id = case_id
    meeting = rt.desk.convene(who, case_id, body)
    rt.metrics.meetings.labels(meeting.form, meeting.tier).inc()
    return meeting


@disputes.post(
    "/{case_id}/lead",
    response_model=DisputePublic,
    responses=_ACTION,
    summary="Take the lead of the dispute at its tier yourself, or (the tier's head) name its "
    "lead mediator, with the reason; the lead lapses when the dispute climbs",
)
def lead(case_id: CaseId, body: LeadCreate, who: Who, request: Request) -> DisputePublic:
    rt = runtime(request)
    request.state.case_id = case_id
    dispute = rt.desk.lead(who, case_id, body)
    rt.metrics.leads.labels("taken" if body.lead is None else "named").inc()
    return dispute


@meetings.post(
    "/{meeting_id}/rounds",
    status_code=201,
    response_model=RoundRecorded,
    responses=_ACTION,
    summary="Record a round: who came (or was consulted), walk-ins with their reason, positions, "
    "proposals, tally, outcome",
)
def hold_round(
    meeting_id: MeetingId, body: RoundCreate, who: Who, request: Request
) -> RoundRecorded:
    rt = runtime(request)
    held, dispute = rt.desk.hold_round(who, meeting_id, body)
    request.state.case_id = dispute.case_id
    rt.metrics.rounds.labels(held.outcome).inc()
    return RoundRecorded(round=held, dispute=dispute)


@meetings.post(
    "/{meeting_id}/invitations",
    status_code=201,
    response_model=MeetingPublic,
    responses=_ACTION,
    summary="Invite more people to a meeting that awaits its round, with the reason; they are "
    "then among the invited at the round",
)
def invite(
    meeting_id: MeetingId, body: InvitationCreate, who: Who, request: Request
) -> MeetingPublic:
    rt = runtime(request)
    meeting = rt.desk.invite(who, meeting_id, body)
    request.state.case_id = meeting.case_id
    rt.metrics.meeting_changes.labels("invited").inc()
    return meeting


@meetings.post(
    "/{meeting_id}/reschedule",
    response_model=MeetingPublic,
    responses=_ACTION,
    summary="Move the meeting's next round to a new time (and place), with the reason",
)
def reschedule(
    meeting_id: MeetingId, body: MeetingReschedule, who: Who, request: Request
) -> MeetingPublic:
    rt = runtime(request)
    meeting = rt.desk.reschedule(who, meeting_id, body)
    request.state.case_id = meeting.case_id
    rt.metrics.meeting_changes.labels("rescheduled").inc()
    return meeting


@meetings.post(
    "/{meeting_id}/cancel",
    response_model=MeetingPublic,
    responses=_ACTION,
    summary="Call the meeting off, with the reason; rounds already held stand",
)
def cancel(meeting_id: MeetingId, body: MeetingCancel, who: Who, request: Request) -> MeetingPublic:
    rt = runtime(request)
    meeting = rt.desk.cancel(who, meeting_id, body)
    request.state.case_id = meeting.case_id
    rt.metrics.meeting_changes.labels("cancelled").inc()
    return meeting


@disputes.post(
    "/{case_id}/agreement",
    status_code=201,
    response_model=DisputePublic,
    responses=_ACTION,
    summary="Record the agreement: terms and commitments (who does what by when)",
)
def agree(case_id: CaseId, body: AgreementCreate, who: Who, request: Request) -> DisputePublic:
    rt = runtime(request)
    request.state.case_id = case_id
    dispute = rt.desk.agree(who, case_id, body)
    rt.metrics.agreements.labels(dispute.tier).inc()
    return dispute


@disputes.post(
    "/{case_id}/escalate",
    response_model=DisputePublic,
    responses=_ACTION,
    summary="Send the dispute up one rung, on grounds the case file bears out",
)
def escalate(case_id: CaseId, body: EscalationCreate, who: Who, request: Request) -> DisputePublic:
    rt = runtime(request)
    request.state.case_id = case_id
    dispute = rt.desk.escalate(who, case_id, body)
    rt.metrics.escalations.labels(body.grounds).inc()
    return dispute


@disputes.post(
    "/{case_id}/follow-ups",
    status_code=201,
    response_model=DisputePublic,
    responses=_ACTION,
    summary="Record a commitment's check-back: kept, or broken (which reopens the dispute)",
)
def follow_up(case_id: CaseId, body: FollowUpCreate, who: Who, request: Request) -> DisputePublic:
    rt = runtime(request)
    request.state.case_id = case_id
    return rt.desk.follow_up(who, case_id, body)


@disputes.post(
    "/{case_id}/resolution",
    response_model=DisputePublic,
    responses=_ACTION,
    summary="Record the dispute as resolved at its tier (it needs an agreement)",
)
def resolve(case_id: CaseId, body: ResolutionCreate, who: Who, request: Request) -> DisputePublic:
    rt = runtime(request)
    request.state.case_id = case_id
    return rt.desk.resolve(who, case_id, body.summary)


@rules.get(
    "/mediation-rules",
    response_model=MediationRules,
    summary="Meeting forms per tier, who mediates where, matters and the tier that decides them",
)
def mediation_rules() -> MediationRules:
    return MEDIATION_RULES


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


class MediationReadiness(Readiness, Unapplied):
    worklist_rows: int = Field(description="disputes on the worklist (open and closed)")


def ready(request: Request) -> MediationReadiness:
    rt = runtime(request)
    store = store_status(rt.app.recorder)
    nats = feed_status(rt.feed)
    return MediationReadiness(
        ready=store == "ok" and not nats.startswith("unreachable"),
        store=store,
        nats=nats,
        worklist_rows=rt.worklist.count(),
        **vars(unapplied({"worklist": rt.worklist})),
    )


def build_runtime(settings: Settings, clock: Clock) -> Runtime:
    app = Casework(settings.store, clock=clock, max_clock_skew=settings.max_clock_skew)
    worklist = Worklist(settings.db_path)
    rt = Runtime(
        settings=settings,
        app=app,
        worklist=worklist,
        desk=Desk(app, worklist),
        scheduler=Scheduler(app, worklist, clock),
        metrics=MediationMetrics(),
    )
    if settings.nats_url is None:
        rt.store_feed = StoreFeed(app, worklist)
    return rt


def create_app(settings: Settings | None = None, clock: Clock = system_clock) -> FastAPI:
    settings = settings or Settings()
    metrics = MediationMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        rt = build_runtime(settings, clock)
        rt.metrics = metrics
        api.state.runtime = rt
        if caught_up := catch_up_schema(rt.app, rt.worklist):
            log.info("worklist indexed anew", extra={"disputes": caught_up})
        if rt.store_feed is not None:
            rt.store_feed.catch_up()
            rt.store_feed.start(settings.feed_poll_seconds)
        else:
            assert settings.nats_url is not None
            rt.feed = start_consumer(settings.nats_url, rt.app, rt.worklist, settings.durable)
        if settings.scheduler_seconds > 0:
            rt.scheduler.start(settings.scheduler_seconds)
        log.info("mediation ready", extra={"store": settings.store.split("@")[-1]})
        try:
            yield
        finally:
            rt.scheduler.stop()
            if rt.feed is not None:
                await rt.feed.stop()
            if rt.store_feed is not None:
                rt.store_feed.stop()
            rt.worklist.close()
            rt.app.close()

    api = FastAPI(
        title="Casework mediation",
        version="1.0.0",
        description=(
            "Disputes settled in rounds, at the right tier, with the right people: meetings, "
            "rounds with their tallies, agreements and their commitments, escalations one rung "
            "at a time, and a mediator's worklist. Every request needs a bearer token; every "
            "error is a JSON body with a code and a message."
        ),
        lifespan=lifespan,
    )
    install(
        api,
        "mediation",
        TokenStore(settings.tokens_path, clock),
        metrics,
        store=settings.store,
        casework=lambda a: a.state.runtime.app if hasattr(a.state, "runtime") else None,
    )
    api.include_router(disputes)
    api.include_router(meetings)
    api.include_router(rules)
    api.include_router(ops_router(ready, MediationReadiness))

    def worklist_skipped() -> int:
        rt: Runtime | None = getattr(api.state, "runtime", None)
        return rt.worklist.skipped_count() if rt is not None else 0

    watch_unapplied(metrics, {"worklist": worklist_skipped})
    return api
