"""The dispatch FastAPI app: the web standard, the routers, readiness, the runtime's lifespan."""

from __future__ import annotations

from casework import Clock, system_clock
from casework_web import TokenStore, feed_status, install, ops_router, store_status
from casework_web.lifespan import running_casework, runtime_lifespan
from casework_web.unapplied import unapplied, watch_runtime
from fastapi import FastAPI, Request

from dispatch.api.deps import runtime
from dispatch.api.routes import demands, leaks, queue, roster, services, tasks
from dispatch.config import Settings
from dispatch.metrics import DispatchMetrics
from dispatch.runtime import Runtime
from dispatch.schemas import DispatchReadiness


def consumer_status(rt: Runtime) -> str:
    """The NATS consumer bound, or why not."""
    feed = rt.feed
    if feed is None:
        return "not running (NATS_URL unset): following the store's log"
    if feed.consumer is not None:
        return "bound"
    return "not bound yet (waiting for NATS)" if feed.ended is None else "stopped"


def readiness(request: Request) -> DispatchReadiness:
    rt = runtime(request)
    store = store_status(rt.casework.recorder)
    nats = feed_status(rt.feed)
    return DispatchReadiness(
        ready=store == "ok" and not nats.startswith("unreachable"),
        store=store,
        nats=nats,
        consumer=consumer_status(rt),
        board_position=rt.board.position,
        roster_position=rt.app.followed.position,
        **vars(unapplied(rt.read_models())),
    )


def create_app(
    settings: Settings | None = None,
    clock: Clock = system_clock,
    *,
    background: bool = True,
) -> FastAPI:
    """The app; `background=False` leaves the case feed's polling, the scheduler and the queue
    to the caller (tests)."""
    settings = settings or Settings()
    metrics = DispatchMetrics()

    def build() -> Runtime:
        return Runtime.build(settings, clock, metrics, background=background)

    api = FastAPI(
        title="Casework dispatch",
        version="1.0.0",
        description=(
            "Repairs, leak emergencies and residents' needs to the right hands: my tasks, the "
            "leak protocol, the queue, the roster (supply list), the demand list and the "
            "volunteer service list. Every request needs a bearer token; every error is a "
            "JSON body with a code and a message."
        ),
        lifespan=runtime_lifespan("dispatch", build, settings.store),
    )
    install(
        api,
        "dispatch",
        TokenStore(settings.tokens_path, clock),
        metrics,
        store=settings.store,
        casework=running_casework,
    )
    for routes in (tasks, leaks, queue, roster, demands, services):
        api.include_router(routes.router)
    api.include_router(ops_router(readiness, DispatchReadiness))
    watch_runtime(metrics, api, ("board", "roster"))
    return api
