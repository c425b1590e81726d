"""The dispatch FastAPI app: the web standard, the routers, readiness, the runtime's lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from casework import Clock, system_clock
from casework_web import TokenStore, feed_status, install, ops_router, store_status
from casework_web.unapplied import in_memory, unapplied
from fastapi import FastAPI, Request

from dispatch.api.deps import runtime
from dispatch.api.routes import demands, leaks, queue, roster, services, tasks
from dispatch.config import Settings
from dispatch.metrics import DispatchMetrics
from dispatch.runtime import Runtime
from dispatch.schemas import DispatchReadiness

log = logging.getLogger("dispatch")


def readiness(request: Request) -> DispatchReadiness:
    rt = runtime(request)
    store = store_status(rt.app.casework.recorder)
    feed = rt.feed
    nats = feed_status(feed)
    if feed is None:
        consumer = "not running (NATS_URL unset)"
    elif feed.consumer is not None:
        consumer = "bound"
    else:
        consumer = "not bound yet (waiting for NATS)" if feed.ended is None else "stopped"
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
        rt = Runtime.build(settings, clock, metrics)
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
        casework=lambda a: a.state.runtime.app.casework if hasattr(a.state, "runtime") else None,
    )
    for routes in (tasks, leaks, queue, roster, demands, services):
        api.include_router(routes.router)
    api.include_router(ops_router(readiness, DispatchReadiness))
    return api
