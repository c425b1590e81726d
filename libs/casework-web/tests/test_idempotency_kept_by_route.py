"""`Idempotency-Key` on a route that keeps its own answer (`kept_by_routes`, `RouteKey`), on
both stores: the answer is committed with the route's effect, so the store never holds one
without the other; a retry gets the first answer, another body under the key a 422, a retry
while the first runs in this process a 409, and two replicas racing one key one effect."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from casework import Casework
from casework.idempotency import records_for
from casework.testing.postgres import STORE_PARAMS, empty_store_url
from casework.topics import is_case_topic
from casework_web import TokenStore, Who, install
from casework_web.idempotency import owner, route_key
from eventsourcing.persistence import IntegrityError
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel

FLAT = "jiayu-xx/wanxin-intl/b12/0302"


class Note(BaseModel):
    text: str


@dataclass
class Desk:
    """How the route behaves, and a gate a test may hold a request at."""

    keeps: bool = True
    """False: the route answers without keeping (the middleware must keep it)."""
    looks_first: bool = False
    """Look the key up before the work (a route that does not keep must, to be retried)."""
    refuse: bool = False
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    ran: int = 0

    def __post_init__(self) -> None:
        self.release.set()


def build(casework: Casework, store: str, tokens: Path, desk: Desk) -> FastAPI:
    app = FastAPI(title="notes")
    install(
        app,
        "notes",
        TokenStore(tokens),
        store=store,
        casework=lambda a: casework,
        kept_by_routes=frozenset({"/notes"}),
    )

    @app.post("/notes", status_code=201)
    def add(note: Note, who: Who, request: Request) -> Response:
        desk.ran += 1
        desk.entered.set()
        assert desk.release.wait(30)
        if desk.refuse:
            return JSONResponse({"code": "invalid", "message": "no"}, status_code=422)
        key = route_key(request)
        if key is not None and desk.looks_first:
            key.look()
        answers: list[Response] = []
        try:
            with casework.together() as unit:
                case_id = casework.report_repair(who.actor, FLAT, note.text, "plumbing")
                answers.append(JSONResponse({"case_id": str(case_id)}, status_code=201))
                if key is not None and desk.keeps:
                    unit.also(key.keep(answers[-1]))
        except IntegrityError:
            assert key is not None
            key.look()  # the key's record met: `KeyUsed`, answered by the middleware
            raise
        if key is not None and desk.keeps:
            key.kept()
        return answers[-1]

    return app


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return empty_store_url(request.param, request, tmp_path)


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
    casework: Casework

    def post(self, text: str, key: str | None = None) -> Any:
        sent = dict(self.headers)
        if key is not None:
            sent["Idempotency-Key"] = key
        return self.client.post("/notes", json={"text": text}, headers=sent)

    def cases(self) -> int:
        rows = self.casework.recorder.select_notifications(start=None, limit=100_000)
        return len({n.originator_id for n in rows if is_case_topic(n.topic)})


def running(casework: Casework, store: str, tmp_path: Path) -> Notes:
    desk = Desk()
    tokens = tmp_path / "tokens.json"
    client = TestClient(build(casework, store, tokens, desk), raise_server_exceptions=False)
    token = TokenStore(tokens).create("r-0302", "resident", None)
    return Notes(client, desk, {"Authorization": f"Bearer {token}"}, casework)


@pytest.fixture
def notes(casework: Casework, store_url: str, tmp_path: Path) -> Notes:
    return running(casework, store_url, tmp_path)


def test_a_retry_gets_the_first_answer_and_the_store_holds_one_effect(notes: Notes) -> None:
    first = notes.post("tap drips", key="k-1")
    assert first.status_code == 201, first.text
    assert notes.cases() == 1
    again = notes.post("tap drips", key="k-1")
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert notes.cases() == 1  # the retry's work met the kept record: nothing of it stored


def test_another_body_under_the_key_is_a_422_and_stores_nothing(notes: Notes) -> None:
    notes.post("tap drips", key="k-2")
    other = notes.post("door sticks", key="k-2")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert notes.cases() == 1


def test_a_retry_while_the_first_runs_in_this_process_is_a_409(notes: Notes) -> None:
    notes.desk.release.clear()
    notes.desk.entered.clear()
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(notes.post, "tap drips", "k-3")
        assert notes.desk.entered.wait(30)
        second = notes.post("tap drips", key="k-3")
        notes.desk.release.set()
        assert first.result().status_code == 201
    assert second.status_code == 409
    assert second.headers["retry-after"] == "1"
    assert notes.cases() == 1


def test_two_replicas_racing_one_key_store_one_effect_and_give_one_answer(
    casework: Casework, store_url: str, tmp_path: Path
) -> None:
    """Two apps on one store (no in-process 409 between them): both do the work, one commits,
    the other meets its record and answers with it."""
    one = running(casework, store_url, tmp_path / "one")
    two = running(casework, store_url, tmp_path / "two")
    token = TokenStore(tmp_path / "one" / "tokens.json").create("r-1", "resident", None)
    two.headers = one.headers = {"Authorization": f"Bearer {token}"}
    TokenStore(tmp_path / "two" / "tokens.json").path.write_text(
        (tmp_path / "one" / "tokens.json").read_text()
    )
    one.desk.release.clear()
    two.desk.release.clear()
    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(one.post, "tap drips", "k-4")
        b = pool.submit(two.post, "tap drips", "k-4")
        assert one.desk.entered.wait(30)
        assert two.desk.entered.wait(30)
        one.desk.release.set()
        two.desk.release.set()
        answers = [a.result(), b.result()]
    assert [r.status_code for r in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert sorted(r.headers.get("idempotent-replayed", "") for r in answers) == ["", "true"]
    assert one.cases() == 1


def test_an_answer_the_route_did_not_keep_is_kept_by_the_middleware(notes: Notes) -> None:
    """A route's slip (an answer below 400 not kept with its effect) is caught: the middleware
    claims the key and keeps the answer after it, as for any other route, so a retry that looks
    the key up is answered from it."""
    notes.desk.keeps, notes.desk.looks_first = False, True
    first = notes.post("tap drips", key="k-5")
    assert first.status_code == 201
    claim = records_for(notes.casework).look(owner("r-0302", "/notes"), "k-5", "-")
    assert claim is not None
    assert claim.outcome == "mismatch"  # kept (under its own fingerprint)
    again = notes.post("tap drips", key="k-5")
    assert (again.json(), again.headers["idempotent-replayed"]) == (first.json(), "true")
    assert notes.cases() == 1


def test_a_refused_request_keeps_nothing_and_its_retry_runs_afresh(notes: Notes) -> None:
    notes.desk.refuse = True
    assert notes.post("tap drips", key="k-6").status_code == 422
    notes.desk.refuse = False
    again = notes.post("tap drips", key="k-6")
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert notes.cases() == 1
