"""Where the relay goes on from: what the stream holds, read back from it (no checkpoint).

Every message the relay publishes carries `Casework-Notification-Id` (the event's place in the
store's log) and `Casework-Relay-After` (the relay's position when it published it, its
window's start: every case event up to there was on the stream then, because a window goes out
only once every ack of the one before is in).

On start and after any failure the relay reads these back from the stream's last messages
(`resume_point`). It goes on from the last message's `after`, not from its notification id:
windows are pipelined, so the server may have stored event k+1 although k found no responders
(a cluster electing a stream leader) or its ack timed out, and a relay started past k+1 (after
a crash, a SIGKILL, or a retry) would never publish k. The events past that position which the
stream holds already (those of the broken window that were stored) are found by walking back
over the messages published from that same position (`Scan`), and are not sent again: the
repair does not lean on the duplicate window (2 minutes), however long the relay was away.

The bounds, stated:

- The walk stops at the first message published from an earlier position. Every event of the
  windows read from there is at or below the position resumed from, since a window reads the
  same number of notifications (`batch_size`) from a later start, on a log that only grows. A
  relay run again with a smaller batch size while a window is broken may send an event it
  stored before, which only the duplicate window then drops.
- An ack lost although its message is stored after the walk (a timeout in a cluster) means that
  message is sent again within seconds: dropped there too.
- A stream whose last message is from a relay before `Casework-Relay-After` resumes as that
  relay did: after its last notification id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg

from casework.messaging.dead_letter import HEADER_REPLAY_OF
from casework.messaging.subjects import EVENTS, HEADER_NOTIFICATION_ID, HEADER_RELAY_AFTER, STREAM

log = logging.getLogger("casework.messaging.relay")
"""The relay's lines, under one name whichever of its modules writes them."""

__all__ = ["Resume", "Scan", "Stamp", "resume_from", "resume_point"]

FOREIGN_LOOKBACK = 10_000
"""How many messages back the relay looks past ones it did not publish before it gives up."""

CHUNK = 256
"""Most messages asked for at once while walking back (pipelined on the connection)."""


@dataclass(frozen=True)
class Stamp:
    """What a message the relay published says about the stream."""

    notification_id: int
    after: int | None
    """None on a message from a relay before `Casework-Relay-After`."""


@dataclass(frozen=True)
class Resume:
    """Publish the case events after `position`, except those in `held`."""

    position: int
    held: frozenset[int] = frozenset()
    """Notification ids past `position` that are on the stream already."""


class Scan:
    """Reads the relay's stamps from the stream's last message back; says when it has seen
    enough (`saw`) and where to go on from (`resume`)."""

    def __init__(self) -> None:
        self._tail: Stamp | None = None
        self._held: set[int] = set()

    def saw(self, stamp: Stamp) -> bool:
        """Take the next stamp back; True when no earlier one can change the answer."""
        if self._tail is None:
            self._tail = stamp
            self._held.add(stamp.notification_id)
            return stamp.after is None
        assert self._tail.after is not None
        if stamp.after is None or stamp.after < self._tail.after:
            return True  # an earlier window's: its events are all at or below the position
        self._held.add(stamp.notification_id)
        return False

    def resume(self) -> Resume:
        tail = self._tail
        if tail is None:
            return Resume(0)
        if tail.after is None:
            return Resume(tail.notification_id)
        return Resume(tail.after, frozenset(i for i in self._held if i > tail.after))


def resume_from(stamps: Iterable[Stamp]) -> Resume:
    """Where to go on from, given the relay's stamps from the stream's last message back."""
    scan = Scan()
    for stamp in stamps:
        if scan.saw(stamp):
            break
    return scan.resume()


def _is_case_subject(subject: str) -> bool:
    tokens = subject.split(".")
    return len(tokens) == 5 and tokens[0] == "casework" and tokens[1] != "dlq"


def stamp_of(message: RawStreamMsg) -> Stamp | None:
    """The stamp of a message the relay published; None for any other (a dead letter, a replay
    put back by `casework dlq replay`, a hand-made message)."""
    headers = message.headers or {}
    value = headers.get(HEADER_NOTIFICATION_ID)
    if value is None or not _is_case_subject(message.subject or ""):
        return None
    after = headers.get(HEADER_RELAY_AFTER)
    return Stamp(int(value), None if after is None else int(after))


async def resume_point(
    js: JetStreamContext, stream: str = STREAM, lookback: int = FOREIGN_LOOKBACK
) -> Resume:
    """Where the relay goes on from on this stream (see the module docstring); `Resume(0)` on an
    empty one.

    A message someone else published on a case subject (a hand-made test message, a replay tool)
    carries no notification id; the relay looks back past such messages rather than refusing to
    start, and warns, because they are not part of any case file (quietly for a dead letter put
    back by `casework dlq replay`, which is a copy of an event it published).
    """
    try:
        last = await js.get_last_msg(stream, EVENTS)
    except nats.js.errors.NotFoundError:
        return Resume(0)
    scan = Scan()
    looked = 0
    found = False
    async with contextlib.aclosing(_back_from(js, stream, last)) as messages:
        async for message in messages:
            stamp = stamp_of(message)
            if stamp is not None:
                found = True
                if scan.saw(stamp):
                    break
                continue
            if found:  # among the relay's own: a dead letter, a replay, a hand-made one
                continue
            looked += 1
            if looked > lookback:
                raise RuntimeError(
                    f"none of the last {lookback} messages on {stream} before seq {last.seq} "
                    f"carries a {HEADER_NOTIFICATION_ID} header, so the relay cannot tell where "
                    "it is; remove the messages that were not published by the relay"
                )
            headers = message.headers or {}
            if _is_case_subject(message.subject or "") and HEADER_REPLAY_OF not in headers:
                log.warning(
                    "message seq %s on %s has no %s header (not published by the relay); "
                    "looking further back",
                    message.seq,
                    message.subject,
                    HEADER_NOTIFICATION_ID,
                )
    return scan.resume()


async def _back_from(
    js: JetStreamContext, stream: str, last: RawStreamMsg
) -> AsyncGenerator[RawStreamMsg, None]:
    """`last`, then the stream's messages before it, newest first: asked for in chunks that
    grow (one round trip each), skipping those deleted or gone by retention. It stops at the
    stream's first sequence: after a purge or an age limit, the millions of sequences below it
    are gone, and asking for each would hold the relay's start for minutes."""
    yield last
    info = await js.stream_info(stream)
    first = max(1, info.state.first_seq or 1)
    seq = (last.seq or 0) - 1
    size = 16
    while seq >= first:
        low = max(first, seq - size + 1)
        chunk = await asyncio.gather(*(_message(js, stream, s) for s in range(seq, low - 1, -1)))
        for message in chunk:
            if message is not None:
                yield message
        seq = low - 1
        size = min(2 * size, CHUNK)


async def _message(js: JetStreamContext, stream: str, seq: int) -> RawStreamMsg | None:
    try:
        return await js.get_msg(stream, seq=seq)
    except nats.js.errors.NotFoundError:  # deleted, or purged by retention
        return None
