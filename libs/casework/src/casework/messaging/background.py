"""A service's NATS consumer, connected and bound in the background.

A service must serve (and its `/readyz` say "NATS unreachable") while NATS is away, also when
NATS is away at start: so the lifespan only starts this; connecting (which waits for NATS for
ever, one line each way, `casework.outages.connect_nats`), making sure the stream exists and
binding the durable consumer (retried through outages with backoff) happen in a task, which
then runs the consumer until `stop`. `nc` is None until connected (`/readyz`: "not connected
yet").

`consume_in_background` is how a service starts its case feed on NATS: its handler, its parser
and its `SubscriptionSettings`, nothing else, so every service connects, names itself and
starts the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from nats.aio.client import Client

from casework.application import Casework
from casework.logs import describe
from casework.messaging.consumer import Consumer, Handler, Parser, SubscriptionSettings
from casework.messaging.relay import ensure_stream
from casework.outages import NATS_DOWN, Outages, StoppedError, connect_nats

log = logging.getLogger(__name__)

E = TypeVar("E")


class ConsumerInBackground:
    """Connect to `url` as `name`, bind `build(nc)`'s consumer and run it, in one task."""

    def __init__(self, url: str, name: str, build: Callable[[Client], Consumer[Any]]) -> None:
        self.url = url
        self.name = name
        self.build = build
        self.nc: Client | None = None
        self.consumer: Consumer[Any] | None = None
        self.task: asyncio.Task[None] | None = None
        self.ended: BaseException | None = None
        """Why the consumer stopped on its own (not an outage: those it rides out)."""
        self._stopping = asyncio.Event()

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=self.name)
        self.task.add_done_callback(self._ended)

    async def _run(self) -> None:
        self.nc = await connect_nats(self.url, self.name)
        consumer = self.build(self.nc)
        outages = Outages(self.name, log)
        try:
            async for attempt in outages.retrying(self._stopping, NATS_DOWN):
                with attempt:
                    await ensure_stream(self.nc.jetstream())  # the relay may not have run yet
                    await consumer.subscribe()
        except StoppedError:
            return
        outages.recovered()
        self.consumer = consumer
        if not self._stopping.is_set():
            await consumer.run()

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._stopping.is_set():
            return
        error = task.exception()
        if error is not None:  # run() has logged its own; this covers connecting and binding
            self.ended = error
            log.error("%s: the NATS consumer ended", self.name, exc_info=error)

    def status(self) -> str | None:
        """For `/readyz`: why the consumer is not running, or None while it is (or connects)."""
        if self.ended is None:
            return None
        return f"unreachable: the consumer stopped ({describe(self.ended)}); restart the service"

    async def stop(self) -> None:
        """Stop the consumer (it settles what it holds), or stop waiting for NATS; drain."""
        self._stopping.set()
        if self.consumer is not None:
            await self.consumer.stop()
        task = self.task
        if task is not None:
            if self.consumer is None:
                task.cancel()  # still connecting or binding: nothing in hand
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.drain()


SERVICE_FETCH_TIMEOUT = 0.5
"""Seconds a service's consumer waits on an empty fetch: it notices `stop` within half a second,
so a service shuts down promptly."""


def consume_in_background(
    url: str,
    app: Casework,
    handler: Handler[E],
    parse: Parser[E],
    *,
    service: str,
    durable: str,
    subjects: Sequence[str],
    ack_wait: float | None = None,
    linger: float = 0.0,
) -> ConsumerInBackground:
    """Start the service's durable consumer `durable` on NATS at `url`, filtered on the server
    to `subjects`, connected as `casework-<service>` and run in a task: the app serves
    meanwhile, and `/readyz` says NATS is unreachable until it is connected. `ack_wait`,
    `linger`: as `SubscriptionSettings` (its default unless given). `stop()` the answer when
    the service stops."""
    settings = SubscriptionSettings(
        service=service,
        durable=durable,
        filter_subjects=tuple(subjects),
        fetch_timeout=SERVICE_FETCH_TIMEOUT,
        linger=linger,
    )
    if ack_wait is not None:
        settings = replace(settings, ack_wait=ack_wait)

    def build(nc: Client) -> Consumer[E]:
        return Consumer(nc, app, handler, parse, settings)

    feed = ConsumerInBackground(url, f"casework-{service}", build)
    feed.start()
    return feed
