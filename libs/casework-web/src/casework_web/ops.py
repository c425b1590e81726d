"""`/healthz`, `/readyz` and `/metrics`: what an orchestrator and Prometheus ask every service.

`/healthz` says the process answers; `/readyz` runs the service's own check (store, NATS, ...) and
answers 503 when it is not ready, with the reason in the body; `/metrics` is the app's registry
in Prometheus's text format.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from casework_web.errors import RETRY_AFTER_SECONDS


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    """What every service reports; a service may subclass it to add its own fields."""

    ready: bool
    store: str = Field(description="ok, or why the case store cannot be reached, and where")
    nats: str = Field(description="ok, not configured, or unreachable")
    down: list[str] = Field(
        default_factory=list,
        description="the dependencies that cannot be reached now (store, nats), if any",
    )


R = TypeVar("R", bound=Readiness)


def store_status(recorder: Any) -> str:
    """`ok`, or why the store cannot be reached (pass the application's `recorder`)."""
    try:
        recorder.max_notification_id()
    except Exception as error:  # any failure here means "not ready", with the reason shown
        lines = str(error).strip().splitlines()
        detail = f": {lines[0][:200]}" if lines else ""
        return f"unreachable: {type(error).__name__}{detail}"
    return "ok"


def nats_status(client: Any, configured: bool, unconfigured: str = "not configured") -> str:
    """`ok`, `unreachable: <where and why>`, or `unconfigured` when the service runs without
    NATS. Test with `startswith("unreachable")`."""
    if not configured:
        return unconfigured
    if client is not None and getattr(client, "is_connected", False):
        return "ok"
    if client is None:
        return "unreachable: not connected yet"
    servers = []
    for server in getattr(client, "servers", None) or []:
        with contextlib.suppress(ValueError):  # host:port only, never a user or password
            servers.append(f"{server.hostname}:{server.port}")
    error = getattr(client, "last_error", None)
    why = f"{type(error).__name__}: {str(error)[:120]}" if error is not None else "reconnecting"
    return f"unreachable: {', '.join(servers) or 'nats'} ({why})"


def feed_status(feed: Any, unconfigured: str = "not configured") -> str:
    """`nats_status` for a service whose consumer runs in the background
    (`casework.messaging.background.ConsumerInBackground`, or None without NATS): unreachable
    until it connects, and a consumer that stopped on a real fault (not an outage) is named."""
    if feed is None:
        return unconfigured
    stopped: str | None = feed.status()
    if stopped is not None:
        return stopped
    return nats_status(feed.nc, configured=True)


def ops_router(
    readiness: Callable[[Request], R],
    model: type[R],
    *,
    metrics_summary: str = "Prometheus metrics: requests and latencies",
) -> APIRouter:
    """The three routes, with `readiness(request)` deciding `/readyz` (it may block: it runs in
    the threadpool)."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=Health, summary="The process is up")
    def healthz() -> Health:
        return Health(status="ok")

    @router.get(
        "/readyz",
        response_model=model,
        responses={503: {"model": model, "description": "a dependency cannot be reached"}},
        summary="The store (and NATS, if configured) can be reached",
    )
    def readyz(request: Request, response: Response) -> Any:
        answer = readiness(request)
        if answer.store != "ok":
            place = getattr(getattr(request.app.state, "casework_web", None), "store", None)
            answer.store = f"{answer.store} ({place})" if place else answer.store
        answer.down = [
            name
            for name, status in (("store", answer.store), ("nats", answer.nats))
            if status.startswith("unreachable")
        ]
        answer.ready = answer.ready and not answer.down
        if not answer.ready:
            response.status_code = 503
            response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return answer

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
        summary=metrics_summary,
    )
    def metrics(request: Request) -> Response:
        registry = request.app.state.casework_web.metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
