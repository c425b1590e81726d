"""The measures fed over a real nats-server, like the case index: store -> relay -> JetStream ->
the intake's durable consumer -> measures read model."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from casework import Actor, Role
from casework.clock import FakeClock
from casework.messaging.nats_server import NatsServer
from casework.testing.nats import relay_once
from casework.testing.waiting import eventually
from fastapi.testclient import TestClient
from intake.api.app import create_app
from intake.testing import T0, Desk, make_settings

pytestmark = pytest.mark.nats


@pytest.fixture
def nats_desk(tmp_path: Path, nats_server: NatsServer) -> Iterator[Desk]:
    config = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}", NATS_URL=nats_server.url)
    clock = FakeClock(T0)
    with TestClient(create_app(config, clock=clock)) as client:
        yield Desk(client, clock, config)


def relay(desk: Desk) -> int:
    """Publish what the store holds, as the `casework relay` process would."""
    assert desk.settings.nats_url is not None
    return relay_once(desk.settings.store, desk.settings.nats_url)


def test_the_measures_follow_the_case_events_on_nats(nats_desk: Desk) -> None:
    desk = nats_desk
    auditor = desk.auditor()

    def measures() -> Any:
        return desk.client.get("/measures", headers=auditor).json()

    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    assert measures()["cases"] == 0  # not relayed yet: the store is not read in NATS mode
    relay(desk)
    assert eventually(lambda: measures()["cases"] == 1)
    app = desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]
    staff, volunteer = Actor("staff-li", Role.PROPERTY_STAFF), Actor("vol-li", Role.VOLUNTEER)
    app.assign(case_id, staff, volunteer, "electrician")
    app.start_work(case_id, volunteer)
    app.finish_work(case_id, volunteer, "new bulb")
    app.resolve(case_id, staff, "light works")
    relay(desk)
    done = eventually(lambda: measures()["resolution"]["numerator"] == 1)
    assert done
    m = measures()
    assert (m["response"]["numerator"], m["response"]["denominator"]) == (1, 1)
    assert [(v["volunteer_id"], v["done"]) for v in m["volunteers"]] == [("vol-li", 1)]


def test_measures_added_after_the_consumer_has_read_the_stream_are_filled_from_the_store(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    config = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}", NATS_URL=nats_server.url)
    clock = FakeClock(T0)
    with TestClient(create_app(config, clock=clock)) as client:
        desk = Desk(client, clock, config)
        case_id = desk.report(desk.resident(), kind="repair")["case_id"]
        relay(desk)
        staff = desk.staff()
        assert eventually(lambda: client.get("/cases", headers=staff).json()["total"] == 1)
    with sqlite3.connect(config.db_path) as db:  # as if the measures were new (an upgrade)
        db.executescript("delete from measure_cases; delete from measure_tasks;")
    with TestClient(create_app(config, clock=clock)) as client:
        desk = Desk(client, clock, config)
        auditor = desk.auditor()
        assert client.get("/measures", headers=auditor).json()["cases"] == 1
        app = client.app.state.runtime.intake.app  # type: ignore[attr-defined]
        app.acknowledge(case_id, Actor("staff-li", Role.PROPERTY_STAFF))
        relay(desk)  # the old case's next event applies on top: no gap
        assert eventually(
            lambda: client.get("/measures", headers=auditor).json()["response"]["numerator"] == 1
        )


def test_read_models_lost_while_the_consumer_kept_its_place_are_rebuilt_from_the_store(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    config = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}", NATS_URL=nats_server.url)
    clock = FakeClock(T0)
    with TestClient(create_app(config, clock=clock)) as client:
        desk = Desk(client, clock, config)
        case_id = desk.report(desk.resident(), kind="repair")["case_id"]
        relay(desk)
        staff = desk.staff()
        assert eventually(lambda: client.get("/cases", headers=staff).json()["total"] == 1)
    with sqlite3.connect(config.db_path) as db:  # as if intake.db's read models were lost
        db.executescript(
            "delete from cases; delete from case_people; delete from positions;"
            "delete from measure_cases; delete from measure_tasks; delete from measure_positions;"
        )
    with TestClient(create_app(config, clock=clock)) as client:
        desk = Desk(client, clock, config)
        staff = desk.staff()
        listed = client.get("/cases", headers=staff).json()
        assert [item["case_id"] for item in listed["items"]] == [case_id]
        app = client.app.state.runtime.intake.app  # type: ignore[attr-defined]
        app.acknowledge(case_id, Actor("staff-li", Role.PROPERTY_STAFF))
        relay(desk)  # the consumer resumes after the report: the next event applies, no gap
        assert eventually(
            lambda: (
                client.get("/cases", headers=staff).json()["items"][0]["status"] == "acknowledged"
            )
        )
