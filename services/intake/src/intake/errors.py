"""Every error is a JSON body `{"code", "message"}` a person can act on; never a bare 500.

The library's errors map to statuses by kind; a store that cannot be reached is a 503 with a
hint to retry; anything unexpected is logged with the request id and answered as a 500 body that
names that id, so it can be found in the logs.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from casework import (
    CaseNotFoundError,
    CaseworkError,
    ConcurrencyConflictError,
    InvalidTransitionError,
    NotPermittedError,
    ValidationError,
)
from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from intake.schemas import ErrorBody

log = logging.getLogger("intake.errors")

STATUS_OF: list[tuple[type[CaseworkError], int, str]] = [
    (ValidationError, 422, "invalid"),
    (NotPermittedError, 403, "forbidden"),
    (CaseNotFoundError, 404, "not_found"),
    (InvalidTransitionError, 409, "invalid_transition"),
    (ConcurrencyConflictError, 409, "conflict"),
]

_HTTP_CODES = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "bad_method"}


def error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body = ErrorBody(code=code, message=message, **extra).model_dump(exclude_none=True)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method the API documents at this path (Starlette's own `Allow` names only one)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {m.upper() for m in operations}
    return sorted(methods) or ["GET"]


def install(app: FastAPI) -> None:
    @app.exception_handler(CaseworkError)
    async def casework_error(request: Request, exc: CaseworkError) -> JSONResponse:
        for kind, status, code in STATUS_OF:
            if isinstance(exc, kind):
                return error(status, code, str(exc))
        return error(422, "invalid", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        first = details[0] if details else {"where": "request", "problem": "invalid"}
        more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
        return error(
            422, "invalid_request", f"{first['where']}: {first['problem']}{more}", details=details
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        if exc.status_code == 405:
            allowed = _allowed_methods(request)
            response = error(405, code, f"{request.url.path} answers {' and '.join(allowed)} only")
            response.headers["Allow"] = ", ".join(allowed)
            return response
        message = str(exc.detail)
        if exc.status_code == 400:
            code = "invalid_json"
            message = "the body is not valid JSON; send UTF-8 JSON as application/json"
        response = error(exc.status_code, code, message)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(PersistenceError)
    async def store_down(request: Request, exc: PersistenceError) -> JSONResponse:
        log.error("store error: %s", exc, exc_info=exc)
        response = error(503, "store_unavailable", "the case store cannot be reached; try again")
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", "-")
        log.error("unexpected error", exc_info=exc)
        return error(
            500,
            "internal",
            f"something went wrong on our side; report request id {request_id}",
        )
