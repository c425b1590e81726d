"""`install`: put the shared HTTP standards on a service's FastAPI app, before its routes.

One call gives the app the error format and handlers, the request-id/access-log/metrics
middleware, the token store the `principal` dependency reads, the unknown-query-parameter guard
on every route, and a documented 422 on every route (the guard can answer it anywhere).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from casework_web.auth import TokenStore
from casework_web.errors import error_responses, install_error_handlers
from casework_web.observability import Metrics, RequestContext
from casework_web.query import reject_unknown_query


@dataclass(frozen=True)
class Standards:
    """What `install` put on the app, at `app.state.casework_web`."""

    service: str
    tokens: TokenStore
    metrics: Metrics


def install(
    app: FastAPI, service: str, tokens: TokenStore, metrics: Metrics | None = None
) -> Standards:
    """Call right after `FastAPI(...)`, before `include_router`: the guard and the documented 422
    reach only routes added afterwards, so a route already there is refused loudly."""
    early = [r.path for r in app.routes if isinstance(r, APIRoute)]
    if early:
        raise RuntimeError(
            f"casework_web.install must run before routes are added; already there: {early}"
        )
    standards = Standards(service, tokens, metrics or Metrics(service))
    app.state.casework_web = standards
    app.router.dependencies.append(Depends(reject_unknown_query))
    app.router.responses = {**error_responses(422), **app.router.responses}
    install_error_handlers(app, service)
    app.add_middleware(RequestContext, metrics=standards.metrics)
    return standards
