"""`install`: put the shared HTTP standards on a service's FastAPI app, before its routes.

One call gives the app the error format and handlers, the request-id/access-log/metrics
middleware, the token store the `principal` dependency reads, the unknown-query-parameter guard
on every route, a documented 422 on every route (the guard can answer it anywhere), and
`Idempotency-Key` on every POST (kept in the app's case store; documented on each POST).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from casework.idempotency import IdempotencyRecords, records_for
from casework.settings import store_place
from eventsourcing.application import Application
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from casework_web.auth import TokenStore
from casework_web.errors import error_responses, install_error_handlers
from casework_web.idempotency import IdempotencyKeys, document
from casework_web.observability import Metrics, RequestContext
from casework_web.query import reject_unknown_query


@dataclass(frozen=True)
class Standards:
    """What `install` put on the app, at `app.state.casework_web`."""

    service: str
    tokens: TokenStore
    metrics: Metrics
    store: str = "the case store"
    """Where the case store is, for messages (`casework.settings.store_place`)."""


def install(
    app: FastAPI,
    service: str,
    tokens: TokenStore,
    metrics: Metrics | None = None,
    *,
    store: str | None = None,
    casework: Callable[[FastAPI], Application[Any] | None] | None = None,
    kept_by_routes: frozenset[str] = frozenset(),
) -> Standards:
    """Call right after `FastAPI(...)`, before `include_router`: the guard and the documented 422
    reach only routes added afterwards, so a route already there is refused loudly.

    `store` is the app's `CASEWORK_STORE` URL (named in 503 answers); `casework(app)` gives the
    running app's application (None before it started), whose store keeps idempotency records.
    Without `casework`, `Idempotency-Key` is documented but not honoured (tests' toy apps only).
    `kept_by_routes`: paths whose POST route keeps its own answer in the transaction of its
    effect (`casework_web.idempotency.RouteKey`).
    """
    early = [r.path for r in app.routes if isinstance(r, APIRoute)]
    if early:
        raise RuntimeError(
            f"casework_web.install must run before routes are added; already there: {early}"
        )
    place = store_place(store) if store else "the case store"
    standards = Standards(service, tokens, metrics or Metrics(service), place)
    app.state.casework_web = standards
    app.router.dependencies.append(Depends(reject_unknown_query))
    app.router.responses = {**error_responses(422), **app.router.responses}
    install_error_handlers(app, service)

    def records(asgi: Any) -> IdempotencyRecords | None:
        application = casework(asgi) if casework is not None else None
        return None if application is None else records_for(application)

    # Added first, so it runs inside the request context: replays are logged and counted too.
    app.add_middleware(IdempotencyKeys, records=records, store=place, kept_by_routes=kept_by_routes)
    app.add_middleware(RequestContext, metrics=standards.metrics)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return standards
