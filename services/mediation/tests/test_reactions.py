"""What the service does on its own when events arrive, over a real nats-server (and, without
NATS, from the store's log): failed rounds climb once, leak damage reaches its dispute's file,
and a malformed message goes to the dead letters while the consumer goes on."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from casework import Actor, Role
from casework.clock import FakeClock
from casework.messaging.dead_letter import DeadLetter
from casework.messaging.nats_server import NatsServer, free_port
from casework.testing.nats import jetstream, read_stream
from casework.testing.waiting import served_without_waiting
from fastapi.testclient import TestClient
from mediation.api import create_app
from mediation.feeds import StoreFeed
from mediation.reactions import MEDIATION
from mediation.testing import CHINA, COMPOUND, RESIDENT, Mediators, eventually, make_settings

SECRETARY = Actor("party-secretary-wanxin", Role.PARTY_SECRETARY)
STAFF = Actor("property-staff-liu", Role.PROPERTY_STAFF)
BELOW = Actor("resident-b3-0402", Role.RESIDENT)
NEIGHBOUR = Actor("resident-b3-0501", Role.RESIDENT)
FLAT_0501 = "jiayu-xx/jiating/b3/0501"
FLAT_0402 = "jiayu-xx/jiating/b3/0402"


def history(m: Mediators, case: Any) -> list[tuple[str, str]]:
    return [(e.event, e.actor_id) for e in m.app.history(case)]


def three_failed_rounds(m: Mediators) -> str:
    """Recorded through the library, behind the API's back: only the feed can react."""
    app = m.app
    case = app.report_dispute(RESIDENT, COMPOUND, "fees doubled", "fees", ["property company"])
    seats = [
        {"id": "owners", "role": "owners_committee_member"},
        {"id": "property", "role": "property_manager"},
    ]
    meeting = app.convene_mediation(case, SECRETARY, "roundtable", m.clock(), "clubhouse", seats)
    for n in range(3):
        m.clock.advance(timedelta(days=1))
        app.hold_round(case, SECRETARY, meeting, ["owners", "property"], "failed", note=f"#{n}")
    return str(case)


@pytest.mark.nats
def test_three_failed_rounds_climb_once_even_when_the_failure_is_delivered_again(
    nats_mediators: Mediators,
) -> None:
    m = nats_mediators
    case = three_failed_rounds(m)
    m.relay()

    def escalations() -> list[tuple[str, str]]:
        return [h for h in history(m, case) if h[0] == "Escalated"]

    assert eventually(escalations) == [("Escalated", MEDIATION.id)]
    escalated = next(e for e in m.app.history(case) if e.event == "Escalated")
    assert escalated.details == {"to_tier": "community", "automatic": True}
    assert escalated.reason == "mediation failed 3 rounds at the compound"
    m.relay()

    async def republish_the_last_failure() -> None:
        assert m.settings.nats_url is not None
        async with jetstream(m.settings.nats_url) as (_, js):
            stored = await read_stream(js, "CASEWORK", "casework.dispute.mediation_failed.>")
            last = stored[-1]
            headers = dict(last.headers or {})
            headers["Nats-Msg-Id"] = "again:" + headers["Nats-Msg-Id"]
            await js.publish(last.subject or "", last.data or b"", headers=headers)

    asyncio.run(republish_the_last_failure())
    m.relay()
    assert eventually(m.drained)
    assert escalations() == [("Escalated", MEDIATION.id)]
    row = eventually(
        lambda: [r for r in m.get("/disputes", m.officer())["items"] if r["tier"] == "community"]
    )
    assert row[0]["case_id"] == case


@pytest.mark.nats
def test_a_malformed_message_is_dead_lettered_and_the_consumer_goes_on(
    nats_mediators: Mediators,
) -> None:
    m = nats_mediators
    m.app.report_dispute(RESIDENT, COMPOUND, "first", "fees")
    m.relay()
    # As the relay would stamp it, so that the relay still knows where it is afterwards.
    position = str(m.app.recorder.max_notification_id())

    async def publish_garbage() -> list[DeadLetter]:
        assert m.settings.nats_url is not None
        async with jetstream(m.settings.nats_url) as (_, js):
            await js.publish(
                "casework.dispute.round_held.jiayu-xx.wanxin-intl",
                b'{"type": "casework.dispute.round_held.v1", "round_no": "many"}',
                headers={
                    "ce-type": "casework.dispute.round_held.v1",
                    "Casework-Notification-Id": position,
                },
            )
            stream = await js.find_stream_name_by_subject("casework.dlq.mediation")

            async def letters() -> list[DeadLetter]:
                found = await read_stream(js, stream, "casework.dlq.mediation")
                return [DeadLetter.from_msg(msg) for msg in found]  # type: ignore[arg-type]

            for _ in range(300):
                got = await letters()
                if got:
                    return got
                await asyncio.sleep(0.02)
            return []

    letters = asyncio.run(publish_garbage())
    assert len(letters) == 1
    assert letters[0].reason == "malformed"
    assert "round_held" in letters[0].error
    case = three_failed_rounds(m)
    m.relay()
    assert eventually(lambda: m.app.get_case(case).tier.value == "community")


