"""The notary's signed checkpoints, posted to their own JetStream stream and read back from it.

Why a second copy: someone with the store and the notary key can rebuild the log and re-sign
every checkpoint in the store (docs/adr/014). Checkpoints that left the store when they were
signed, on a stream that refuses deletes and purges (`stream.stream_config`) and that only the
`notary` NATS user may publish to (`nats_users`), are the defence: `casework checkpoints verify
--from-nats` checks the store against them.

Posting follows the relay's way (`relay.py`): no position of its own; the last checkpoint on the
stream says where to go on from, and every checkpoint in the store above it is published in
order, `Nats-Msg-Id` = the tree size, so a standby or a restarted notary publishing the same one
again is dropped by the duplicate window. A checkpoint signed while NATS is away stays in the
store and goes out on the first step after NATS is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from casework.domain.errors import ValidationError
from casework.messaging.nats_users import client_options, servers
from casework.messaging.stream import checkpoint_limits, provision_stream
from casework.messaging.stream_limits import StreamLimits
from casework.messaging.subjects import CHECKPOINTS, CHECKPOINTS_STREAM, HEADER_MSG_ID
from casework.transparency.checkpoints import Checkpoint
from casework.transparency.tables import tables_for

log = logging.getLogger(__name__)


async def last_posted(js: JetStreamContext) -> int:
    """The tree size of the last checkpoint on the stream; -1 when there is none."""
    try:
        last = await js.get_last_msg(CHECKPOINTS_STREAM, CHECKPOINTS)
    except nats.js.errors.NotFoundError:
        return -1
    return Checkpoint.from_json(json.loads(last.data or b"{}")).size


class CheckpointPost:
    """Publishes the store's checkpoints that the stream does not hold yet; one `step` at a time."""

    def __init__(
        self,
        app: Any,
        nats_url: str,
        *,
        limits: StreamLimits | None = None,
        connect_options: dict[str, Any] | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.app = app
        self.nats_url = nats_url
        self.limits = limits or checkpoint_limits(nats_url)
        self.connect_options = (
            client_options() if connect_options is None else dict(connect_options)
        )
        self.timeout = timeout
        self.position: int | None = None
        self.published = 0
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

    async def step(self) -> int:
        """Publish every stored checkpoint above the stream's last; how many were new there.

        Any failure (NATS away, a refused publish) forgets the connection and the position, so
        the next step starts from what the stream really holds."""
        try:
            js = await self._jetstream()
            if self.position is None:
                self.position = await last_posted(js)
            tables = tables_for(self.app)
            fresh = await asyncio.to_thread(tables.checkpoints, self.position)
            new = 0
            for checkpoint in fresh:
                ack = await js.publish(
                    CHECKPOINTS,
                    json.dumps(checkpoint.to_json()).encode(),
                    headers={HEADER_MSG_ID: str(checkpoint.size)},
                    stream=CHECKPOINTS_STREAM,
                    timeout=self.timeout,
                )
                new += not ack.duplicate
                self.position = checkpoint.size
            self.published += new
            return new
        except BaseException:
            self.position = None
            await self.close()
            raise

    async def close(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                await nc.close()

    async def _jetstream(self) -> JetStreamContext:
        if self._nc is not None and self._js is not None and self._nc.is_connected:
            return self._js
        await self.close()
        self._nc = await asyncio.wait_for(
            nats.connect(
                servers(self.nats_url),
                name="casework-notary",
                connect_timeout=2,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.2,
                **self.connect_options,
            ),
            self.timeout,
        )
        self._js = self._nc.jetstream(timeout=self.timeout)
        await provision_stream(self._js, CHECKPOINTS_STREAM, self.limits)
        return self._js


async def read_posted(js: JetStreamContext) -> list[Checkpoint]:
    """Every checkpoint on the stream, in the order it was published (a malformed message is a
    `ValidationError` naming its sequence number: the stream must hold checkpoints only)."""
    try:
        info = await js.stream_info(CHECKPOINTS_STREAM)
    except nats.js.errors.NotFoundError:
        return []
    found: list[Checkpoint] = []
    first, last = info.state.first_seq, info.state.last_seq
    for seq in range(first, last + 1) if info.state.messages else ():
        try:
            message = await js.get_msg(CHECKPOINTS_STREAM, seq=seq)
        except nats.js.errors.NotFoundError:
            continue
        try:
            found.append(Checkpoint.from_json(json.loads(message.data or b"")))
        except (ValueError, ValidationError) as error:
            raise ValidationError(f"{CHECKPOINTS_STREAM} seq {seq}: {error}") from None
    return found
