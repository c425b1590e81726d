"""The intake FastAPI app: the web standard, the routers, readiness, the runtime's lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from casework import Clock, system_clock
from casework_web import TokenStore, feed_status, install, ops_router, store_status
from casework_web.unapplied import unapplied, watch_unapplied
from fastapi import FastAPI, Request

from intake.api.deps import runtime
from intake.api.routes import cases, measures
from intake.config import Settings
from intake.observability import Metrics
from intake.runtime import Runtime
from intake.schemas import Readiness
from intake.web import router as pages_router

log = logging.getLogger("intake")


def readiness(request: Request) -> Readiness:
    rt = runtime(request)
    store = store_status(rt.intake.app.recorder)
    nats = feed_status(rt.feed, unconfigured="not configured (case index fed from the store)")
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

    @contextlib.asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        rt = Runtime.build(settings, clock, metrics, tokens)
        api.state.runtime = rt
        await rt.start()
        log.info("intake ready", extra={"store": settings.store.split("@")[-1]})
        try:
            yield
        finally:
            await rt.close()

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
        metrics,
        store=settings.store,
        casework=lambda a: a.state.runtime.intake.app if hasattr(a.state, "runtime") else None,
    )

    def skipped_by(name: str) -> Callable[[], int]:
        def count() -> int:
            rt: Runtime | None = getattr(api.state, "runtime", None)
            return rt.read_models()[name].skipped_count() if rt is not None else 0

        return count

    watch_unapplied(metrics, {name: skipped_by(name) for name in ("case index", "measures")})
    for routes in (cases, measures):
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
