"""Issue 10 §3 at dispatch: a write that is stored answers 201 once, also when the board cannot
catch up right after it (the store went away between the write and the board's read). A 503
there would free the Idempotency-Key and the client's retry would write a second time."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
from casework.clock import FakeClock
from casework.testing.postgres_outage import StoppablePostgres, stoppable_postgres  # noqa: F401
from dispatch.api import create_app
from dispatch.domain.demand import Demand
from dispatch.testing import FLAT, MANAGER, T0, Desk, make_settings
from fastapi.testclient import TestClient

NEED = {
    "resident_id": "r-0302",
    "address": FLAT,
    "need": "carrying",
    "description": "rice and water carried up",
}


def demands_stored(desk: Desk) -> int:
    recorder = desk.app.casework.recorder
    prefix = f"{Demand.__module__}:{Demand.__qualname__}."
    created = [
        n
        for n in recorder.select_notifications(1, 1000)
        if n.topic.startswith(prefix) and n.originator_version == 1
    ]
    return len(created)


@pytest.mark.postgres
def test_a_need_stored_before_the_store_went_away_is_201_once_and_its_retry_is_replayed(
    stoppable_postgres: StoppablePostgres,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("CASEWORK_STORE_TIMEOUT", "1")
    assert stoppable_postgres.server is not None
    stoppable_postgres.server.create_database("dispatch")
    settings = make_settings(tmp_path, stoppable_postgres.server.url("dispatch"))
    clock = FakeClock(T0)
    with TestClient(create_app(settings, clock, background=False)) as client:
        desk = Desk(client, clock, settings)
        board = desk.runtime.board
        catch_up = board.catch_up

        def store_gone_then_catch_up() -> Any:
            """The moment is the test's; the fault is real: the server stops, the read fails."""
            stoppable_postgres.stop()
            return catch_up()

        monkeypatch.setattr(board, "catch_up", store_gone_then_catch_up)
        headers = {**desk.auth(MANAGER), "Idempotency-Key": "carry-1"}
        with caplog.at_level(logging.WARNING, logger="dispatch"):
            first = client.post("/demands", json=NEED, headers=headers)
        assert first.status_code == 201, first.text
        said = [r for r in caplog.records if "not caught up after a write" in r.getMessage()]
        assert len(said) == 1
        assert said[0].exc_info is None  # an outage: one line, no traceback
        monkeypatch.setattr(board, "catch_up", catch_up)
        stoppable_postgres.start()
        deadline = time.monotonic() + 20  # the pool drops its dead connections first
        again = client.post("/demands", json=NEED, headers=headers)
        while again.status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.3)
            again = client.post("/demands", json=NEED, headers=headers)
        assert again.status_code == 201, again.text
        assert again.json()["id"] == first.json()["id"]  # replayed, not run again
        assert demands_stored(desk) == 1
        listed = desk.get("/demands", desk.auth(MANAGER))
        assert [d["id"] for d in listed["items"]] == [first.json()["id"]]
