"""The mediation FastAPI app: the web standard, the routers, readiness, the runtime's lifespan.

Endpoints are plain `def`: eventsourcing is synchronous, so FastAPI runs them in its threadpool.
Auth, error bodies, request ids, logs, metrics and health come from `casework_web`, as for every
Casework service.
"""

from __future__ import annotations

from casework import Clock, system_clock
from casework_web import Readiness, TokenStore, feed_status, install, ops_router, store_status
from casework_web.lifespan import running_casework, runtime_lifespan
from casework_web.unapplied import Unapplied, unapplied, watch_runtime
from fastapi import FastAPI, Request
from pydantic import Field

from mediation.api.deps import running
from mediation.api.metrics import MediationMetrics
from mediation.api.routes import disputes, meetings, rules, worklist
from mediation.config import Settings
from mediation.runtime import Runtime


class MediationReadiness(Readiness, Unapplied):
    worklist_rows: int = Field(description="disputes on the worklist (open and closed)")


def readiness(request: Request) -> MediationReadiness:
    rt = running(request)
    store = store_status(rt.app.recorder)
    nats = feed_status(rt.feed)
    return MediationReadiness(
        ready=store == "ok" and not nats.startswith("unreachable"),
        store=store,
        nats=nats,
        worklist_rows=rt.worklist.count(),
        **vars(unapplied(rt.read_models())),
    )


def create_app(settings: Settings | None = None, clock: Clock = system_clock) -> FastAPI:
    settings = settings or Settings()
    metrics = MediationMetrics()

    def build() -> Runtime:
        return Runtime.build(settings, clock)

    api = FastAPI(
        title="Casework mediation",
        version="1.0.0",
        description=(
            "Disputes settled in rounds, at the right tier, with the right people: meetings, "
            "rounds with their tallies, agreements and their commitments, escalations one rung "
            "at a time, and a mediator's worklist. Every request needs a bearer token; every "
            "error is a JSON body with a code and a message."
        ),
        lifespan=runtime_lifespan("mediation", build, settings.store),
    )
    install(
        api,
        "mediation",
        TokenStore(settings.tokens_path, clock),
        metrics,
        store=settings.store,
        casework=running_casework,
    )
    for routes in (worklist, disputes, meetings, rules):
        api.include_router(routes.router)
    api.include_router(ops_router(readiness, MediationReadiness))
    watch_runtime(metrics, api, ("worklist",))
    return api
