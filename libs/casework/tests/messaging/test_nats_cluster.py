"""A three-node JetStream cluster on loopback: replicas, and the loss of the stream's leader.

The drill: the relay publishes while events are written; mid-run the node that leads the
`CASEWORK` stream is SIGKILLed by its pid. Publishing and a durable consumer go on on the two
nodes left, and the stream holds every case event exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import nats.errors
import nats.js.errors
import pytest
from casework import Casework, FakeClock
from casework.messaging.nats_cluster import NatsCluster
from casework.messaging.nats_users import Credentials
from casework.messaging.relay import Relay
from casework.messaging.subjects import EVENTS, STREAM
from casework.testing.nats import jetstream, read_stream
from casework.testing.siblings import sibling
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig

pytestmark = [pytest.mark.nats, pytest.mark.anyio]

EVENTS_IN_DRILL = 600


helpers = sibling(__file__, "test_relay")


async def stream_made(js: JetStreamContext, timeout: float = 30.0) -> None:
    """Wait until the relay has made the stream: not found yet, or no answer while the new
    stream's first leader is elected (a busy machine), are both asked again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            await js.stream_info(STREAM)
            return
        except (nats.errors.Error, TimeoutError):
            await asyncio.sleep(0.1)
    raise AssertionError(f"the relay made no stream in {timeout:.0f} s")


async def holding(js: JetStreamContext, count: int, timeout: float = 20.0) -> None:
    """Wait until the stream holds `count` messages, asking again through an election."""
    deadline = time.monotonic() + timeout
    held = 0
    while time.monotonic() < deadline:
        try:
            held = (await js.stream_info(STREAM)).state.messages
        except (nats.errors.Error, TimeoutError):
            held = -1  # no leader to answer yet
        if held >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the stream holds {held} of {count} messages after {timeout:.0f} s")


async def leader_of(js: JetStreamContext) -> str:
    for _ in range(100):
        with contextlib.suppress(nats.errors.Error, TimeoutError):
            info = await js.stream_info(STREAM)
            if info.cluster is not None and info.cluster.leader:
                return info.cluster.leader
        await asyncio.sleep(0.1)
    raise AssertionError("the stream has no leader")


async def test_the_stream_and_a_durable_consumer_get_three_replicas_on_three_nodes(
    nats_cluster: NatsCluster, nats_credentials: Credentials, tmp_path: Path
) -> None:
    app = Casework(helpers.store(tmp_path), clock=FakeClock(helpers.START))
    helpers.write_events(app, 4, cases=2)
    relay = Relay(app, nats_cluster.url, connect_options=nats_credentials.client_options("relay"))
    assert await relay.run_once() == 4
    admin = nats_credentials.client_options("admin")
    async with jetstream(nats_cluster.url, **admin) as (_, js):
        info = await js.stream_info(STREAM)
        assert info.config.num_replicas == 3
        assert info.cluster is not None
        assert info.cluster.leader in nats_cluster.nodes
        assert len(info.cluster.replicas or []) == 2
        await js.pull_subscribe(
            EVENTS, durable="drill", stream=STREAM, config=ConsumerConfig(ack_policy="explicit")
        )
        consumer = await js.consumer_info(STREAM, "drill")
        assert consumer.cluster is not None
        assert len(consumer.cluster.replicas or []) == 2, "a durable takes the stream's replicas"
    app.close()


async def test_killing_the_stream_leader_loses_and_repeats_no_event(
    nats_cluster: NatsCluster, nats_credentials: Credentials, tmp_path: Path
) -> None:
    writer = Casework(helpers.store(tmp_path), clock=FakeClock(helpers.START))
    reader = Casework(helpers.store(tmp_path))
    relay = Relay(
        reader,
        nats_cluster.url,
        batch_size=50,
        connect_options=nats_credentials.client_options("relay"),
    )
    admin = nats_credentials.client_options("admin")
    stop = asyncio.Event()
    publishing = asyncio.create_task(relay.run(stop))
    consumed: list[str] = []

    async def consume(js: JetStreamContext) -> None:
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=5)
        sub = await js.pull_subscribe(EVENTS, durable="drill", stream=STREAM, config=config)
        try:
            while not stop.is_set():
                try:
                    for msg in await sub.fetch(50, timeout=0.5):
                        # seen when delivered, before the ack: an ack the server took whose
                        # reply was lost in the election is not delivered again, rightly
                        consumed.append((msg.headers or {})["Nats-Msg-Id"])
                        await msg.ack_sync(timeout=2)
                except (nats.errors.Error, TimeoutError):
                    await asyncio.sleep(0.1)  # the leader election, or nothing new yet
        finally:
            await sub.unsubscribe()  # else drain waits out a fetch's leftover status message

    try:
        async with jetstream(
            nats_cluster.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, **admin
        ) as (_, js):
            await stream_made(js)
            consuming = asyncio.create_task(consume(js))
            await asyncio.to_thread(helpers.write_events, writer, EVENTS_IN_DRILL // 2)
            await holding(js, EVENTS_IN_DRILL // 4)
            leader = await leader_of(js)
            killed_at = time.monotonic()
            nats_cluster.kill(leader)
            await asyncio.to_thread(_write_more, writer, EVENTS_IN_DRILL // 2)
            await holding(js, EVENTS_IN_DRILL, timeout=40)
            recovered_in = time.monotonic() - killed_at
            new_leader = await leader_of(js)
            for _ in range(200):
                if len(set(consumed)) >= EVENTS_IN_DRILL:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # would-be duplicates have time to land
            messages = await read_stream(js, STREAM)
            helpers.assert_exactly_once_in_order(messages, writer)
            stop.set()
            await consuming
    finally:
        stop.set()
        await publishing
        writer.close()
        reader.close()
    assert new_leader != leader
    assert recovered_in < 30, "publishing went on within seconds of the kill"
    assert len(messages) == EVENTS_IN_DRILL
    assert set(consumed) == {(m.headers or {})["Nats-Msg-Id"] for m in messages}


def _write_more(app: Casework, total: int) -> None:
    """`total` more events: notes on the cases written so far."""
    ids = sorted({n.originator_id for n in app.recorder.select_notifications(start=1, limit=10**6)})
    for i in range(total):
        app.add_note(ids[i % len(ids)], helpers.STAFF, f"after the kill {i}")
