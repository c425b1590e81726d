"""The demo client retries a request that got a 503 or no answer, resending the POST's
`Idempotency-Key` unchanged, so the service does it once; each logical POST has its own key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from casework import Casework
from casework_stack.client import Api, Cast, StepFailedError
from casework_web import TokenStore, Who, install
from eventsourcing.persistence import OperationalError
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient


class Desk:
    def __init__(self) -> None:
        self.failures: list[Exception] = []
        self.keys: list[str | None] = []
        self.done: list[str] = []


def build(tokens: Path, casework: Casework, desk: Desk) -> FastAPI:
    app = FastAPI()
    install(app, "notes", TokenStore(tokens), casework=lambda _: casework)

    @app.post("/notes", status_code=201)
    def add(body: dict[str, str], who: Who, request: Request) -> dict[str, Any]:
        desk.keys.append(request.headers.get("Idempotency-Key"))
        if desk.failures:
            raise desk.failures.pop(0)
        desk.done.append(body["text"])
        return {"n": len(desk.done)}

    return app


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Api, Desk, Cast]]:
    casework = Casework(f"sqlite:///{tmp_path / 'cases.db'}")
    desk = Desk()
    tokens = tmp_path / "tokens.json"
    api = Api({"notes": "http://testserver"}, attempts=3, longest_pause=0.05)
    api.http.close()
    api.http = TestClient(build(tokens, casework, desk), raise_server_exceptions=False)
    try:
        yield api, desk, Cast(tokens)
    finally:
        api.close()
        casework.close()


def test_a_post_answered_503_is_retried_with_the_same_key_and_done_once(
    setup: tuple[Api, Desk, Cast],
) -> None:
    api, desk, cast = setup
    me = cast.person("r-0302", "resident")
    desk.failures.append(OperationalError("connection refused"))
    assert api.post("notes", "/notes", me, {"text": "lift stuck"}) == {"n": 1}
    assert api.retries == 1
    assert len(desk.keys) == 2
    assert desk.keys[0] == desk.keys[1] is not None
    assert api.post("notes", "/notes", me, {"text": "lift stuck"}) == {"n": 2}
    assert desk.keys[2] != desk.keys[0]  # a new logical request, a new key
    assert desk.done == ["lift stuck", "lift stuck"]


def test_a_store_down_for_every_try_fails_the_step_naming_the_503(
    setup: tuple[Api, Desk, Cast],
) -> None:
    api, desk, cast = setup
    desk.failures.extend(OperationalError("connection refused") for _ in range(3))
    with pytest.raises(StepFailedError, match="503 store_unavailable"):
        api.post("notes", "/notes", cast.person("r-0302", "resident"), {"text": "x"})
    assert len(desk.keys) == 3
    assert len(set(desk.keys)) == 1
    assert desk.done == []
