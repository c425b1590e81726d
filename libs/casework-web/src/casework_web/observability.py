"""Structured logs, request ids and Prometheus metrics, the same for every service.

Every request gets an id (the caller's `X-Request-ID`, or a new one), echoed in the answer and
in every log line of that request; endpoints that touch a case put its id on `request.state`
(`case_id`), the `principal` dependency puts the actor's (`actor_id`), and the access log line
carries both. Metrics live in a registry per app, so tests can run many apps in one process;
a service adds its own counters to `metrics.registry`.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from casework import logs
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_METRIC_PREFIX = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class JsonFormatter(logs.JsonFormatter):
    """The library's JSON lines (time, level, logger, message, extras, `exc_info`), plus the
    request id: the record's own (the access line's) or the one of the request being served."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["request_id"] = getattr(record, "request_id", None) or request_id_var.get()


FORMATTER = f"{__name__}.JsonFormatter"


def configure_logging(level: str = "INFO") -> None:
    """Every line the service's process logs is one JSON object on stderr with the request id:
    its own loggers, uvicorn's, nats-py's, `casework.*`, warnings and uncaught tracebacks alike
    (`casework.logs.configure_logging`, which sends every logger to the root's one handler).
    Hand `uvicorn_log_config(level)` to uvicorn (`log_config`) so it applies the same setup."""
    logs.configure_logging(level, FORMATTER)


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """`configure_logging`'s setup as uvicorn's `log_config` (a dictConfig dictionary)."""
    return logs.logging_config(level, FORMATTER)


class Metrics:
    """The app's Prometheus registry with the request metrics every service exposes.

    Names carry the service: `<service>_requests_total{method,route,status}` and
    `<service>_request_seconds{method,route}`. Subclass (or use `registry`) for the service's own.
    """

    def __init__(self, service: str) -> None:
        if not _METRIC_PREFIX.match(service):
            raise ValueError(f"service name {service!r} must be a valid Prometheus name prefix")
        self.service = service
        self.registry = CollectorRegistry()
        self.requests = Counter(
            f"{service}_requests_total",
            "HTTP requests answered, by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            f"{service}_request_seconds",
            "Time to answer an HTTP request, by method and route",
            ["method", "route"],
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )


class RequestContext:
    """Pure ASGI middleware: request id, access log line, request metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.log = logging.getLogger(f"{metrics.service}.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "-")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            self.log.info(
                "%s %s %s",
                method,
                scope.get("path", ""),
                status,
                extra={
                    "request_id": request_id,
                    "case_id": state.get("case_id"),
                    "actor_id": state.get("actor_id"),
                    "status": status,
                    "route": route,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)
