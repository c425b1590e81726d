"""The relay's steps on a healthy store and NATS go without the retrying machinery (tenacity's,
a sixth of the relay's CPU when every step went through it, issue 16); an outage still goes
through it, and is said once and when it is over (`test_relay_resilience.py`)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import nats.js.errors
import pytest
from casework import Actor, Casework, Role
from casework.messaging.nats_server import NatsServer
from casework.messaging.relay import Relay
from casework.messaging.subjects import STREAM
from casework.outages import Outages
from casework.testing.nats import jetstream
from nats.js import JetStreamContext

RESIDENT = Actor("resident-0302", Role.RESIDENT)
FLAT = "jiayu-xx/wanxin-intl/b12/0302"


class _Counted(Outages):
    """The relay's real outage keeping, counting how often a retrying loop is built."""

    built = 0

    def retrying(self, *args: Any, **kwargs: Any) -> Any:
        self.built += 1
        return super().retrying(*args, **kwargs)


@pytest.mark.nats
@pytest.mark.anyio
async def test_a_healthy_relay_steps_without_the_retrying_machinery(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'casework.db'}"
    writer = Casework(url)
    relay = Relay(Casework(url), nats_server.url, poll_interval=0.05)
    counted = _Counted("relay", relay.outages.log)
    relay.outages = counted
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        async with jetstream(nats_server.url) as (_, js):
            for expected in (2, 4, 6):
                await asyncio.to_thread(writer.report_repair, RESIDENT, FLAT, "leak", "plumbing")
                deadline = time.monotonic() + 10
                while await _on_stream(js) < expected:
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # idle polls too
    finally:
        stop.set()
        await running
        writer.close()
    assert relay.published == 6
    assert counted.built == 0


async def _on_stream(js: JetStreamContext) -> int:
    """Messages on the stream; 0 before the relay has made it (its start may come after the
    first report on a busy machine)."""
    try:
        return (await js.stream_info(STREAM)).state.messages
    except nats.js.errors.NotFoundError:
        return 0
