"""The relay publishes every case event to JetStream once, in order, as its public contract."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from casework import Actor, Casework, FakeClock, Role
from casework.contracts import parse_event
from casework.messaging.nats_server import NatsServer
from casework.messaging.relay import Relay
from casework.messaging.subjects import EVENTS, STREAM, subject_for
from casework.testing.nats import jetstream, read_stream
from casework.testing.stories import every_story
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg

pytestmark = pytest.mark.nats

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
RESIDENT = Actor("resident-0302", Role.RESIDENT)


def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'casework.db'}"


def write_events(app: Casework, total: int, cases: int = 40) -> list[UUID]:
    """`total` events over `cases` repair cases: each report (2 events), then notes round-robin."""
    ids = [
        app.report_repair(RESIDENT, f"jiayu-xx/wanxin-intl/b{i % 9 + 1}/0302", "light out")
        for i in range(cases)
    ]
    written = 2 * cases
    i = 0
    while written < total:
        app.add_note(ids[i % cases], STAFF, f"note {written}")
        written += 1
        i += 1
    return ids


def store_event_ids(app: Casework) -> list[str]:
    notes = app.recorder.select_notifications(start=1, limit=1_000_000)
    return [f"{n.originator_id}:{n.originator_version}" for n in notes]


def assert_exactly_once_in_order(messages: list[RawStreamMsg], app: Casework) -> None:
    ids = [(m.headers or {})["Nats-Msg-Id"] for m in messages]
    expected = store_event_ids(app)
    assert len(ids) == len(set(ids)), "a message is on the stream twice"
    assert sorted(ids) == sorted(expected), "the stream and the store hold different events"
    versions: dict[str, list[int]] = defaultdict(list)
    for message_id in ids:
        case_id, version = message_id.split(":")
        versions[case_id].append(int(version))
    for case_id, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), f"case {case_id} out of order: {seen}"
    positions = [int((m.headers or {})["Casework-Notification-Id"]) for m in messages]
    assert positions == sorted(positions)
    # each was sent from a position before it (its window's start, where a restart goes on from)
    afters = [int((m.headers or {})["Casework-Relay-After"]) for m in messages]
    assert all(a < p for a, p in zip(afters, positions, strict=True))
    assert afters == sorted(afters)


async def wait_for_messages(js: JetStreamContext, count: int, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        info = await js.stream_info(STREAM)
        if info.state.messages >= count:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"only {info.state.messages} of {count} messages arrived")
        await asyncio.sleep(0.05)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Casework]:
    application = Casework(store(tmp_path), clock=FakeClock(START))
    yield application
    application.close()


@pytest.mark.anyio
async def test_a_thousand_events_written_while_the_relay_runs_all_arrive_once_in_order_per_case(
    nats_server: NatsServer, tmp_path: Path, app: Casework
) -> None:
    writer = Casework(store(tmp_path), clock=FakeClock(START))
    relay = Relay(Casework(store(tmp_path)), nats_server.url, batch_size=100)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.to_thread(write_events, writer, 1000)
        async with jetstream(nats_server.url) as (_, js):
            await wait_for_messages(js, 1000)
            await asyncio.sleep(0.3)  # would-be duplicates or extras have time to land
            messages = await read_stream(js, STREAM)
    finally:
        stop.set()
        await running
        writer.close()
    assert len(messages) == 1000
    assert_exactly_once_in_order(messages, app)
    assert relay.published == 1000


@pytest.mark.anyio
async def test_each_message_carries_cloudevents_headers_and_its_contract_as_the_body(
    nats_server: NatsServer, app: Casework
) -> None:
    clock = FakeClock(START)
    app.clock = clock
    every_story(app, clock)
    published = await Relay(app, nats_server.url).run_once()
    async with jetstream(nats_server.url) as (_, js):
        messages = await read_stream(js, STREAM)
    stored = app.recorder.select_notifications(start=1, limit=10_000)
    assert published == len(stored) == len(messages) <= 500  # one window
    for message, notification in zip(messages, stored, strict=True):
        headers: dict[str, str] = message.headers or {}
        assert message.data is not None
        contract = parse_event(message.data, headers["ce-type"])
        assert (
            contract.event_id == f"{notification.originator_id}:{notification.originator_version}"
        )
        assert headers["Nats-Msg-Id"] == headers["ce-id"] == contract.event_id
        assert headers["ce-specversion"] == "1.0"
        assert headers["ce-type"] == contract.type
        assert headers["ce-type"].endswith(".v1")
        assert headers["ce-subject"] == str(notification.originator_id)
        assert headers["ce-source"] == "/casework/jiayu-xx/wanxin-intl"
        assert datetime.fromisoformat(headers["ce-time"]) == contract.occurred_at
        assert headers["Casework-Tier"] == contract.tier
        assert headers["Casework-Notification-Id"] == str(notification.id)
        assert headers["Casework-Relay-After"] == "0"  # one window, read after notification 0
        assert message.subject == subject_for(contract)
        assert message.subject.startswith(f"casework.{contract.kind}.")
        assert json.loads(message.data) == contract.model_dump(mode="json")
        assert b"originator_" not in message.data  # never the store's own encoding
    subjects = {m.subject for m in messages}
    assert "casework.leak.water_stopped.jiayu-xx.wanxin-intl" in subjects
    assert "casework.dispute.agreement_reached.jiayu-xx.wanxin-intl" in subjects


@pytest.mark.anyio
async def test_a_consumer_can_choose_by_kind_event_and_place_on_the_server(
    nats_server: NatsServer, app: Casework
) -> None:
    clock = FakeClock(START)
    app.clock = clock
    every_story(app, clock)
    app.report_repair(RESIDENT, "jiayu-xx/jiating/b1/0101", "door access")
    await Relay(app, nats_server.url).run_once()
    async with jetstream(nats_server.url) as (_, js):
        leaks = await read_stream(js, STREAM, "casework.leak.>")
        water = await read_stream(js, STREAM, "casework.*.water_stopped.*.*")
        jiating = await read_stream(js, STREAM, "casework.*.*.jiayu-xx.jiating")
        every = await read_stream(js, STREAM, EVENTS)
    assert leaks
    assert all(m.subject.startswith("casework.leak.") for m in leaks)
    assert [m.subject for m in water] == ["casework.leak.water_stopped.jiayu-xx.wanxin-intl"]
    assert {m.subject.split(".")[2] for m in jiating} == {"reported", "deadlines_set"}
    assert len(every) == len(app.recorder.select_notifications(start=1, limit=10_000))


@pytest.mark.anyio
async def test_running_the_relay_again_publishes_nothing_twice_and_only_what_is_new(
    nats_server: NatsServer, app: Casework
) -> None:
    write_events(app, 120, cases=10)
    assert await Relay(app, nats_server.url).run_once() == 120
    assert await Relay(app, nats_server.url).run_once() == 0
    write_events(app, 30, cases=3)
    again = Relay(app, nats_server.url)
    assert await again.run_once() == 30
    assert again.duplicates == 0
    async with jetstream(nats_server.url) as (_, js):
        messages = await read_stream(js, STREAM)
    assert_exactly_once_in_order(messages, app)


@pytest.mark.anyio
async def test_messages_the_relay_did_not_publish_do_not_stop_it_or_move_its_position(
    nats_server: NatsServer, app: Casework
) -> None:
    """A hand-published message (a test, a replay tool) carries no notification id."""
    write_events(app, 40, cases=4)
    assert await Relay(app, nats_server.url).run_once() == 40
    async with jetstream(nats_server.url) as (_, js):
        for n in range(3):
            await js.publish("casework.repair.reported.x.y", f"hand-made {n}".encode())
    write_events(app, 10, cases=2)
    again = Relay(app, nats_server.url)
    assert await again.run_once() == 10
    assert (again.published, again.duplicates) == (10, 0)
    async with jetstream(nats_server.url) as (_, js):
        messages = await read_stream(js, STREAM)
    ours = [m for m in messages if (m.headers or {}).get("Casework-Notification-Id")]
    assert len(messages) == 53
    assert_exactly_once_in_order(ours, app)


@pytest.mark.anyio
async def test_a_re_publish_after_a_lost_position_is_dropped_by_the_duplicate_window(
    nats_server: NatsServer, app: Casework
) -> None:
    """As after a crash between the server storing a message and the relay hearing its ack."""
    write_events(app, 50, cases=5)
    await Relay(app, nats_server.url).run_once()
    forgetful = Relay(app, nats_server.url, start_after=0)
    await forgetful.run_once()
    async with jetstream(nats_server.url) as (_, js):
        messages = await read_stream(js, STREAM)
    assert forgetful.duplicates == 50
    assert forgetful.published == 0
    assert len(messages) == 50


def cli_env(tmp_path: Path, nats_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["CASEWORK_STORE"] = store(tmp_path)
    env["CASEWORK_VAR_DIR"] = str(tmp_path / "var")
    env.pop("NATS_URL", None)
    if nats_url:
        env["NATS_URL"] = nats_url
    return env


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "casework.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.anyio
async def test_relay_once_publishes_what_is_missing_and_exits(
    nats_server: NatsServer, tmp_path: Path, app: Casework
) -> None:
    write_events(app, 60, cases=6)
    env = cli_env(tmp_path, nats_server.url)
    first = run_cli("relay", "--once", env=env)
    assert first.returncode == 0, first.stderr
    assert "published 60 event(s)" in first.stdout
    second = run_cli("relay", "--once", env=env)
    assert "published 0 event(s)" in second.stdout
    async with jetstream(nats_server.url) as (_, js):
        assert_exactly_once_in_order(await read_stream(js, STREAM), app)


@pytest.mark.anyio
async def test_without_nats_url_the_relay_starts_its_own_server_under_the_var_dir(
    tmp_path: Path, app: Casework
) -> None:
    write_events(app, 20, cases=2)
    done = run_cli("relay", "--once", env=cli_env(tmp_path, None))
    assert done.returncode == 0, done.stderr
    assert "published 20 event(s)" in done.stdout
    # The embedded server stopped with the command; its data stayed under the var dir.
    with NatsServer(tmp_path / "var" / "nats") as server:
        async with jetstream(server.url) as (_, js):
            assert_exactly_once_in_order(await read_stream(js, STREAM), app)


def test_relay_stops_cleanly_on_sigterm(
    nats_server: NatsServer, tmp_path: Path, app: Casework
) -> None:
    write_events(app, 10, cases=2)
    with subprocess.Popen(
        [sys.executable, "-m", "casework.cli", "relay"],
        env=cli_env(tmp_path, nats_server.url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        seen = threading.Event()
        lines: list[str] = []

        def watch() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                lines.append(line)
                if "until stopped" in line:
                    seen.set()

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            assert seen.wait(20), "".join(lines)
            process.terminate()
            assert process.wait(timeout=20) == 0, "".join(lines)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            watcher.join(5)
