"""`Idempotency-Key` on a small real app whose store is a real Casework store (SQLite and
PostgreSQL): a retry gets the first answer and the route runs once; a key reused for another
body is a 422; a retry while the first is in flight is a 409; failures are not kept."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from casework import Casework, ValidationError
from casework.domain.actors import Actor, Role
from casework.idempotency import records_for
from casework.privacy.people import erase
from casework.testing.postgres import STORE_PARAMS, empty_store_url
from casework.testing.postgres_outage import StoppablePostgres, stoppable_postgres  # noqa: F401
from casework_web import Principal, TokenStore, Who, install
from eventsourcing.persistence import OperationalError
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel

DPO = Actor("dpo-chen", Role.DATA_PROTECTION_OFFICER)


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return empty_store_url(request.param, request, tmp_path)


class Note(BaseModel):
    text: str


@dataclass
class Desk:
    """What the routes did, and a gate a test may hold a request at."""

    done: list[str] = field(default_factory=list)
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    failures: list[Exception] = field(default_factory=list)
    after: list[Callable[[], None]] = field(default_factory=list)
    """Run once the route's effect is done, before it answers (e.g. stop the store)."""

    def __post_init__(self) -> None:
        self.release.set()


def build(store: str, tokens: Path, desk: Desk) -> FastAPI:
    app = FastAPI(title="notes")
    install(
        app,
        "notes",
        TokenStore(tokens),
        store=store,
        casework=lambda a: getattr(a.state, "casework", None),
    )

    @app.post("/notes", status_code=201)
    def add(note: Note, who: Who, request: Request, response: Response) -> dict[str, Any]:
        desk.entered.set()
        assert desk.release.wait(30)
        if desk.failures:
            raise desk.failures.pop(0)
        request.app.state.casework.recorder.max_notification_id()  # the store must answer
        desk.done.append(note.text)
        while desk.after:
            desk.after.pop(0)()
        response.headers["Location"] = f"/notes/{len(desk.done)}"
        return {"n": len(desk.done), "by": who.actor.id, "text": note.text}

    return app


@pytest.fixture
def casework(store_url: str) -> Iterator[Casework]:
    application = Casework(store_url)
    yield application
    application.close()


@dataclass
class Notes:
    client: TestClient
    desk: Desk
    headers: dict[str, str]

    def post(self, text: str, key: str | None = None, **headers: str) -> Any:
        sent = {**self.headers, **headers}
        if key is not None:
            sent["Idempotency-Key"] = key
        return self.client.post("/notes", json={"text": text}, headers=sent)


def running(casework: Casework, store: str, tmp_path: Path, actor: str = "r-0302") -> Notes:
    desk = Desk()
    tokens = tmp_path / "tokens.json"
    app = build(store, tokens, desk)
    app.state.casework = casework
    client = TestClient(app, raise_server_exceptions=False)
    token = TokenStore(tokens).create(actor, "resident", None)
    return Notes(client, desk, {"Authorization": f"Bearer {token}"})


@pytest.fixture
def notes(casework: Casework, store_url: str, tmp_path: Path) -> Notes:
    return running(casework, store_url, tmp_path)


def test_a_retry_with_the_same_key_gets_the_first_answer_and_the_route_runs_once(
    notes: Notes,
) -> None:
    first = notes.post("lift stuck", key="7b0c8a52-0d7e-4f0e-9a51-2f1d6f0e8c11")
    again = notes.post("lift stuck", key="7b0c8a52-0d7e-4f0e-9a51-2f1d6f0e8c11")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() == {"n": 1, "by": "r-0302", "text": "lift stuck"}
    assert again.headers["location"] == first.headers["location"] == "/notes/1"
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["x-request-id"] != first.headers["x-request-id"]  # a new request
    assert notes.desk.done == ["lift stuck"]
    # The draft's quoted form names the same key; without a key every POST is new.
    assert notes.post("lift stuck", key='"7b0c8a52-0d7e-4f0e-9a51-2f1d6f0e8c11"').json()["n"] == 1
    assert notes.post("lift stuck").json()["n"] == 2


