"""The `CASEWORK` stream as configured: made if missing, its replicas and limits kept.

Apart from the relay so a service (which may only make the stream where it has the right, and
never changes it) and the relay share one definition of it. The notary's `CASEWORK_CHECKPOINTS`
stream is defined here too (`stream_config` picks by name): the same replicas as `CASEWORK`, its
own size limit (`checkpoint_limits`), and no deleting or purging through the API, because its
point is to be the copy of the checkpoints that whoever rewrites the store cannot rewrite.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, StorageType, StreamConfig

from casework.messaging.stream_limits import StreamLimits
from casework.messaging.subjects import (
    CHECKPOINTS,
    CHECKPOINTS_STREAM,
    DUPLICATE_WINDOW,
    STREAM,
    STREAM_SUBJECTS,
)

log = logging.getLogger(__name__)

CHECKPOINTS_MAX_BYTES = 256 << 20
"""A checkpoint is ~300 bytes: 256 MiB is some 800,000 of them, 1.5 years at one a minute (the
default cadence while events keep coming); past it the oldest go (the rest still verify, each
against the one before)."""


async def ensure_stream(
    js: JetStreamContext, stream: str = STREAM, limits: StreamLimits | None = None
) -> None:
    """Create the stream if it is missing (file storage, 2-minute duplicate window, `limits`).

    Only creates: the relay calls `provision_stream`, which also brings an existing stream's
    replicas and limits to what is configured; a service has no right to change the stream.
    """
    try:
        await js.stream_info(stream)
    except nats.js.errors.NotFoundError:
        with contextlib.suppress(nats.js.errors.BadRequestError):  # created meanwhile
            await js.add_stream(stream_config(stream, limits or StreamLimits.from_env()))


def checkpoint_limits(nats_url: str | None = None) -> StreamLimits:
    """The checkpoints stream's: `CASEWORK`'s replicas, its own size, no age limit."""
    return replace(StreamLimits.from_env(nats_url), max_bytes=CHECKPOINTS_MAX_BYTES, max_age=0.0)


def stream_config(stream: str, limits: StreamLimits) -> StreamConfig:
    if stream == CHECKPOINTS_STREAM:
        return StreamConfig(
            name=stream,
            subjects=[CHECKPOINTS],
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW,
            description="Casework: the notary's signed checkpoints, in order (docs/adr/014)",
            num_replicas=limits.replicas,
            max_bytes=limits.max_bytes,
            discard=DiscardPolicy.OLD,
            deny_delete=True,
            deny_purge=True,
        )
    return StreamConfig(
        name=stream,
        subjects=list(STREAM_SUBJECTS),
        storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW,
        description="Casework: every case event, in order; dead letters under casework.dlq",
        num_replicas=limits.replicas,
        max_bytes=limits.max_bytes,
        max_age=limits.max_age or None,
        discard=DiscardPolicy.OLD,
    )


async def provision_stream(
    js: JetStreamContext, stream: str = STREAM, limits: StreamLimits | None = None
) -> None:
    """`ensure_stream`, then make an existing stream's replicas and limits those configured
    (a stream made on one node gets 3 replicas once the cluster has 3 nodes)."""
    limits = limits or StreamLimits.from_env()
    await ensure_stream(js, stream, limits)
    info = await js.stream_info(stream)
    have = info.config
    want = (limits.replicas, limits.max_bytes, float(limits.max_age or 0))
    if (have.num_replicas or 1, have.max_bytes or -1, float(have.max_age or 0)) == want:
        return
    log.info(
        "relay: updating stream %s to %d replica(s), max %d bytes, max age %s s",
        stream,
        *want,
    )
    changed = replace(
        have,
        num_replicas=limits.replicas,
        max_bytes=limits.max_bytes,
        max_age=limits.max_age or None,
    )
    await js.update_stream(changed)
