"""The demo client retries a request that got a 503 or no answer, resending the POST's
`Idempotency-Key` unchanged, so the service does it once; each logical POST has its own key."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from casework import Casework
from casework_stack.client import Api, Cast, StepFailedError
from casework_web import TokenStore, Who, install
from casework_web.testing import served_in_thread
from eventsourcing.persistence import OperationalError
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient


class Desk:
    def __init__(self) -> None:
        self.failures: list[Exception] = []
        self.keys: list[str | None] = []
        self.done: list[str] = []
        self.slow_first = 0.0
        """Seconds the first call takes after doing its work (its answer comes late)."""


def build(tokens: Path, casework: Casework, desk: Desk) -> FastAPI:
    app = FastAPI()
    install(app, "notes", TokenStore(tokens), casework=lambda _: casework)

    @app.post("/notes", status_code=201)
    def add(body: dict[str, str], who: Who, request: Request) -> dict[str, Any]:
        desk.keys.append(request.headers.get("Idempotency-Key"))
        if desk.failures:
            raise desk.failures.pop(0)
        desk.done.append(body["text"])
        if desk.slow_first:
            wait, desk.slow_first = desk.slow_first, 0.0
            time.sleep(wait)
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


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Api, Desk, Cast, list[tuple[int, str]]]]:
    """The same app behind uvicorn on a loopback port, reached over real HTTP with a short
    read timeout; `seen` holds every answer's status and error code, as the client got them."""
    casework = Casework(f"sqlite:///{tmp_path / 'cases.db'}")
    desk = Desk()
    tokens = tmp_path / "tokens.json"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            build(tokens, casework, desk),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
        )
    )
    seen: list[tuple[int, str]] = []

    def note(response: httpx.Response) -> None:
        response.read()
        code = response.json().get("code", "") if response.status_code >= 400 else ""
        seen.append((response.status_code, code))

    try:
        with served_in_thread(server, "notes-under-test"):
            api = Api({"notes": f"http://127.0.0.1:{port}"}, attempts=30, longest_pause=0.3)
            api.http.close()
            api.http = httpx.Client(timeout=0.3, event_hooks={"response": [note]})
            try:
                yield api, desk, Cast(tokens), seen
            finally:
                api.close()
    finally:
        casework.close()


def test_a_post_with_no_answer_is_sent_again_told_in_flight_then_given_the_first_answer(
    served: tuple[Api, Desk, Cast, list[tuple[int, str]]],
) -> None:
    """The first send is handled slower than the client waits (no answer: it may have
    happened); the retry, same key, finds it in flight (409) and is retried until the first
    answer is there, which it gets: one note."""
    api, desk, cast, seen = served
    desk.slow_first = 1.0
    answer = api.post("notes", "/notes", cast.person("r-0302", "resident"), {"text": "leak"})
    assert answer == {"n": 1}
    assert desk.done == ["leak"]
    assert (409, "request_in_flight") in seen  # the in-flight refusal was retried, not failed
    assert seen[-1] == (201, "")
    assert len(desk.keys) == 1  # the handler ran once; retries were answered for it
    assert api.retries >= 2  # one for the missing answer, at least one for the 409