def test_the_same_key_with_another_body_is_a_422_that_says_so(notes: Notes) -> None:
    notes.post("lift stuck", key="k-1")
    refused = notes.post("lift fixed", key="k-1")
    assert refused.status_code == 422
    assert refused.json()["code"] == "idempotency_key_reused"
    assert "different request" in refused.json()["message"]
    assert notes.desk.done == ["lift stuck"]


def test_keys_are_the_callers_own(
    casework: Casework, store_url: str, tmp_path: Path, notes: Notes
) -> None:
    other = running(casework, store_url, tmp_path / "other", actor="r-0402")
    notes.post("lift stuck", key="k-1")
    theirs = other.post("lift stuck", key="k-1")
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers


def test_a_retry_while_the_first_is_in_flight_is_a_409_with_retry_after(notes: Notes) -> None:
    notes.desk.release.clear()
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(notes.post, "lift stuck", "k-1")
        assert notes.desk.entered.wait(30)
        busy = notes.post("lift stuck", key="k-1")
        notes.desk.release.set()
        assert first.result(30).status_code == 201
    assert busy.status_code == 409
    assert busy.json()["code"] == "request_in_flight"
    assert busy.headers["retry-after"] == "1"
    assert notes.post("lift stuck", key="k-1").headers["idempotent-replayed"] == "true"
    assert notes.desk.done == ["lift stuck"]


@pytest.mark.parametrize(
    ("failure", "status"),
    [(ValidationError("text is empty"), 422), (OperationalError("connection refused"), 503)],
)
def test_a_refused_or_failed_request_is_not_kept_so_its_retry_runs_afresh(
    notes: Notes, failure: Exception, status: int
) -> None:
    notes.desk.failures.append(failure)
    failed = notes.post("lift stuck", key="k-1")
    assert failed.status_code == status
    retried = notes.post("lift stuck", key="k-1")
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert notes.desk.done == ["lift stuck"]


def test_a_malformed_key_is_a_400_and_an_unauthenticated_post_still_a_401(notes: Notes) -> None:
    for key in ("", "has space", "x" * 256, 'a"b'):
        response = notes.post("lift stuck", key=key)
        assert response.status_code == 400, key
        assert response.json()["code"] == "invalid_idempotency_key"
    anonymous = notes.client.post("/notes", json={"text": "x"}, headers={"Idempotency-Key": "k"})
    assert anonymous.status_code == 401
    assert notes.desk.done == []


def test_the_header_is_documented_on_every_post(notes: Notes) -> None:
    operation = notes.client.get("/openapi.json").json()["paths"]["/notes"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]
    assert {"400", "409", "422"} <= set(operation["responses"])


