"""The relay through crashes, NATS outages and notification-id gaps: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from casework import Actor, Casework, Role
from casework.messaging.nats_server import NatsServer
from casework.messaging.relay import Relay
from casework.messaging.stream import stream_config
from casework.messaging.stream_limits import StreamLimits
from casework.messaging.subjects import STREAM, STREAM_SUBJECTS
from casework.testing.nats import jetstream, read_stream
from casework.testing.siblings import sibling

pytestmark = pytest.mark.nats

STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
RESIDENT = Actor("resident-0302", Role.RESIDENT)
FLAT = "jiayu-xx/wanxin-intl/b12/0302"


helpers = sibling(__file__, "test_relay")


def write_slowly(url: str, total: int, cases: int, pause: float, done: threading.Event) -> None:
    """Events trickle in, as from a live service, while the test breaks things."""
    app = Casework(url)
    try:
        per_round = max(1, total // 20)
        ids = helpers.write_events(app, 2 * cases, cases=cases)
        written = 2 * cases
        while written < total:
            for _ in range(min(per_round, total - written)):
                app.add_note(ids[written % cases], STAFF, f"note {written}")
                written += 1
            time.sleep(pause)
    finally:
        app.close()
        done.set()


def test_a_relay_killed_mid_stream_and_restarted_misses_nothing_and_repeats_nothing(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    url = helpers.store(tmp_path)
    Casework(url).close()  # create the tables before two processes race to
    done = threading.Event()
    writer = threading.Thread(target=write_slowly, args=(url, 800, 20, 0.1, done))
    writer.start()
    env = helpers.cli_env(tmp_path, nats_server.url)
    command = [sys.executable, "-m", "casework.cli", "relay", "--batch-size", "25", "--quiet"]
    with subprocess.Popen(command, env=env) as relay:
        try:
            published = asyncio.run(_wait_until_stream_holds(nats_server.url, 150))
            relay.send_signal(signal.SIGKILL)
            relay.wait(timeout=10)
        finally:
            if relay.poll() is None:
                relay.kill()
                relay.wait()
    assert not done.is_set(), "the relay should die while events are still being written"
    assert published >= 150
    with subprocess.Popen(command, env=env) as again:
        try:
            writer.join(60)
            assert done.is_set()
            total = 800
            asyncio.run(_wait_until_stream_holds(nats_server.url, total))
            time.sleep(0.5)  # room for any duplicate to show up
            again.send_signal(signal.SIGTERM)
            assert again.wait(timeout=20) == 0
        finally:
            if again.poll() is None:
                again.kill()
                again.wait()
    app = Casework(url)
    try:
        messages = asyncio.run(_all_messages(nats_server.url))
        assert len(messages) == 800
        helpers.assert_exactly_once_in_order(messages, app)
    finally:
        app.close()


def test_a_relay_killed_with_a_window_in_flight_and_the_next_read_ahead_loses_and_repeats_nothing(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """The relay reads window N+1 while N's acks are awaited: killed then, the stream still holds
    a prefix of the log (never a later window without an earlier one), and the relay run again
    publishes exactly the rest, from the stream's last notification id: none of it twice."""
    url = helpers.store(tmp_path)
    total = 1500  # the relay is killed after ~2 windows (400 held, measured): 5 windows to spare
    with Casework(url) as app:
        helpers.write_events(app, total, cases=30)
    env = helpers.cli_env(tmp_path, nats_server.url)
    command = [sys.executable, "-m", "casework.cli", "relay", "--batch-size", "200", "--quiet"]
    with subprocess.Popen(command, env=env) as relay:
        try:
            asyncio.run(_wait_until_stream_holds(nats_server.url, 300))
            relay.send_signal(signal.SIGKILL)
            relay.wait(timeout=10)
        finally:
            if relay.poll() is None:
                relay.kill()
                relay.wait()
    time.sleep(0.5)  # whatever the dead relay's socket still held reaches the server
    held = asyncio.run(_all_messages(nats_server.url))
    assert 300 <= len(held) < total, "the relay should die with windows still to publish"
    with Casework(url) as app:
        prefix = helpers.store_event_ids(app)[: len(held)]
        assert [m.headers["Nats-Msg-Id"] for m in held] == prefix  # the log's first, in order
        again = helpers.run_cli("relay", "--once", env=env)
        assert again.returncode == 0, again.stderr
        assert f"published {total - len(held)} event(s); 0 already on the stream" in again.stdout
        messages = asyncio.run(_all_messages(nats_server.url))
        assert len(messages) == total
        helpers.assert_exactly_once_in_order(messages, app)


