"""Where the relay goes on from after a failure or a restart: never past an event the stream
lacks, and never sending again one the stream holds (the duplicate window is not relied on).

A property over a model of the stream (messages stored in the order sent, no duplicate window
at all) drives `resume_from`, the relay's own reading of the stream, through windows whose acks
fail at random; a real nats-server checks the relay itself, retrying a broken window for longer
than the duplicate window. The relay killed with a broken window is `test_relay_resilience.py`'s.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from casework import Casework
from casework.messaging.nats_server import NatsServer
from casework.messaging.relay import Relay
from casework.messaging.relay_position import Resume, Stamp, resume_from, resume_point
from casework.messaging.subjects import STREAM
from casework.outages import BACKOFF_ENV
from casework.testing.nats import jetstream
from casework.testing.siblings import sibling
from hypothesis import given, settings
from hypothesis import strategies as st

resilience = sibling(__file__, "test_relay_resilience")

ACKED, STORED_ACK_LOST, NOT_STORED = "acked", "stored, ack lost", "not stored"


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    batch_size=st.integers(1, 6),
    log=st.lists(st.booleans(), min_size=1, max_size=25),
    written_later=st.lists(st.booleans(), max_size=15),
    failures=st.integers(0, 10),
)
def test_whatever_acks_fail_the_stream_ends_with_every_case_event_once(
    data: st.DataObject,
    batch_size: int,
    log: list[bool],
    written_later: list[bool],
    failures: int,
) -> None:
    """`log[i]`: whether notification i + 1 is a case event (else another aggregate's, read
    past). Each publish is acked, stored with its ack lost, or not stored, at random, until
    `failures` have happened; a broken window sends the relay back to the stream for its
    position (a retry and a restart alike: it keeps nothing else)."""
    stream: list[Stamp] = []
    position: int | None = None
    held: frozenset[int] = frozenset()
    for _ in range(1000):
        if position is None:
            resume = resume_from(reversed(stream))
            position, held = resume.position, resume.held
        if written_later:  # the log grows while the relay works
            grow = data.draw(st.integers(0, len(written_later)), label="written")
            log, written_later = log + written_later[:grow], written_later[grow:]
        window = list(range(position + 1, len(log) + 1))[:batch_size]
        if not window:
            if not written_later:
                break
            log, written_later = log + written_later[:1], written_later[1:]
            continue
        broken = False
        for n in (n for n in window if log[n - 1] and n not in held):
            fate = ACKED
            if failures:
                fate = data.draw(st.sampled_from([ACKED, ACKED, STORED_ACK_LOST, NOT_STORED]))
            if fate != ACKED:
                failures -= 1
                broken = True
            if fate != NOT_STORED:
                stream.append(Stamp(n, position))  # stamped with the window's start
        if broken:
            position = None
            continue
        position = window[-1]
        held = frozenset(i for i in held if i > position)
    else:
        raise AssertionError("the relay never caught up")
    case_events = [n for n, is_case in enumerate(log, start=1) if is_case]
    on_stream = [stamp.notification_id for stamp in stream]
    assert sorted(on_stream) == case_events  # each once, none missing
    for index, stamp in enumerate(stream):  # what a stamp says held when it was sent
        assert stamp.after is not None
        earlier = set(on_stream[:index])
        assert {n for n in case_events if n <= stamp.after} <= earlier, (stamp, stream)


def test_a_stream_the_relay_wrote_before_the_stamp_resumes_after_its_last_event() -> None:
    assert resume_from([]) == Resume(0)
    assert resume_from([Stamp(7, None), Stamp(6, None)]) == Resume(7)
    assert resume_from([Stamp(9, 5), Stamp(7, None)]) == Resume(5, frozenset({9}))
    # a message sent from an earlier position ends the walk: its events are at or below 5
    walked = [Stamp(9, 5), Stamp(6, 5), Stamp(5, 2), Stamp(3, 2)]
    assert resume_from(walked) == Resume(5, frozenset({6, 9}))


@pytest.mark.nats
@pytest.mark.anyio
async def test_a_broken_window_retried_past_the_duplicate_window_publishes_nothing_twice(
    nats_server: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leak's events find no responders (its subject is outside the stream, as every
    subject is while a cluster elects a leader) and the repairs after them are stored. The
    relay retries that window for longer than the duplicate window: it must send the leak's
    events, and never the repairs again (the stream would store them a second time)."""
    monkeypatch.setenv(BACKOFF_ENV, "0.3")  # retries close together: many chances to repeat
    url = f"sqlite:///{tmp_path / 'casework.db'}"
    leak_events = resilience.write_with_a_leak_between_repairs(url)
    duplicate_window = 0.5
    await resilience.narrowed_stream(nats_server.url, duplicate_window)
    with Casework(url) as app:
        relay = Relay(app, nats_server.url, batch_size=100, publish_timeout=1.0)
        stop = asyncio.Event()
        running = asyncio.create_task(relay.run(stop))
        try:
            await resilience._wait_until_stream_holds(nats_server.url, 40)
            await asyncio.sleep(2 * duplicate_window)  # retried, past the window
            await resilience.widened_stream(nats_server.url)
            await resilience._wait_until_stream_holds(nats_server.url, 42, relay=relay)
            await asyncio.sleep(0.3)  # room for a repeat to land
        finally:
            stop.set()
            await running
    messages = await resilience._all_messages(nats_server.url)
    assert {m.headers["Nats-Msg-Id"] for m in messages} >= set(leak_events)
    resilience.assert_each_event_once_and_each_case_in_order(messages, url)


@pytest.mark.nats
@pytest.mark.anyio
async def test_after_a_purge_the_walk_back_stops_at_the_streams_first_message(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    """An operator's purge (or an age limit) leaves only the last window's messages: the walk
    back finds where to go on from and asks for none of the sequences gone below the first."""
    url = f"sqlite:///{tmp_path / 'casework.db'}"
    with Casework(url) as app:
        resilience.helpers.write_events(app, 30, cases=3)
        assert await Relay(app, nats_server.url, batch_size=10).run_once() == 30
    async with jetstream(nats_server.url) as (_, js):
        await js.purge_stream(STREAM, keep=5)
        asked: list[int] = []
        get_msg = js.get_msg

        async def counted(stream: str, seq: int | None = None, **kwargs: Any) -> Any:
            if seq is not None:
                asked.append(seq)
            return await get_msg(stream, seq=seq, **kwargs)

        js.get_msg = counted  # type: ignore[method-assign]
        resume = await resume_point(js)
    # windows of 10 went out from positions 0, 10, 20: the kept five are 26-30 of the last one
    assert resume == Resume(20, frozenset(range(26, 31)))
    assert min(asked) >= 26, f"asked for purged sequences {sorted(set(asked))[:5]}..."
