"""A window's acks move the relay's position only through the unbroken run from its start.

Pipelined publishes can fail one by one: the server may store event k+1 although k's ack timed
out (or found no responders during a leader change). The relay must never move past k then.
The acks here are nats-py's own `PubAck` values set on real asyncio futures, as `publish_async`
returns them; no server is needed to decide what the position becomes. Where a retry goes on
from is `test_relay_position.py`'s.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import nats.errors
import pytest
from casework import Actor, Casework, Role
from casework.messaging.relay import Outgoing, Relay, StoreReader, unbroken
from casework.messaging.relay_windows import Windows
from hypothesis import given
from hypothesis import strategies as st
from nats.js.api import PubAck

FIRST_ID = 100
RESIDENT = Actor("resident-0302", Role.RESIDENT)


@given(st.lists(st.booleans(), max_size=30))
def test_unbroken_counts_the_acks_before_the_first_failure(acked: list[bool]) -> None:
    outcomes: list[object] = [
        PubAck(stream="CASEWORK", seq=i + 1) if ok else nats.errors.TimeoutError()
        for i, ok in enumerate(acked)
    ]
    through = unbroken(outcomes)
    assert all(acked[:through])  # nothing before the new position is unacknowledged
    assert through == len(acked) or not acked[through]  # and it stops at the first failure


def _window(size: int) -> list[Outgoing]:
    return [Outgoing(FIRST_ID + 2 * i, f"casework.x.{i}", {}, b"{}") for i in range(size)]


async def _acknowledge(relay: Relay, acked: list[bool | None]) -> BaseException | None:
    """`None` in `acked`: an ack that never comes (the publish timeout gives up on it)."""
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[object]] = []
    for i, ok in enumerate(acked):
        future: asyncio.Future[object] = loop.create_future()
        if ok is True:
            future.set_result(PubAck(stream="CASEWORK", seq=i + 1, duplicate=i % 3 == 0))
        elif ok is False:
            future.set_exception(nats.errors.NoRespondersError())
        futures.append(future)
    try:
        await relay._acknowledged(_window(len(acked)), futures)
    except Exception as error:
        return error
    return None


@given(st.lists(st.sampled_from([True, True, True, False, None]), min_size=1, max_size=12))
def test_the_position_moves_only_through_the_unbroken_run_of_acks(
    acked: list[bool | None],
) -> None:
    with Casework("sqlite:///:memory:") as app:
        relay = Relay(app, "nats://127.0.0.1:1", publish_timeout=0.01)
        relay.position = FIRST_ID - 1
        error = asyncio.run(_acknowledge(relay, acked))
    through = unbroken([ok if ok else RuntimeError() for ok in acked])
    expected = FIRST_ID - 1 if through == 0 else FIRST_ID + 2 * (through - 1)
    assert relay.position == expected
    assert relay.published + relay.duplicates == through
    if through == len(acked):
        assert error is None
    else:
        # the first failure is raised (an outage, so `run` retries, reading its position back
        # from the stream: `test_relay_position.py`), the position left before the failed event
        assert error is not None
        assert isinstance(error, TimeoutError if acked[through] is None else nats.errors.Error)


class _Overlaps(StoreReader):
    """The relay's reader on a real store, noting whether two of its reads ever ran at once."""

    def __init__(self, app: Casework) -> None:
        super().__init__(app)
        self.running = 0
        self.overlapped = False
        self.first_may_end = threading.Event()
        self._lock = threading.Lock()

    def read(self, position: int, limit: int) -> tuple[list[Outgoing], int]:
        with self._lock:
            self.running += 1
            self.overlapped |= self.running > 1
        try:
            if position == 0:  # the read ahead that is dropped: slow
                self.first_may_end.wait(5)
            return super().read(position, limit)
        finally:
            with self._lock:
                self.running -= 1


@pytest.mark.anyio
async def test_a_dropped_read_ahead_ends_before_the_next_read_starts(tmp_path: Path) -> None:
    with Casework(f"sqlite:///{tmp_path / 'casework.db'}") as app:
        app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b12/0302", "light out")
        reader = _Overlaps(app)
        windows = Windows(reader, batch_size=500, publish_timeout=5.0)
        windows.read_ahead(0)
        windows.forget_ahead()  # a failure: the read ahead is dropped, its thread runs on
        read = asyncio.ensure_future(windows.read(1))
        await asyncio.sleep(0.2)
        assert not read.done()  # waits for the dropped read's thread
        reader.first_may_end.set()
        batch, last = await read
        assert not reader.overlapped
        assert [message.notification_id for message in batch] == [2]
        assert last == 2
