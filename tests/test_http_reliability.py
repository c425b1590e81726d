"""The three services over a real store, as a client that retries sees them (issue 10, 2-3):

- every POST documents `Idempotency-Key`, and a retry with the key gets the first answer with no
  second effect, on any replica sharing the PostgreSQL store;
- while PostgreSQL is down every service answers 503 with `Retry-After` within a bound (not the
  minutes it used to hang), `/readyz` names the store, and once PostgreSQL is back a retried
  POST is done once.

One table of the three services, one POST each whose effect shows in the store's log.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import dispatch.api
import dispatch.testing
import intake.api.app
import intake.testing
import mediation.api
import mediation.testing
import pytest
from casework import Casework
from casework.clock import FakeClock
from casework.outages import POOL_RECONNECT_TIMEOUT
from casework.testing.postgres_outage import StoppablePostgres, stoppable_postgres  # noqa: F401
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@dataclass
class Running:
    """A service under a TestClient: who posts, where, what body `n` is, and its store."""

    client: TestClient
    headers: dict[str, str]
    path: str
    body: Callable[[int], dict[str, Any]]
    casework: Casework
    reads_store: str | None = None
    """A GET that must read the store (None: the service's reads come from its own models)."""

    def post(self, n: int, key: str | None = None) -> Any:
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.client.post(self.path, json=self.body(n), headers=headers)

    def effects(self) -> int:
        """How many events the store holds."""
        return self.casework.recorder.max_notification_id() or 0


@contextlib.contextmanager
def intake_running(tmp_path: Path, store: str) -> Iterator[Running]:
    config = intake.testing.make_settings(tmp_path, store)
    clock = FakeClock(intake.testing.T0)
    with TestClient(intake.api.app.create_app(config, clock=clock)) as client:
        desk = intake.testing.Desk(client, clock, config)
        running = Running(
            client,
            desk.resident(),
            "/cases",
            lambda n: {
                "kind": "repair",
                "address": intake.testing.FLAT,
                "description": f"the light on floor {n} is dead",
            },
            client.app.state.runtime.intake.app,  # type: ignore[attr-defined]
        )
        case = running.post(0).json()["case_id"]
        running.reads_store = f"/cases/{case}/history"
        yield running


@contextlib.contextmanager
def dispatch_running(tmp_path: Path, store: str) -> Iterator[Running]:
    config = dispatch.testing.make_settings(tmp_path, store)
    clock = FakeClock(dispatch.testing.T0)
    app = dispatch.api.create_app(config, clock, background=False)
    with TestClient(app) as client:
        desk = dispatch.testing.Desk(client, clock, config)
        yield Running(
            client,
            desk.auth(dispatch.testing.MANAGER),
            "/roster/members",
            lambda n: {
                "actor_id": f"vol-{n}",
                "role": "volunteer",
                "skills": ["plumbing"],
                "places": [dispatch.testing.COMPOUND],
            },
            desk.app.casework,
        )


@contextlib.contextmanager
def mediation_running(tmp_path: Path, store: str) -> Iterator[Running]:
    config = mediation.testing.make_settings(tmp_path, store)
    clock = FakeClock(mediation.testing.T0)
    with TestClient(mediation.api.create_app(config, clock=clock)) as client:
        m = mediation.testing.Mediators(client, clock, config)
        case = m.app.report_dispute(
            mediation.testing.RESIDENT,
            mediation.testing.FLAT,
            "drum practice after 22:00",
            "noise",
            [mediation.testing.NEIGHBOUR.id],
        )
        m.catch_up()
        people = [mediation.testing.RESIDENT.id, mediation.testing.NEIGHBOUR.id]
        yield Running(
            client,
            m.leader(),
            f"/disputes/{case}/meetings",
            lambda n: {
                "form": "building_talk",
                "scheduled_for": (clock() + timedelta(days=1, hours=n)).isoformat(),
                "place": f"building 12 lobby, table {n}",
                "participants": [{"id": p, "role": "resident"} for p in people],
            },
            m.app,
            reads_store=f"/disputes/{case}",
        )


SERVICES: dict[str, Callable[[Path, str], contextlib.AbstractContextManager[Running]]] = {
    "intake": intake_running,
    "dispatch": dispatch_running,
    "mediation": mediation_running,
}
APPS: dict[str, Callable[[], FastAPI]] = {
    "intake": intake.api.app.create_app,
    "dispatch": dispatch.api.create_app,
    "mediation": mediation.api.create_app,
}


def fresh_key() -> str:
    return str(uuid.uuid4())


# ------------------------------------------------------------------ documented on every POST


@pytest.mark.parametrize("name", APPS)
def test_every_post_of_every_service_documents_the_idempotency_key(name: str) -> None:
    document = APPS[name]().openapi()
    posts = {path: ops["post"] for path, ops in document["paths"].items() if "post" in ops}
    assert posts, f"{name} has no POST?"
    for path, operation in posts.items():
        header = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
        assert header, f"{name} POST {path} does not document Idempotency-Key"
        assert header[0]["in"] == "header"
        assert header[0]["required"] is False
        assert {"409", "422", "503"} <= set(operation["responses"]), f"{name} POST {path}"


# ------------------------------------------------------------------ retries, on each service


@pytest.mark.parametrize("name", SERVICES)
def test_a_retried_post_gets_its_first_answer_and_does_nothing_twice(
    name: str, tmp_path: Path
) -> None:
    with SERVICES[name](tmp_path, f"sqlite:///{tmp_path / 'cases.db'}") as service:
        key = fresh_key()
        before = service.effects()
        first = service.post(1, key)
        assert first.status_code in (200, 201), first.text
        after_first = service.effects()
        assert after_first > before
        again = service.post(1, key)
        assert (again.status_code, again.json()) == (first.status_code, first.json())
        assert again.headers["idempotent-replayed"] == "true"
        assert service.effects() == after_first
        other = service.post(2, key)
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency_key_reused"
        assert service.effects() == after_first


def test_for_any_sequence_of_retries_each_key_has_one_answer_and_one_effect(
    tmp_path: Path,
) -> None:
    """A property over the intake's report: whatever order keys and bodies come in, a key's
    first answer is every retry's answer, and only a key's first use changes the store."""
    with intake_running(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}") as service:

        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 3)), min_size=1, max_size=8))
        def one_answer_per_key(plan: list[tuple[int, int]]) -> None:
            run = uuid.uuid4().hex  # keys of earlier examples stay in the store
            first: dict[int, tuple[int, int, Any]] = {}
            for key, body in plan:
                before = service.effects()
                response = service.post(body, f"{run}-{key}")
                if key not in first:
                    assert response.status_code in (200, 201), response.text
                    first[key] = (body, response.status_code, response.json())
                    assert service.effects() > before
                    continue
                if first[key][0] == body:
                    assert (body, response.status_code, response.json()) == first[key]
                else:
                    assert response.status_code == 422
                assert service.effects() == before

        one_answer_per_key()


