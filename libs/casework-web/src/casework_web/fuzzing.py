"""Sending a schemathesis case to a service's TestClient, for the services' fuzz tests, and the
check that a body the schema allows is never refused for a rule the schema does not state.

Imported by tests only (schemathesis is a development dependency).
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response
from schemathesis.core.parameters import ParameterLocation


def send(case: Any, client: TestClient, headers: dict[str, str]) -> Response:
    """Send `case` with a real token, unless it deliberately breaks the headers (drops or mangles
    Authorization): then it goes as generated and must be refused, not rescued by our token."""
    mangled = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
    kwargs = case.as_transport_kwargs(
        base_url="http://testserver", headers=None if mangled else headers
    )
    request = {k: v for k, v in kwargs.items() if k in ("method", "url", "headers", "params")}
    if request.get("headers"):
        # A generated header value may hold any character (a mangled Idempotency-Key); the
        # client library would refuse to send it, a real client sends its bytes: send them.
        request["headers"] = {k: _wire(v) for k, v in request["headers"].items()}
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        request["content"] = kwargs["data"]
    return client.request(**request)


def generated_valid(case: Any) -> bool:
    """Whether schemathesis generated every part of `case` to match the schema (positive)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return False
    return not any(meta.is_negative_at(location) for location in ParameterLocation)


def unstated_rule(case: Any, response: Response) -> str | None:
    """Why `response` refuses a request the schema allows by a rule the schema does not state,
    or None.

    A request generated to match the OpenAPI document may still be refused by the domain (a
    meeting that does not exist, a time outside its window: rules relative to the case or to
    now, which each field's description states in words), with the domain's own code
    (`invalid`, `not_found`, `invalid_transition`). What it must never meet is the request
    validation's `invalid_request`: every rule checked there is one the document can state
    (pattern, length, bounds, format), so a client generated from it would never send it.
    The one exception is a rule between fields, checked on the object that holds them (a
    department only for a county representative; 'from' before 'to'): JSON Schema cannot say it
    plainly, so the object's description says it in words.
    """
    if not generated_valid(case) or response.status_code != 422:
        return None
    body = response.json()
    if body.get("code") != "invalid_request":
        return None
    if all(_relational(d.get("where", "")) for d in body.get("details", [])):
        return None
    return (
        f"{case.method} {case.path} with a request its schema allows was refused by a rule "
        f"the schema does not state: {body.get('message')}"
    )


def _relational(where: str) -> bool:
    """A problem found on a whole object (a list item, the body, the query), where the rules
    between its fields are checked, rather than on one field."""
    last = where.rsplit(".", 1)[-1]
    return last.isdigit() or where in ("body", "query")


def _wire(value: Any) -> Any:
    if isinstance(value, str) and not value.isascii():
        return value.encode("utf-8")
    return value
