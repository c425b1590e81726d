"""Every error is a JSON body `{"code", "message"}` a person can act on; never a bare 500.

The library's errors map to statuses by kind; a store that cannot be reached is a 503 with a
hint to retry; a case file whose stored events do not verify or cannot be read (altered in the
store) is a 409 `tampered` naming the operator's checks, since no retry of the caller's fixes
it and the server refuses to vouch for it; anything unexpected is logged with the request id
and answered as a 500 body that names that id, so it can be found in the logs. Every Casework
service answers the same way, so a client (and an on-call engineer) learns one error format.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Mapping
from typing import Any

from casework import (
    CaseExistsError,
    CaseNotFoundError,
    CaseworkError,
    ConcurrencyConflictError,
    InvalidTransitionError,
    NotPermittedError,
    TamperedError,
    ValidationError,
)
from eventsourcing.persistence import MapperDeserialisationError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic import ValidationError as SettingsError
from starlette.exceptions import HTTPException

from casework_web.described import described


class ErrorBody(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(description="what went wrong and what to do about it")
    details: list[dict[str, Any]] | None = None


STATUS_OF: list[tuple[type[CaseworkError], int, str]] = [
    (TamperedError, 409, "tampered"),
    (ValidationError, 422, "invalid"),
    (NotPermittedError, 403, "forbidden"),
    (CaseNotFoundError, 404, "not_found"),
    (InvalidTransitionError, 409, "invalid_transition"),
    (ConcurrencyConflictError, 409, "conflict"),
    (CaseExistsError, 409, "conflict"),
]


def tampered_advice(case_id: str | None) -> str:
    """What a caller is told to do about a `tampered` answer: a server-side integrity failure
    that no retry of theirs fixes (409 rather than 500: the server did not fail, it refuses to
    vouch for the case file), so they hand the operator the commands that say what changed."""
    return (
        "the case store's copy of this case file was altered or damaged; nothing was changed "
        f"by this request. Tell the operator, who runs `casework verify {case_id or 'CASE_ID'}` "
        "(names the first altered event) and `casework verify --checkpoint latest` (checks "
        "every case against the notary's signed log)"
    )


_UNREADABLE = re.compile(r"originator_id '([^']+)' and originator_version (\d+)")

_HTTP_CODES = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "bad_method"}

DESCRIPTIONS: dict[int, str] = {
    400: "the body is not valid JSON",
    401: "no valid bearer token",
    403: "refused, with the reason",
    404: "no such case among those you can see",
    409: "the case is not in a state for this, or kept changing; or (code `tampered`) its "
    "stored events were altered in the store, and the message names the check to run",
    422: "the request is malformed; the message says where",
    503: "the case store cannot be reached; retry after the Retry-After header's seconds",
}


def error_responses(
    *statuses: int, descriptions: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these statuses, all `ErrorBody`; `descriptions` overrides ours."""
    words = {**DESCRIPTIONS, **(descriptions or {})}
    return {s: {"model": ErrorBody, "description": words.get(s, "")} for s in statuses}


def error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body = ErrorBody(code=code, message=message, **extra).model_dump(exclude_none=True)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


RETRY_AFTER_SECONDS = 5
"""What a 503 asks a client to wait before retrying (the store's outages seen last longer)."""


def store_unavailable(store: str) -> JSONResponse:
    """503 + Retry-After, naming the store that cannot be reached (never its password)."""
    response = error(
        503,
        "store_unavailable",
        f"the case store ({store}) cannot be reached; try again in {RETRY_AFTER_SECONDS} "
        f"seconds (a retried POST with the same Idempotency-Key is never done twice)",
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


READ_MODEL_BUSY = {5, 6, 10, 13, 14}
"""SQLite's primary result codes for a file that cannot be used now (BUSY, LOCKED, IOERR, FULL,
CANTOPEN), as opposed to a bug such as a missing table."""


def read_model_unavailable(error: sqlite3.OperationalError) -> bool:
    """True when a read model's own SQLite error means "try again later", not a bug."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in READ_MODEL_BUSY
    text = str(error).lower()
    return any(w in text for w in ("locked", "disk", "unable to open", "busy"))


def _problem(request: Request, error: Mapping[str, Any]) -> str:
    """pydantic's words for one error, save for a pattern: a regex is no help to a person, so
    the field's description in the OpenAPI document is given instead (`described`)."""
    if error.get("type") != "string_pattern_mismatch":
        return str(error.get("msg", ""))
    description = described(request, error.get("loc", ()))
    if description:
        return f"is not in the accepted form: {description}"
    return "is not in the accepted form (the OpenAPI document at /openapi.json gives its pattern)"


def _allowed_methods(request: Request) -> list[str]:
    """Every method the API documents at this path (Starlette's own `Allow` names only one)."""
    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, request.url.path):
            methods |= {m.upper() for m in operations}
    return sorted(methods) or ["GET"]


