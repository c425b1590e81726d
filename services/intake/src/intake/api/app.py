"""The intake FastAPI app: the web standard, the routers, readiness, the runtime's lifespan."""

from __future__ import annotations

from casework import Clock, system_clock
from casework_web import TokenStore, feed_status, install, ops_router, store_status
from casework_web.lifespan import running_casework, runtime_lifespan
from casework_web.unapplied import unapplied, watch_runtime
from fastapi import FastAPI, Request

from intake.api.deps import runtime
from intake.api.routes import cases, measures, people
from intake.config import Settings
from intake.observability import Metrics
from intake.runtime import Runtime
from intake.schemas import Readiness
from intake.web import router as pages_router


def readiness(request: Request) -> Readiness:
    rt = runtime(request)
    store = store_status(rt.intake.app.recorder)
    unused = (
        "not used (INTAKE_READ_MODELS=store: read models follow the store's log)"
        if rt.settings.nats_url is not None
        else "not configured (case index fed from the store)"
    )
    nats = feed_status(rt.feed, unconfigured=unused)
    return Readiness(
        ready=store == "ok" and not nats.startswith("unreachable"),
        store=store,
        nats=nats,
        index_position=rt.intake.index.position(rt.source),
        **vars(unapplied(rt.read_models())),
    )


def create_app(settings: Settings | None = None, clock: Clock = system_clock) -> FastAPI:
    settings = settings or Settings()
    metrics = Metrics()
    tokens = TokenStore(settings.tokens_path, clock)

    def build() -> Runtime:
        return Runtime.build(settings, clock, metrics, tokens)

    api = FastAPI(
        title="Casework intake",
        version="1.0.0",
        description=(
            "The front desk for reports of repairs, leaks and disputes, look-ups and case files. "
            "Every request needs a bearer token; every error is a JSON body with a code and a "
            "message."
        ),
        lifespan=runtime_lifespan("intake", build, settings.store),
    )
    install(
        api,
        "intake",
        tokens,
        metrics,
        store=settings.store,
        casework=running_casework,
        kept_by_routes=frozenset({"/cases"}),  # a report keeps its answer in its own commit
    )
    watch_runtime(metrics, api, ("case index", "measures"))
    for routes in (cases, measures, people):
        api.include_router(routes.router)
    api.include_router(pages_router)
    api.include_router(
        ops_router(
            readiness,
            Readiness,
            metrics_summary="Prometheus metrics: requests, latencies, cases reported by kind",
        )
    )
    return api