@pytest.mark.postgres
def test_a_claim_the_store_dropped_mid_request_is_freed_once_the_store_is_back(
    stoppable_postgres: StoppablePostgres,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The request claimed its key, then PostgreSQL went away: 503, and the key could not be
    freed then. Its retry once PostgreSQL is back is handled, not told "in flight" for a minute."""
    pg = stoppable_postgres
    pg.server.create_database("notes")
    url = pg.server.url("notes", timeout=1)
    casework = Casework(url)
    try:
        notes = running(casework, url, tmp_path)
        notes.desk.release.clear()
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(notes.post, "lift stuck", "k-1")
            assert notes.desk.entered.wait(30)
            pg.stop()
            notes.desk.release.set()
            assert first.result(30).status_code == 503
        pg.start()
        back = time.monotonic()
        while (retried := notes.post("lift stuck", key="k-1")).status_code == 503:
            assert time.monotonic() - back < 10, "the store did not come back"
            time.sleep(0.2)
        assert retried.status_code == 201, retried.text
        assert notes.desk.done == ["lift stuck"]
    finally:
        casework.close()


@pytest.mark.postgres
def test_an_answer_the_store_went_down_before_keeping_is_kept_once_it_is_back(
    stoppable_postgres: StoppablePostgres,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The effect happened, then PostgreSQL went away before the answer was kept: the client
    still gets it, and a retry once PostgreSQL is back is replayed, not done again."""
    pg = stoppable_postgres
    pg.server.create_database("notes")
    url = pg.server.url("notes", timeout=1)
    casework = Casework(url)
    try:
        notes = running(casework, url, tmp_path)
        notes.desk.after.append(pg.stop)
        first = notes.post("lift stuck", key="k-1")
        assert first.status_code == 201
        assert first.json()["n"] == 1
        pg.start()
        back = time.monotonic()
        while (retried := notes.post("lift stuck", key="k-1")).status_code == 503:
            assert time.monotonic() - back < 10, "the store did not come back"
            time.sleep(0.2)
        assert (retried.status_code, retried.json()) == (201, first.json())
        assert retried.headers["idempotent-replayed"] == "true"
        assert notes.desk.done == ["lift stuck"]
    finally:
        casework.close()


def test_a_kept_answer_holds_no_plaintext_and_after_an_erasure_replays_without_its_body(
    notes: Notes, casework: Casework
) -> None:
    """The answer may hold personal values: the store keeps it sealed, and once anyone is
    erased a replay gives the status and headers only (docs/adr/011-personal-data.md)."""
    text = "lift stuck in flat 12B, call +86 138 0013 8000"
    first = notes.post(text, key="k-1")
    table = records_for(casework).table
    with casework.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
        cursor.execute(f"SELECT * FROM {table}")
        rows = [dict(row) for row in cursor.fetchall()]
    kept = b"\0".join(  # every byte as stored (PostgreSQL's bytea comes as a memoryview)
        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
        for row in rows
        for v in row.values()
    )
    assert b"/notes/1" in kept  # the row is there
    for secret in (b"12B", b"0013", b"lift"):
        assert secret not in kept
    again = notes.post(text, key="k-1")
    assert (again.status_code, again.json()) == (201, first.json())
    erase(casework, casework.privacy, "r-0302", DPO, "asked")
    after = notes.post(text, key="k-1")
    assert (after.status_code, after.content) == (201, b"")
    assert after.headers["location"] == "/notes/1"
    assert after.headers["idempotent-replayed"] == "true"
    assert notes.desk.done == [text]


class CountingTokens(TokenStore):
    """A real token store that counts how often a token is verified."""

    verified = 0

    def verify(self, token: str) -> Principal:
        self.verified += 1
        return super().verify(token)


def test_a_keyed_request_verifies_its_token_once_and_a_refused_one_still_says_why(
    casework: Casework, store_url: str, tmp_path: Path
) -> None:
    notes = running(casework, store_url, tmp_path)
    app = notes.client.app
    tokens = CountingTokens(tmp_path / "tokens.json")
    app.state.casework_web = dataclasses.replace(app.state.casework_web, tokens=tokens)  # type: ignore[attr-defined]
    assert notes.post("lift stuck", key="k-once").status_code == 201
    assert tokens.verified == 1  # the middleware's check, handed to `principal`
    assert notes.post("lift stuck").status_code == 201  # no key: the dependency alone
    assert tokens.verified == 2
    refused = notes.post("lift stuck", key="k-refused", Authorization="Bearer not-a-token")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert "not known" in refused.text  # `principal` verified it again, to say why
    assert notes.desk.done == ["lift stuck", "lift stuck"]


def test_a_token_revoked_while_a_keyed_body_comes_in_is_refused(
    casework: Casework, store_url: str, tmp_path: Path
) -> None:
    """The middleware verifies the token once the body has arrived, not before: a token revoked
    during a slow upload is a 401, the route never runs and nothing is kept."""
    notes = running(casework, store_url, tmp_path)
    token = notes.headers["Authorization"].removeprefix("Bearer ")
    parts = [b'{"text": ', b'"lift stuck"}']
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if len(parts) == 1:
            TokenStore(tmp_path / "tokens.json").revoke("r-0302")  # the upload still coming in
        if parts:
            return {"type": "http.request", "body": parts.pop(0), "more_body": len(parts) > 0}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/notes",
        "raw_path": b"/notes",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"idempotency-key", b"k-slow"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(notes.client.app(scope, receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 401
    assert notes.desk.done == []
    again = notes.post("lift stuck", key="k-slow")  # the token is gone for good
    assert again.status_code == 401