NARROW_SUBJECTS = ["casework.repair.>", "casework.dlq.>"]
"""A stream that takes repairs but not leaks: every leak event gets "no responders", as every
event does while a cluster elects a stream leader, and the repairs after it are stored."""


async def narrowed_stream(url: str, duplicate_window: float) -> None:
    """Make the stream before the relay does, without the leak subjects, with a short duplicate
    window (so a test can outlive it)."""
    config = replace(
        stream_config(STREAM, StreamLimits()),
        subjects=NARROW_SUBJECTS,
        duplicate_window=duplicate_window,
    )
    async with jetstream(url) as (_, js):
        await js.add_stream(config)


async def widened_stream(url: str) -> None:
    """The cause gone: the stream takes every case event again."""
    async with jetstream(url) as (_, js):
        info = await js.stream_info(STREAM)
        await js.update_stream(replace(info.config, subjects=list(STREAM_SUBJECTS)))


def write_with_a_leak_between_repairs(url: str) -> list[str]:
    """20 repair events, a leak report (2 events), 20 repair events: the leak's event ids."""
    with Casework(url) as app:
        helpers.write_events(app, 20, cases=4)
        leak = app.report_leak(RESIDENT, FLAT, "water from above", "0402")
        helpers.write_events(app, 20, cases=4)
        return [f"{leak}:1", f"{leak}:2"]


def assert_each_event_once_and_each_case_in_order(messages: list[Any], url: str) -> None:
    """What holds after a broken window: every event once and a case's events in order; the
    log's order across cases does not (the leak's come after the repairs written later)."""
    ids = [(m.headers or {})["Nats-Msg-Id"] for m in messages]
    assert len(ids) == len(set(ids)), "a message is on the stream twice"
    with Casework(url) as app:
        assert sorted(ids) == sorted(helpers.store_event_ids(app))
    versions: dict[str, list[int]] = {}
    for message_id in ids:
        case_id, version = message_id.split(":")
        versions.setdefault(case_id, []).append(int(version))
    for case_id, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), f"case {case_id} out of order: {seen}"


def test_a_relay_killed_while_it_retries_a_broken_window_leaves_no_hole_when_run_again(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """The server stored the events after the leak but not the leak's (no responders): the
    stream's last message is past the leak. Killed while it retries that window, the relay
    forgets where the window started; run again, it must go on from there, not from the
    stream's tail, and send the leak's events only: the repairs after it are on the stream
    already, and the duplicate window that would have dropped them again has passed."""
    url = helpers.store(tmp_path)
    leak_events = write_with_a_leak_between_repairs(url)
    duplicate_window = 0.5
    asyncio.run(narrowed_stream(nats_server.url, duplicate_window))
    env = helpers.cli_env(tmp_path, nats_server.url)
    command = [sys.executable, "-m", "casework.cli", "relay", "--batch-size", "100", "--quiet"]
    with subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL) as relay:
        try:
            asyncio.run(_wait_until_stream_holds(nats_server.url, 40))
            relay.send_signal(signal.SIGKILL)
            relay.wait(timeout=10)
        finally:
            if relay.poll() is None:
                relay.kill()
                relay.wait()
    held = [(m.headers or {})["Nats-Msg-Id"] for m in asyncio.run(_all_messages(nats_server.url))]
    assert len(held) == 40
    assert not set(leak_events) & set(held), "the leak's events should have been refused"
    asyncio.run(widened_stream(nats_server.url))
    time.sleep(duplicate_window)  # a repair sent again now would be stored again
    with Casework(url) as app:  # run again: a new relay knows only what the stream says
        again = Relay(app, nats_server.url, batch_size=100)
        assert asyncio.run(again.run_once()) == 2
        assert again.duplicates == 0  # nothing sent twice
    assert_each_event_once_and_each_case_in_order(asyncio.run(_all_messages(nats_server.url)), url)


