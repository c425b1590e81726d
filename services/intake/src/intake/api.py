"""The HTTP API: routes, their dependencies, and the app factory with its lifespan.

Endpoints are plain `def`: eventsourcing is synchronous, so FastAPI runs them in its threadpool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from casework import Case, Casework, Clock, Status, Tier, system_clock
from casework.domain.windows import EARLIEST
from casework.projections.polling import catch_up_after_write
from casework_web import (
    Principal,
    TokenStore,
    Who,
    error_responses,
    feed_status,
    install,
    ops_router,
    store_status,
)
from casework_web.fields import Moment
from casework_web.unapplied import HoldsSkipped, unapplied, watch_unapplied
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response

from intake.config import Settings
from intake.feeds import STORE_SOURCE, StoreFeed
from intake.measures.desk import MeasuresDesk
from intake.measures.model import MeasuresModel
from intake.measures.rebuild import backfill
from intake.measures.routes import router as measures_router
from intake.observability import Metrics
from intake.places import Places
from intake.read_model import CaseIndex
from intake.records import Records
from intake.schemas import (
    AcknowledgementIn,
    CaseCreate,
    CaseHistory,
    CasePage,
    CasePublic,
    CaseReported,
    CaseSummary,
    ClosureIn,
    HistoryEntryPublic,
    RatingIn,
    Readiness,
    ReopenIn,
    ReturnVisitIn,
    VerifyPublic,
)
from intake.service import Intake, snapshot
from intake.triage import TriageRules
from intake.web import router as pages_router

log = logging.getLogger("intake")


@dataclass
class Runtime:
    """What the lifespan starts and stops; endpoints reach it through `request.app.state`."""

    settings: Settings
    intake: Intake
    tokens: TokenStore
    metrics: Metrics
    store_feed: StoreFeed | None = None
    measures: MeasuresDesk | None = None
    feed: Any = None
    """The NATS feed (`casework.messaging.background.ConsumerInBackground`), when configured."""
    background: list[asyncio.Task[Any]] = field(default_factory=list)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


Rt = Annotated[Runtime, Depends(runtime)]
CaseId = Annotated[str, Path(max_length=100, description="the case id (a UUID)")]

cases = APIRouter(prefix="/cases", tags=["cases"], responses=error_responses(401, 422, 503))


def _public(rt: Runtime, who: Principal, case: Case) -> CasePublic:
    return CasePublic(**snapshot(case), contacts=rt.intake.contacts_for(who, case))


@cases.post(
    "",
    status_code=201,
    response_model=CaseReported,
    responses={
        200: {"model": CaseReported, "description": "joined the open case of the same matter"},
        **error_responses(400, 403, 409),
    },
    summary="Report a repair, a leak or a dispute",
)
def report_case(
    body: CaseCreate, who: Who, rt: Rt, request: Request, response: Response
) -> CaseReported:
    done = rt.intake.report(who, body)
    case = done.case
    request.state.case_id = str(case.id)
    if done.outcome != "opened":
        response.status_code = 200
    if rt.store_feed is not None:  # the reporter's next listing shows the case
        catch_up_after_write(rt.store_feed, log)  # stored already: a failure here is not theirs
    rt.metrics.reported.labels(case.kind, done.outcome).inc()
    log.info(
        "case %s %s",
        case.id,
        done.outcome,
        extra={"case_id": str(case.id), "kind": case.kind, "outcome": done.outcome},
    )
    return CaseReported(
        case_id=str(case.id),
        outcome=done.outcome,  # type: ignore[arg-type]
        message=done.message,
        kind=case.kind,  # type: ignore[arg-type]
        category=getattr(case, "category", None) or None,
        priority=case.priority.value,
        tier=case.tier,
        respond_by=case.respond_by,
        settle_by=case.settle_by,
        triage=done.triage.reasons,
    )


@cases.get("", response_model=CasePage, summary="List cases you can see, from the case index")
def list_cases(
    who: Who,
    rt: Rt,
    compound: Annotated[
        str | None,
        Query(max_length=130, description="compound id, or community/compound"),
    ] = None,
    tier: Tier | None = None,
    status: Status | None = None,
    kind: Literal["repair", "leak", "dispute"] | None = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasePage:
    total, rows = rt.intake.list(
        who,
        compound=compound,
        tier=tier.value if tier else None,
        status=status.value if status else None,
        kind=kind,
        offset=offset,
        limit=limit,
    )
    return CasePage(
        total=total,
        offset=offset,
        limit=limit,
        items=[CaseSummary(**vars(row)) for row in rows],
        index_position=rt.intake.index.position(
            STORE_SOURCE if rt.store_feed is not None else rt.settings.durable
        ),
    )


@cases.get("/{case_id}", response_model=CasePublic, responses=error_responses(404))
def get_case(case_id: CaseId, who: Who, rt: Rt, request: Request) -> CasePublic:
    case = rt.intake.case(who, case_id)
    request.state.case_id = str(case.id)
    return _public(rt, who, case)


@cases.get(
    "/{case_id}/history",
    response_model=CaseHistory,
    responses=error_responses(404),
    summary="The case file: every event, and the state (as of a past moment with as_of)",
)
def case_history(
    case_id: CaseId,
    who: Who,
    rt: Rt,
    request: Request,
    as_of: Annotated[
        Moment | None,
        Query(
            description="a moment with its timezone, e.g. 2026-11-24T09:30:00+08:00; not before "
            f"{EARLIEST.year}, nor later than now (give or take the writers' clock skew)"
        ),
    ] = None,
) -> CaseHistory:
    state, entries = rt.intake.history(who, case_id, as_of)
    request.state.case_id = str(state.id)
    return CaseHistory(
        case_id=str(state.id),
        as_of=as_of,
        state=_public(rt, who, state),
        events=[
            HistoryEntryPublic(
                version=e.version,
                event=e.event,
                at=e.at,
                actor_id=e.actor_id,
                actor_role=e.actor_role,
                tier=e.tier,
                reason=e.reason,
                details=e.details,
                hash=e.hash,
                prev_hash=e.prev_hash,
            )
            for e in entries
        ],
    )


@cases.get(
    "/{case_id}/verify",
    response_model=VerifyPublic,
    responses=error_responses(404),
    summary="Check the case file's hash chain (tamper evidence)",
)
def verify_case(case_id: CaseId, who: Who, rt: Rt, request: Request) -> VerifyPublic:
    result = rt.intake.verify(who, case_id)
    request.state.case_id = str(result.case_id)
    return VerifyPublic(
        case_id=str(result.case_id),
        ok=result.ok,
        events=result.events,
        head=result.head,
        position=result.position,
        problem=result.problem,
        description=result.describe(),
    )


_ACTION = error_responses(400, 403, 404, 409)


@cases.post(
    "/{case_id}/acknowledgement",
    response_model=CasePublic,
    responses=_ACTION,
    summary="Staff or a mediator in scope take the case up (受理) at the tier it is at",
    description=(
        "Once when the case is reported, and once more at each tier it climbs to: a case that "
        "climbed while assigned keeps its assignee, but the tier it landed on owes its own "
        "response by its own respond_by, or it climbs again for 'no response'. 409 when the "
        "case was already answered at its tier, or is settled or closed."
    ),
)
def acknowledge_case(
    case_id: CaseId, who: Who, rt: Rt, request: Request, body: AcknowledgementIn | None = None
) -> CasePublic:
    request.state.case_id = case_id
    note = body.note if body is not None else ""
    return _public(rt, who, rt.intake.acknowledge(who, case_id, note))


@cases.post(
    "/{case_id}/confirmation",
    response_model=CasePublic,
    responses=_ACTION,
    summary="The reporting resident confirms the work is done",
)
def confirm_case(case_id: CaseId, who: Who, rt: Rt, request: Request) -> CasePublic:
    request.state.case_id = case_id
    return _public(rt, who, rt.intake.confirm(who, case_id))


@cases.post(
    "/{case_id}/reopening",
    response_model=CasePublic,
    responses=_ACTION,
    summary="The reporting resident reopens a resolved case, with a reason, within the window",
)
def reopen_case(case_id: CaseId, body: ReopenIn, who: Who, rt: Rt, request: Request) -> CasePublic:
    request.state.case_id = case_id
    return _public(rt, who, rt.intake.reopen(who, case_id, body.reason))


@cases.post(
    "/{case_id}/rating",
    response_model=CasePublic,
    responses=_ACTION,
    summary="The reporting resident rates satisfaction, 1 to 5",
)
def rate_case(case_id: CaseId, body: RatingIn, who: Who, rt: Rt, request: Request) -> CasePublic:
    request.state.case_id = case_id
    return _public(rt, who, rt.intake.rate(who, case_id, body.score, body.comment))


@cases.post(
    "/{case_id}/return-visits",
    response_model=CasePublic,
    responses=_ACTION,
    summary="Staff record a return visit (回访)",
)
def record_return_visit(
    case_id: CaseId, body: ReturnVisitIn, who: Who, rt: Rt, request: Request
) -> CasePublic:
    request.state.case_id = case_id
    return _public(rt, who, rt.intake.record_return_visit(who, case_id, body.note))


@cases.post(
    "/{case_id}/closure",
    response_model=CasePublic,
    responses=_ACTION,
    summary="Staff or a mediator close the case file (结案)",
    description=(
        "Only a resolved case whose reporter confirmed the work, or whose 7-day reopening "
        "window has passed, with a return visit (回访) recorded since it was resolved, and (a "
        "dispute) no commitment still to be checked back. Closing is final: a closed case "
        "cannot be reopened, rated or visited back; a new problem is a new report."
    ),
)
def close_case(
    case_id: CaseId, who: Who, rt: Rt, request: Request, body: ClosureIn | None = None
) -> CasePublic:
    request.state.case_id = case_id
    reason = body.reason if body is not None else ""
    return _public(rt, who, rt.intake.close(who, case_id, reason))


def readiness(request: Request) -> Readiness:
    rt: Runtime = request.app.state.runtime
    store = store_status(rt.intake.app.recorder)
    nats = feed_status(rt.feed, unconfigured="not configured (case index fed from the store)")
    source = STORE_SOURCE if rt.store_feed is not None else rt.settings.durable
    return Readiness(
        ready=store == "ok" and not nats.startswith("unreachable"),
        store=store,
        nats=nats,
        index_position=rt.intake.index.position(source),
        **vars(unapplied(read_models(rt))),
    )


def read_models(rt: Runtime) -> dict[str, HoldsSkipped]:
    """The intake's read models by name: the case index, and the measures when kept."""
    held: dict[str, HoldsSkipped] = {"case index": rt.intake.index}
    if rt.measures is not None:
        held["measures"] = rt.measures.model
    return held