def install_error_handlers(app: FastAPI, service: str) -> None:
    """Answer every failure as an `ErrorBody`; log what is the service's fault under `service`."""
    log = logging.getLogger(f"{service}.errors")

    @app.exception_handler(CaseworkError)
    async def casework_error(request: Request, exc: CaseworkError) -> JSONResponse:
        for kind, status, code in STATUS_OF:
            if isinstance(exc, kind):
                if kind is TamperedError:
                    log.error("case file does not verify: %s", exc, extra={"error": "tampered"})
                    advice = tampered_advice(request.path_params.get("case_id"))
                    return error(status, code, f"{exc}; {advice}")
                return error(status, code, str(exc))
        return error(422, "invalid", str(exc))

    @app.exception_handler(MapperDeserialisationError)
    async def unreadable_event(request: Request, exc: MapperDeserialisationError) -> JSONResponse:
        # Stored bytes the store's mapper cannot decode (cipher, compressor or JSON): an event
        # altered in the store, or the store's cipher settings changed. Not the caller's fault
        # and not a bug to retry: named, logged for the operator, answered as `tampered`.
        log.error("stored event cannot be read: %s", exc, extra={"error": "tampered"})
        found = _UNREADABLE.search(str(exc))
        case_id = found[1] if found else request.path_params.get("case_id")
        where = f"case {found[1]} event {found[2]}" if found else "an event of this case"
        return error(
            409,
            "tampered",
            f"{where}: the stored state cannot be decoded (altered in the store, or the "
            f"store's CIPHER_KEY or COMPRESSOR_TOPIC setting changed); "
            f"{tampered_advice(case_id)}",
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            # FastAPI reports a body that does not parse as a validation error; it is not one
            # (nothing was there to validate): 400, as the README and OpenAPI documents say.
            return error(
                400,
                "invalid_json",
                "the body is not valid JSON; send UTF-8 JSON as application/json",
            )
        details = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": _problem(request, e)}
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
        # One line, no traceback: during an outage every request ends here, and the cause is
        # the store, not this code (`/readyz` says the same with detail).
        log.warning("store unreachable: %s", exc, extra={"error": type(exc).__name__})
        standards = getattr(request.app.state, "casework_web", None)
        return store_unavailable(getattr(standards, "store", None) or "the case store")

    @app.exception_handler(sqlite3.OperationalError)
    async def read_model_down(request: Request, exc: sqlite3.OperationalError) -> JSONResponse:
        # A read model's own file, locked past CASEWORK_SQLITE_LOCK_TIMEOUT or on a full disk:
        # nothing this request can do, so one line and 503 + Retry-After, as for the store.
        if not read_model_unavailable(exc):
            return await unexpected(request, exc)
        log.warning("read model unavailable: %s", exc, extra={"error": type(exc).__name__})
        response = error(
            503,
            "read_model_unavailable",
            f"this service's read model is busy or out of space ({exc}); try again in "
            f"{RETRY_AFTER_SECONDS} seconds (a retried POST with the same Idempotency-Key is "
            f"never done twice)",
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette answers this one outside the request-context middleware, which has already
        # reset its context: name the request id explicitly, in the log and on the answer.
        request_id = getattr(request.state, "request_id", "-")
        log.error("unexpected error", exc_info=exc, extra={"request_id": request_id})
        response = error(
            500,
            "internal",
            f"something went wrong on our side; report request id {request_id}",
        )
        response.headers["X-Request-ID"] = request_id
        return response


def settings_problem(error: SettingsError) -> str:
    """A service's settings refused at start, as one line a person can act on: which variable
    and why, without pydantic's traceback and links (the console scripts print it and exit 2)."""
    problems = []
    for found in error.errors(include_url=False):
        where = ".".join(str(part) for part in found.get("loc", ())) or "settings"
        message = str(found.get("msg", "")).removeprefix("Value error, ")
        problems.append(message if message.startswith(where) else f"{where}: {message}")
    return "; ".join(problems)