async def _wait_until_stream_holds(
    url: str, count: int, timeout: float = 25.0, relay: Relay | None = None, **options: object
) -> int:
    deadline = time.monotonic() + timeout
    held = None
    while True:
        try:
            async with jetstream(url, **options) as (_, js):
                info = await js.stream_info(STREAM)
                held = info.state.messages
                if held >= count:
                    return int(held)
        except Exception:  # stream not created yet
            pass
        if time.monotonic() > deadline:
            state = (
                ""
                if relay is None
                else f"; the relay is at notification {relay.position}, published "
                f"{relay.published}, duplicates {relay.duplicates}"
            )
            raise AssertionError(
                f"the stream did not reach {count} messages in {timeout} s (holds {held}{state})"
            )
        await asyncio.sleep(0.02)


async def _all_messages(url: str) -> list[Any]:
    async with jetstream(url) as (_, js):
        return list(await read_stream(js, STREAM))


@pytest.mark.anyio
async def test_when_nats_goes_away_and_comes_back_the_relay_catches_up_and_loses_nothing(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    url = helpers.store(tmp_path)
    Casework(url).close()
    relay = Relay(Casework(url), nats_server.url, batch_size=50, publish_timeout=1.0)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    done = threading.Event()
    writing = asyncio.create_task(asyncio.to_thread(write_slowly, url, 600, 15, 0.1, done))
    try:
        await _wait_until_stream_holds(nats_server.url, 100)
        await asyncio.to_thread(nats_server.stop)
        await asyncio.sleep(1.0)  # events keep being written while NATS is down
        assert not done.is_set(), "the outage should fall while events are being written"
        await asyncio.to_thread(nats_server.start)
        await writing
        await _wait_until_stream_holds(nats_server.url, 600, relay=relay)
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        await running
        await writing
    app = Casework(url)
    try:
        messages = await _all_messages(nats_server.url)
        assert len(messages) == 600
        helpers.assert_exactly_once_in_order(messages, app)
    finally:
        app.close()


@pytest.mark.postgres
@pytest.mark.anyio
async def test_on_postgresql_the_relay_crosses_notification_id_gaps_and_wakes_on_notify(
    nats_server: NatsServer, postgres_url: str
) -> None:
    writer = Casework(postgres_url)
    reader = Casework(postgres_url)
    try:
        helpers.write_events(writer, 20, cases=4)
        # Failed inserts burn sequence values: make a gap of 5 ids, as a rollback would.
        with psycopg.connect(postgres_url.split("?")[0]) as conn:
            sequence = conn.execute(
                "SELECT pg_get_serial_sequence('casework_events', 'notification_id')"
            ).fetchone()
            assert sequence is not None
            for _ in range(5):
                conn.execute("SELECT nextval(%s)", (sequence[0],))
        helpers.write_events(writer, 10, cases=5)
        ids = [n.id for n in writer.recorder.select_notifications(start=1, limit=100)]
        assert ids[20] - ids[19] == 6, ids  # the gap is there
        # A poll interval far longer than the test: only a NOTIFY can wake it in time.
        relay = Relay(reader, nats_server.url, poll_interval=60.0)
        stop = asyncio.Event()
        running = asyncio.create_task(relay.run(stop))
        try:
            await _wait_until_stream_holds(nats_server.url, 30, timeout=10)
            await asyncio.sleep(0.3)  # the relay is idle now, waiting on LISTEN
            started = time.monotonic()
            await asyncio.to_thread(writer.add_note, _first_case(writer), STAFF, "after the gap")
            await _wait_until_stream_holds(nats_server.url, 31, timeout=10)
            woke_in = time.monotonic() - started
        finally:
            stop.set()
            await running
        assert woke_in < 5.0, f"took {woke_in:.1f} s: the relay did not wake on NOTIFY"
        messages = await _all_messages(nats_server.url)
        helpers.assert_exactly_once_in_order(messages, writer)
    finally:
        writer.close()
        reader.close()


def _first_case(app: Casework) -> str:
    first = app.recorder.select_notifications(start=1, limit=1)[0]
    return str(first.originator_id)
