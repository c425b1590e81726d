"""Sending a schemathesis case to a service's TestClient, for the services' fuzz tests.

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


def _wire(value: Any) -> Any:
    if isinstance(value, str) and not value.isascii():
        return value.encode("utf-8")
    return value