@pytest.mark.postgres
def test_two_replicas_on_one_postgresql_store_answer_a_retry_the_same(
    tmp_path: Path, postgres_url: str
) -> None:
    with (
        intake_running(tmp_path / "a", postgres_url) as a,
        intake_running(tmp_path / "b", postgres_url) as b,
    ):
        # Each replica reads its own tokens file here; both tokens stand for the same resident,
        # and keys are the caller's (the actor's), not the token's.
        key = fresh_key()
        before = a.effects()
        first = a.post(1, key)
        assert first.status_code == 201, first.text
        retried = b.post(1, key)
        assert (retried.status_code, retried.json()) == (201, first.json())
        assert retried.headers["idempotent-replayed"] == "true"
        assert b.post(2, key).status_code == 422
        assert a.effects() == b.effects() > before
        assert len({a.post(1, key).json()["case_id"], retried.json()["case_id"]}) == 1


# ------------------------------------------------------------------ PostgreSQL down, then back

BOUND = 8.0
"""Seconds a request may take while the store is down, with a 1 s store timeout: one pool
timeout and a quick retry, with room for a loaded machine (it used to be up to 7 minutes)."""


@pytest.mark.postgres
@pytest.mark.parametrize("name", SERVICES)
def test_while_postgresql_is_down_every_service_answers_503_quickly_and_recovers_alone(
    name: str,
    tmp_path: Path,
    stoppable_postgres: StoppablePostgres,  # noqa: F811
) -> None:
    pg = stoppable_postgres
    pg.server.create_database("cases")
    url = pg.server.url("cases", timeout=1)
    with SERVICES[name](tmp_path, url) as service:
        assert service.post(1, fresh_key()).status_code in (200, 201)
        stored = service.effects()
        pg.stop()
        down_since = time.monotonic()

        keys = [fresh_key() for _ in range(4)]

        def timed_post(key: str) -> tuple[float, Any]:
            started = time.monotonic()
            response = service.post(2, key)
            return time.monotonic() - started, response

        # A little load: four writers at once, all told to come back, none kept waiting.
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(timed_post, keys))
        for took, response in answers:
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.json()["code"] == "store_unavailable"
            assert f"PostgreSQL at 127.0.0.1:{pg.server.port}/cases" in response.json()["message"]
            assert took < BOUND
        started = time.monotonic()
        ready = service.client.get("/readyz")
        assert time.monotonic() - started < BOUND
        assert ready.status_code == 503
        assert ready.headers["retry-after"] == "5"
        assert ready.json()["down"] == ["store"]
        assert ready.json()["store"].startswith("unreachable: OperationalError")
        assert f"127.0.0.1:{pg.server.port}" in ready.json()["store"]
        if service.reads_store is not None:
            read = service.client.get(service.reads_store, headers=service.headers)
            assert read.status_code == 503
            assert "retry-after" in read.headers

        # Every documented route, as found in the service's own OpenAPI document: no 500, no
        # wait past the bound, and a 503 always says when to come back.
        for path, operations in service.client.get("/openapi.json").json()["paths"].items():
            for method in operations:
                concrete = re.sub(r"\{[^}]+\}", "00000000-0000-4000-8000-000000000001", path)
                started = time.monotonic()
                answer = service.client.request(
                    method.upper(),
                    concrete,
                    headers=service.headers,
                    json={} if method in ("post", "put", "patch") else None,
                )
                where = f"{method.upper()} {path}: {answer.status_code} {answer.text[:200]}"
                assert answer.status_code < 500 or answer.status_code == 503, where
                assert answer.status_code != 503 or "retry-after" in answer.headers, where
                assert time.monotonic() - started < BOUND, where

        # Down longer than every pool timeout (the 1 s store timeout, the pool's 5 s reconnection
        # window): still a quick 503 each time, the same key each time (a client retrying).
        while time.monotonic() - down_since < POOL_RECONNECT_TIMEOUT + 3:
            took, response = timed_post(keys[0])
            assert (response.status_code, took < BOUND) == (503, True), response.text
            time.sleep(0.5)

        pg.start()
        back = time.monotonic()
        while service.client.get("/readyz").status_code == 503:
            assert time.monotonic() - back < BOUND, "still not ready long after PostgreSQL is back"
            time.sleep(0.2)
        assert service.effects() == stored  # the refused writes left nothing behind
        retried = service.post(2, keys[0])
        assert retried.status_code in (200, 201), retried.text
        assert "idempotent-replayed" not in retried.headers
        after = service.effects()
        assert after > stored
        again = service.post(2, keys[0])
        assert (again.status_code, again.json()) == (retried.status_code, retried.json())
        assert service.effects() == after


def test_a_503_and_a_retry_after_are_documented_on_every_post() -> None:
    for name, make in APPS.items():
        for path, ops in make().openapi()["paths"].items():
            if "post" in ops:
                assert "503" in ops["post"]["responses"], f"{name} POST {path}"
