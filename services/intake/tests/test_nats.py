"""The case index fed over a real nats-server: store -> relay -> JetStream -> the intake's
durable consumer -> index. And no contact detail ever reaches the stream."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from casework import Actor, Role
from casework.clock import FakeClock
from casework.messaging.nats_server import NatsServer, free_port
from casework.testing.nats import jetstream, read_stream, relay_once
from casework.testing.waiting import eventually, served_without_waiting
from fastapi.testclient import TestClient
from intake.api.app import create_app
from intake.testing import COMPOUND, T0, Desk, make_settings

pytestmark = pytest.mark.nats


@pytest.fixture
def nats_desk(tmp_path: Path, nats_server: NatsServer) -> Iterator[Desk]:
    store = f"sqlite:///{tmp_path / 'cases.db'}"
    config = make_settings(tmp_path, store, NATS_URL=nats_server.url)
    clock = FakeClock(T0)
    with TestClient(create_app(config, clock=clock)) as client:
        yield Desk(client, clock, config)


def relay(desk: Desk) -> int:
    """Publish what the store holds, as the `casework relay` process would."""
    assert desk.settings.nats_url is not None
    return relay_once(desk.settings.store, desk.settings.nats_url)


def test_a_reported_case_reaches_the_listing_through_nats_and_follows_later_changes(
    nats_desk: Desk,
) -> None:
    desk = nats_desk
    staff = desk.staff()
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    assert desk.client.get("/cases", headers=staff).json()["total"] == 0  # not relayed yet
    assert relay(desk) == 2

    def listed() -> list[Any]:
        return list(desk.client.get("/cases", headers=staff).json()["items"])

    rows = eventually(listed)
    assert [(r["case_id"], r["status"]) for r in rows] == [(case_id, "reported")]
    app = desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]
    worker = Actor("staff-li", Role.PROPERTY_STAFF)
    app.assign(case_id, worker, worker, "on duty")
    app.start_work(case_id, worker)
    app.finish_work(case_id, worker, "new bulb")
    app.resolve(case_id, worker, "light works")
    relay(desk)
    done = eventually(lambda: [r for r in listed() if r["status"] == "resolved"])
    assert done[0]["version"] == app.get_case(case_id).version
    page = desk.client.get("/cases", headers=staff).json()
    assert page["index_position"] == 6


def test_no_contact_detail_reaches_the_stream(nats_desk: Desk) -> None:
    desk = nats_desk
    phone = "13912345678"
    desk.report(
        desk.staff(),
        kind="repair",
        description="the lift is stuck",
        reporter={"id": "r-0302", "role": "resident", "contact": phone},
    )
    desk.report(desk.resident("r-0303"), description="对门渗水", source_unit="0301")
    relay(desk)

    async def bodies() -> list[bytes]:
        assert desk.settings.nats_url is not None
        async with jetstream(desk.settings.nats_url) as (_, js):
            return [m.data or b"" for m in await read_stream(js, "CASEWORK")]

    published = asyncio.run(bodies())
    assert len(published) >= 5
    assert all(phone.encode() not in body for body in published)
    assert any(b"r-0302" in body for body in published)


def test_readiness_follows_the_nats_connection(nats_desk: Desk, nats_server: NatsServer) -> None:
    desk = nats_desk
    assert eventually(lambda: desk.client.get("/readyz").json()["nats"] == "ok")  # connecting
    nats_server.stop()
    down = eventually(lambda: desk.client.get("/readyz").status_code == 503)
    assert down
    readiness = desk.client.get("/readyz").json()
    assert readiness["nats"].startswith(f"unreachable: 127.0.0.1:{nats_server.port}")
    assert readiness["down"] == ["nats"]
    assert desk.client.get("/healthz").status_code == 200
    nats_server.start()
    assert eventually(lambda: desk.client.get("/readyz").status_code == 200)
    assert desk.client.get("/cases", headers=desk.staff(COMPOUND)).status_code == 200


def test_with_nats_down_at_start_the_app_serves_says_so_and_connects_once_it_is_up(
    tmp_path: Path,
) -> None:
    """The lifespan does not wait for NATS: /readyz names it as down until a nats-server
    started after the app is reached; then reports relayed after that reach the index."""
    server = NatsServer(tmp_path / "nats", port=free_port())  # not started yet
    config = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}", NATS_URL=server.url)
    client = TestClient(create_app(config, clock=FakeClock(T0)))
    try:
        with served_without_waiting(client):
            desk = Desk(client, FakeClock(T0), config)
            readiness = client.get("/readyz")
            assert readiness.status_code == 503
            assert readiness.json()["down"] == ["nats"]
            assert readiness.json()["store"] == "ok"
            server.start()
            assert eventually(lambda: client.get("/readyz").status_code == 200, timeout=30)
            case_id = desk.report(desk.resident())["case_id"]
            relay(desk)
            listed = eventually(
                lambda: client.get("/cases", headers=desk.staff()).json()["items"], timeout=30
            )
            assert [row["case_id"] for row in listed] == [case_id]
    finally:
        server.stop()


def test_a_feed_that_jetstream_refuses_for_good_is_said_in_readyz_not_retried_silently(
    nats_desk: Desk,
) -> None:
    """The CASEWORK stream deleted under the running feed: its consumer cannot be recreated
    (that is no outage), so the feed stops, loudly, and /readyz says so until a restart."""
    desk = nats_desk
    feed = desk.client.app.state.runtime.feed  # type: ignore[attr-defined]
    assert eventually(lambda: feed.consumer is not None)  # connected, stream made, bound
    assert desk.client.get("/readyz").json()["nats"] == "ok"
    assert desk.settings.nats_url is not None
    url = desk.settings.nats_url

    async def delete_stream() -> None:
        async with jetstream(url) as (_, js):
            await js.delete_stream("CASEWORK")

    asyncio.run(delete_stream())
    assert eventually(lambda: desk.client.get("/readyz").status_code == 503)
    readiness = desk.client.get("/readyz").json()
    assert readiness["down"] == ["nats"]
    assert "the consumer stopped (NotFoundError" in readiness["nats"]
