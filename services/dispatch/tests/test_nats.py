"""Dispatch over a real nats-server and a real store: a repair reported through the library is
assigned by the effect of its own events (one round-trip: store → relay → JetStream → dispatch's
durable consumer → `Assigned` on the case), the assignee's actions appear on the case, and a
malformed message is dead-lettered while the consumer goes on."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from casework import Casework, FakeClock
from casework.messaging.consumer import Outcome
from casework.messaging.nats_server import NatsServer, free_port
from casework.testing.nats import jetstream, read_stream, relay_once
from casework.testing.waiting import eventually, served_without_waiting
from dispatch.api import create_app
from dispatch.testing import (
    COMPOUND,
    FLAT,
    MANAGER,
    RESIDENT,
    STAFF_LI,
    T0,
    Desk,
    event_names,
    make_settings,
)
from fastapi.testclient import TestClient

pytestmark = pytest.mark.nats


@pytest.fixture
def nats_desk(store_url: str, tmp_path: Path, nats_server: NatsServer) -> Iterator[Desk]:
    config = make_settings(tmp_path, store_url, NATS_URL=nats_server.url)
    clock = FakeClock(T0)
    with TestClient(create_app(config, clock, background=False)) as client:
        desk = Desk(client, clock, config)
        # the consumer binds in the background (the stream made first): these tests start after
        assert eventually(lambda: desk.runtime.consumer is not None)
        yield desk


def relay(desk: Desk) -> int:
    """Publish what the store holds, as the `casework relay` process would."""
    assert desk.settings.nats_url is not None
    return relay_once(desk.settings.store, desk.settings.nats_url)


def test_a_repair_reported_through_the_library_is_assigned_within_one_round_trip(
    nats_desk: Desk,
) -> None:
    desk = nats_desk
    desk.post(
        "/roster/members",
        desk.auth(MANAGER),
        {"actor_id": "staff-li", "role": "property_staff", "skills": ["plumbing"]},
        status=201,
    )
    # another process's library, e.g. the intake's, on the same (test) time as dispatch: a case
    # file never runs backwards, so a reporter on the wall clock would be a day "ahead" of T0
    reporter = Casework(desk.settings.store, clock=desk.clock)
    case_id = str(reporter.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing"))
    reporter.close()
    # Reported and DeadlinesSet; dispatch may already have answered with Assigned while the
    # relay was still reading, so that one may go out in this run or the next
    published = relay(desk)
    assert published >= 2
    assert eventually(lambda: desk.app.casework.get_case(case_id).assignee is not None)
    # The assignment is the effect of the report's own events: the very next fact on the case.
    assert event_names(desk.app, case_id) == ["Reported", "DeadlinesSet", "Assigned"]
    consumer = eventually(lambda: desk.runtime.consumer)  # bound in the background
    assert eventually(lambda: consumer.stats.counts[Outcome.DONE] == published)
    li = desk.auth(STAFF_LI)
    desk.post(f"/tasks/{case_id}/accept", li)
    desk.post(f"/tasks/{case_id}/start", li)
    desk.post(f"/tasks/{case_id}/finish", li, {"summary": "new washer"})
    # Its own events come back over NATS; handling them changes nothing (already in line).
    published += relay(desk)
    assert eventually(lambda: consumer.stats.counts[Outcome.DONE] == 7)
    assert event_names(desk.app, case_id)[2:] == [
        "Assigned",
        "AssignmentAccepted",
        "WorkStarted",
        "WorkDone",
        "Resolved",
    ]
    # every event of the case went out once, and nothing else did (the roster's join stays home)
    assert published == len(event_names(desk.app, case_id)) == 7
    assert desk.app.member("staff-li").load == 0


def test_a_malformed_message_is_dead_lettered_and_the_consumer_goes_on(
    nats_desk: Desk, nats_server: NatsServer
) -> None:
    desk = nats_desk
    desk.post(
        "/roster/members",
        desk.auth(MANAGER),
        {"actor_id": "staff-li", "role": "property_staff", "skills": ["plumbing"]},
        status=201,
    )

    async def publish_garbage() -> None:
        async with jetstream(nats_server.url) as (_, js):
            await js.publish(
                f"casework.repair.reported.{COMPOUND.replace('/', '.')}",
                b"{not json",
                headers={"ce-type": "casework.repair.reported.v1"},
            )

    asyncio.run(publish_garbage())
    case_id = str(
        desk.app.casework.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing")
    )
    relay(desk)
    assert eventually(lambda: desk.app.casework.get_case(case_id).assignee is not None)

    async def dead_letters() -> list[Any]:
        async with jetstream(nats_server.url) as (_, js):
            stream = await js.find_stream_name_by_subject("casework.dlq.dispatch")
            return await read_stream(js, stream, "casework.dlq.dispatch")

    letters = eventually(lambda: asyncio.run(dead_letters()))
    assert len(letters) == 1
    assert letters[0].headers["Casework-Dlq-Reason"] == "malformed"


def test_with_nats_down_at_start_the_app_serves_says_so_and_assigns_once_it_is_up(
    tmp_path: Path,
) -> None:
    """The lifespan does not wait for NATS: /readyz names it as down until a nats-server
    started after the app is reached; then a repair relayed after that is assigned."""
    server = NatsServer(tmp_path / "nats", port=free_port())  # not started yet
    config = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}", NATS_URL=server.url)
    clock = FakeClock(T0)
    client = TestClient(create_app(config, clock, background=False))
    try:
        with served_without_waiting(client):
            desk = Desk(client, clock, config)
            readiness = client.get("/readyz")
            assert readiness.status_code == 503
            assert readiness.json()["down"] == ["nats"]
            assert readiness.json()["nats"].startswith("unreachable")
            assert readiness.json()["consumer"] == "not bound yet (waiting for NATS)"
            assert readiness.json()["store"] == "ok"
            desk.post(
                "/roster/members",
                desk.auth(MANAGER),
                {"actor_id": "staff-li", "role": "property_staff", "skills": ["plumbing"]},
                status=201,
            )
            server.start()
            assert eventually(lambda: client.get("/readyz").status_code == 200, timeout=30)
            assert eventually(lambda: client.get("/readyz").json()["consumer"] == "bound")
            reporter = Casework(config.store, clock=clock)
            case_id = str(
                reporter.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing")
            )
            reporter.close()
            assert relay(desk) >= 2
            eventually(lambda: desk.app.casework.get_case(case_id).assignee is not None, timeout=30)
            assert event_names(desk.app, case_id) == ["Reported", "DeadlinesSet", "Assigned"]
            assert desk.app.casework.get_case(case_id).assignee.id == "staff-li"
    finally:
        server.stop()


def test_a_consumer_that_jetstream_refuses_for_good_is_said_in_readyz(nats_desk: Desk) -> None:
    """The CASEWORK stream deleted under the running consumer: it cannot be recreated (no
    outage), so the consumer stops, loudly, and /readyz says so until a restart."""
    desk = nats_desk
    assert eventually(lambda: desk.runtime.consumer)  # connected, stream made, bound
    assert desk.client.get("/readyz").json()["nats"] == "ok"
    assert desk.settings.nats_url is not None
    url = desk.settings.nats_url

    async def delete_stream() -> None:
        async with jetstream(url) as (_, js):
            await js.delete_stream("CASEWORK")

    asyncio.run(delete_stream())
    assert eventually(lambda: desk.client.get("/readyz").status_code == 503, timeout=30)
    readiness = desk.client.get("/readyz").json()
    assert readiness["down"] == ["nats"]
    assert "the consumer stopped (NotFoundError" in readiness["nats"]