ops = ops_router(
    readiness,
    Readiness,
    metrics_summary="Prometheus metrics: requests, latencies, cases reported by kind",
)


def build_runtime(
    settings: Settings, clock: Clock, metrics: Metrics, tokens: TokenStore
) -> Runtime:
    app = Casework(settings.store, clock=clock, max_clock_skew=settings.max_clock_skew)
    index = CaseIndex(settings.db_path)
    intake = Intake(
        app,
        Places.load(settings.places_file),
        TriageRules.load(settings.triage_file),
        Records(settings.db_path),
        index,
        clock,
    )
    measures = MeasuresModel(settings.db_path)
    rt = Runtime(settings, intake, tokens, metrics)
    rt.measures = MeasuresDesk(measures, intake.places, clock)
    if settings.nats_url is None:
        rt.store_feed = StoreFeed(app, index, also=[measures])
    elif (filled := backfill(app, settings.db_path, index, measures)) is not None:
        log.info("measures filled from the store", extra={"events": filled.events})
    return rt


def create_app(settings: Settings | None = None, clock: Clock = system_clock) -> FastAPI:
    settings = settings or Settings()
    metrics_holder = Metrics()
    tokens = TokenStore(settings.tokens_path, clock)

    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        rt = build_runtime(settings, clock, metrics_holder, tokens)
        api.state.runtime = rt
        if rt.store_feed is not None:
            rt.store_feed.catch_up()
            rt.store_feed.start(settings.feed_poll_seconds)
        else:
            from intake.nats_feed import start_nats_feed

            await start_nats_feed(rt)
        log.info("intake ready", extra={"store": settings.store.split("@")[-1]})
        try:
            yield
        finally:
            if rt.feed is not None:
                from intake.nats_feed import stop_nats_feed

                await stop_nats_feed(rt)
            if rt.store_feed is not None:
                rt.store_feed.stop()
            rt.intake.index.close()
            if rt.measures is not None:
                rt.measures.model.close()
            rt.intake.records.close()
            rt.intake.app.close()

    api = FastAPI(
        title="Casework intake",
        version="1.0.0",
        description=(
            "The front desk for reports of repairs, leaks and disputes, look-ups and case files. "
            "Every request needs a bearer token; every error is a JSON body with a code and a "
            "message."
        ),
        lifespan=lifespan,
    )
    install(
        api,
        "intake",
        tokens,
        metrics_holder,
        store=settings.store,
        casework=lambda a: a.state.runtime.intake.app if hasattr(a.state, "runtime") else None,
    )

    def skipped_by(name: str) -> Callable[[], int]:
        def count() -> int:
            rt: Runtime | None = getattr(api.state, "runtime", None)
            model = read_models(rt).get(name) if rt is not None else None
            return model.skipped_count() if model is not None else 0

        return count

    watch_unapplied(metrics_holder, {name: skipped_by(name) for name in ("case index", "measures")})
    api.include_router(cases)
    api.include_router(measures_router)
    api.include_router(pages_router)
    api.include_router(ops)
    return api