def leak_with_damage(m: Mediators, cause_first: bool) -> tuple[str, str]:
    """嘉庭 building 3: the flat under renovation leaks into 0402; a damage dispute follows."""
    app = m.app
    m.clock.set(datetime(2021, 3, 1, 19, 40, tzinfo=CHINA))
    leak = app.report_leak(NEIGHBOUR, FLAT_0501, "water under the door of 0502", "0502")
    app.attempt_owner_contact(leak, STAFF, "phone", "reached", "owner on his way")
    app.stop_water(leak, STAFF, "owner_closed_valve")
    dispute = app.report_dispute(
        BELOW,
        FLAT_0402,
        "who pays for our kitchen ceiling?",
        "leak_between_flats",
        [BELOW.id, "owner-b3-0502"],
    )

    def cause() -> None:
        app.record_cause(
            leak,
            STAFF,
            "the renovation worker left the water-supply valve open",
            "stained kitchen ceiling and a soaked cabinet in 0402",
            ["0402"],
        )

    if cause_first:
        cause()
        app.link_cases(leak, dispute, STAFF, "damage_dispute")
    else:
        app.link_cases(leak, dispute, STAFF, "damage_dispute")
        cause()
    return str(leak), str(dispute)


def notes(m: Mediators, case: str) -> list[str]:
    return [e.details["text"] for e in m.app.history(case) if e.event == "NoteAdded"]


@pytest.mark.nats
@pytest.mark.parametrize("cause_first", [True, False], ids=["cause-then-link", "link-then-cause"])
def test_a_dispute_opened_from_leak_damage_gets_the_leaks_findings_once(
    nats_mediators: Mediators, cause_first: bool
) -> None:
    m = nats_mediators
    leak, dispute = leak_with_damage(m, cause_first)
    m.relay()
    cause = "cause: the renovation worker left the water-supply valve open"
    expected = 1 if cause_first else 2
    found = eventually(lambda: len(notes(m, dispute)) >= expected and notes(m, dispute))
    assert found
    assert len(found) == expected
    assert found[0].startswith(f"from leak case {leak} at {FLAT_0501}, water from flat 0502")
    assert cause in found[-1]
    assert "damaged flats: 0402" in found[-1]
    if not cause_first:
        assert "cause not yet recorded" in found[0]
    assert all(e.actor_id == MEDIATION.id for e in m.app.history(dispute) if e.event == "NoteAdded")
    leader = m.auth("building-leader-b3", "building_leader", "jiayu-xx/jiating/b3")
    rows = eventually(lambda: m.get("/disputes", leader)["items"])
    assert rows[0]["from_leak"] == leak
    m.relay()  # the notes themselves go round once more: nothing new comes of them
    assert eventually(m.drained)
    assert len(notes(m, dispute)) == expected


def test_without_nats_the_store_feed_reacts_the_same_way(mediators: Mediators) -> None:
    m = mediators
    _, dispute = leak_with_damage(m, cause_first=True)  # sets the clock: first, so time runs on
    case = three_failed_rounds(m)
    m.catch_up()
    assert [h for h in history(m, case) if h[0] == "Escalated"] == [("Escalated", MEDIATION.id)]
    assert len(notes(m, dispute)) == 1
    m.catch_up()
    restarted = StoreFeed(m.app, m.rt.worklist)
    restarted.catch_up()  # a restarted feed resumes after what it tracked: no repeats
    assert restarted.position == m.app.recorder.max_notification_id()
    assert len(notes(m, dispute)) == 1
    assert [h[0] for h in history(m, case)].count("Escalated") == 1
    assert json.dumps(m.get("/disputes", m.officer())["items"])  # both on the worklist


@pytest.mark.nats
def test_with_nats_down_at_start_the_app_serves_says_so_and_reacts_once_it_is_up(
    tmp_path: Path, clock: FakeClock
) -> None:
    """The lifespan does not wait for NATS: /readyz names it as down until a nats-server
    started after the app is reached; then the consumer reacts to what is relayed."""
    server = NatsServer(tmp_path / "nats", port=free_port())  # not started yet
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", NATS_URL=server.url)
    client = TestClient(create_app(settings, clock=clock))
    try:
        with served_without_waiting(client):
            m = Mediators(client, clock, settings)
            readiness = client.get("/readyz")
            assert readiness.status_code == 503
            assert readiness.json()["nats"].startswith("unreachable")
            assert readiness.json()["store"] == "ok"
            server.start()
            assert eventually(lambda: client.get("/readyz").status_code == 200, timeout=30)
            case = three_failed_rounds(m)
            m.relay()
            escalated = eventually(
                lambda: [h for h in history(m, case) if h[0] == "Escalated"], timeout=30
            )
            assert escalated == [("Escalated", MEDIATION.id)]
    finally:
        server.stop()
