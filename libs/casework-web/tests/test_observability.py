"""Request ids, JSON access logs, per-app metrics and the operations routes."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from casework_web import JsonFormatter, TokenStore
from casework_web.observability import request_id_var
from fastapi.testclient import TestClient


def test_a_sane_request_id_is_echoed_and_anything_else_replaced_by_a_new_one(
    client: TestClient,
) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    for bad in ("has spaces", "x" * 65, ""):
        made = client.get("/healthz", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert made != bad
        assert len(made) == 32
    first = client.get("/healthz").headers["x-request-id"]
    assert first != client.get("/healthz").headers["x-request-id"]


def test_the_access_log_line_names_the_request_the_actor_and_the_case(
    client: TestClient, tokens_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token = TokenStore(tokens_path).create("r-0302", "resident")
    caplog.set_level(logging.INFO, logger="things.access")
    client.post("/things", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "r-9"})
    [line] = [r for r in caplog.records if r.name == "things.access"]
    entry = json.loads(JsonFormatter().format(line))
    assert entry["message"] == "POST /things 200"
    assert entry["request_id"] == "r-9"
    assert entry["actor_id"] == "r-0302"
    assert entry["case_id"] == "thing-1"
    assert entry["route"] == "/things"
    assert entry["status"] == 200


def test_the_formatter_takes_the_request_id_from_the_context_outside_the_middleware() -> None:
    token = request_id_var.set("ctx-1")
    try:
        record = logging.makeLogRecord({"msg": "case %s opened", "args": ("c-1",)})
        entry = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert entry["request_id"] == "ctx-1"
    assert entry["message"] == "case c-1 opened"


def test_metrics_count_requests_by_route_template_per_app(client: TestClient) -> None:
    client.get("/things/count", params={"n": 1})
    client.get("/things/count", params={"n": "x"})
    text = client.get("/metrics").text
    assert 'things_requests_total{method="GET",route="/things/count",status="200"} 1.0' in text
    assert 'things_requests_total{method="GET",route="/things/count",status="422"} 1.0' in text
    assert "things_request_seconds_bucket" in text


def test_readiness_is_a_503_with_the_reason_when_a_dependency_is_down(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = {"ready": True, "store": "ok", "nats": "ok", "down": []}
    assert client.get("/readyz").json() == ready
    client.app.state.ready = False  # type: ignore[attr-defined]
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "5"
    assert down.json()["store"] == "unreachable: OperationalError (the case store)"
    assert down.json()["down"] == ["store"]
