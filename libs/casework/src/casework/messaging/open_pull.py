"""A pull request kept open on a durable consumer: what `Consumer` fetches its batches through.

nats-py 2.x's `PullSubscription.fetch` publishes a `no_wait` probe on every call and, when the
stream is drained, a second, lingering pull request, and waits for each message in a task of
its own (`next_msg`). At a few messages per fetch, as a service's consumer runs, that was about
half of dispatch's event-loop CPU (issue 16). A JetStream pull request needs none of that per
fetch: one request asks for up to `batch` messages and stays open until they are all delivered
or it expires, when the server says so (status 408). So one request is kept outstanding; a new
one is sent only when the last is spent (its messages delivered, expired, or ended by the
server), and a fetch takes the messages that have arrived, waiting only when none has.

What a message delivered here becomes is unchanged: the consumer handles and acks (or naks, or
dead-letters) it as before. `close` returns the messages delivered but never fetched, for the
consumer to give back (nak) at once rather than leave them to `ack_wait`. A request that may
have been lost with the connection (NATS restarting, a reconnect to another node) is replaced
as soon as a fetch finds the client has reconnected since it was sent (nats-py counts its
reconnects); any other request the server falls silent on, once its expiry has passed,
`LOST_AFTER` later. So the expiry can be longer than a fetch's wait
(`SubscriptionSettings.request_expires`): an idle consumer renews its request once every
expiry, not on every fetch. A request replaced after a reconnect may still be alive on the
server (a blip, another node): each request has a reply subject of its own, and only the open
one's statuses count (a status comes on its request's subject; a message keeps the subject it
was published on), so an old one's expiry neither ends the new one nor makes requests pile up;
what it still delivers is fetched like the rest. No request is sent while the client is
disconnected (nats-py would buffer it and send it late, beside the one sent on reconnecting).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

STATUS = "Status"
DESCRIPTION = "Description"
HEARTBEAT = "100"
NO_MESSAGES = "404"
EXPIRED = "408"
ENDED = "409"
"""JetStream's statuses on a pull request's inbox: an idle heartbeat; nothing there (only for
`no_wait`, which is not sent); the request expired; the request ended for another reason (the
consumer deleted, too many waiting requests, a leader change, the server shutting down)."""

LOST_AFTER = 0.5
"""Seconds past a request's expiry after which, with no word from the server, it counts as lost
(its 408 would have come by then) and another is sent."""


class OpenPull:
    """Up to `batch` messages at a time from `durable` on `stream`, one pull request open at a
    time (see the module docstring). `start` before `fetch`; `close` at the end."""

    def __init__(
        self,
        nc: Client,
        stream: str,
        durable: str,
        *,
        batch: int,
        expires: float,
        api_prefix: str = "$JS.API",
    ) -> None:
        if batch < 1 or expires <= 0:
            raise ValueError("a pull request asks for at least one message, for some time")
        self._nc = nc
        self._next_subject = f"{api_prefix}.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._batch = batch
        self._expires = expires
        self._sub: Subscription | None = None
        self._inbox = ""
        self._reply = ""
        """The open request's reply subject (`<inbox>.<n>`): the statuses that count."""
        self._arrived: deque[Msg] = deque()
        self._signal = asyncio.Event()
        self._owed = 0
        """Messages the open request may still deliver; 0: none open."""
        self._lost_at = 0.0
        """When (`time.monotonic`) the open request counts as lost if the server said nothing."""
        self._sent_on = -1
        """The connection's reconnect count when the open request was sent: once it differs,
        the request may have been lost with the connection it was sent on."""
        self._ended_quietly = False
        """The last request ended with no message and a status other than its expiry: the next
        waits for the fetch's timeout, so a server that keeps ending requests is not asked in a
        tight loop."""
        self._refusal: Msg | None = None
        self.requests = 0
        """Pull requests sent so far (for tests and benchmarks)."""

    async def start(self) -> None:
        if self._sub is not None:
            return
        self._inbox = self._nc.new_inbox()
        self._sub = await self._nc.subscribe(f"{self._inbox}.*", cb=self._arrive)

    async def _arrive(self, msg: Msg) -> None:
        """Each delivery to the inbox, in order: a message, or the server's word on a request
        (the open one's; an earlier request's, still alive after a reconnect, is passed over).
        A message cannot say which request it came by (it keeps the subject it was published
        on): each counts against the open one, which at worst is renewed a little early."""
        status = msg.headers.get(STATUS) if msg.headers else None
        if status is None:
            self._owed -= 1
            self._arrived.append(msg)
        elif status == HEARTBEAT or msg.subject != self._reply:
            return
        elif status in (NO_MESSAGES, EXPIRED):
            self._owed = 0
        elif status == ENDED and "deleted" not in (msg.headers or {}).get(DESCRIPTION, "").lower():
            self._owed = 0
            self._ended_quietly = True
        else:  # the consumer deleted, no such consumer (503), anything else: the caller's to see
            self._owed = 0
            self._refusal = msg
        self._signal.set()

    async def fetch(self, batch: int, timeout: float) -> list[Msg]:
        """Up to `batch` messages, as soon as one has arrived; `nats.errors.TimeoutError` when
        none has within `timeout`; `nats.js.errors.APIError` when JetStream refused the request
        (the consumer deleted or missing)."""
        if self._sub is None:
            raise (
                nats.errors.ConnectionClosedError
                if self._nc.is_closed
                else ValueError("OpenPull.start was not awaited")
            )
        deadline = time.monotonic() + timeout
        while not self._arrived:
            refusal, self._refusal = self._refusal, None
            if refusal is not None:
                nats.js.errors.APIError.from_msg(refusal)
            now = time.monotonic()
            if now >= deadline:
                raise nats.errors.TimeoutError
            if self._ended_quietly:
                self._ended_quietly = False
                self._signal.clear()
                await self._wait(deadline - now)
                continue
            if not self._nc.is_connected and not self._nc.is_closed:  # reconnecting: wait
                self._signal.clear()
                await self._wait(deadline - now)
                continue
            if self._owed <= 0 or now >= self._lost_at or self._reconnected():
                await self._request()
                continue  # anything that arrived while it was sent is taken first
            self._signal.clear()
            await self._wait(min(deadline, self._lost_at) - now)
        return self.arrived(batch)

    def _reconnected(self) -> bool:
        """Whether the client reconnected since the open request was sent."""
        return int(self._nc.stats["reconnects"]) != self._sent_on

    def arrived(self, batch: int) -> list[Msg]:
        """Up to `batch` of the messages that have arrived, without waiting or asking."""
        count = min(batch, len(self._arrived))
        return [self._arrived.popleft() for _ in range(count)]

    async def _wait(self, seconds: float) -> None:
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await self._signal.wait()
        except TimeoutError:
            pass

    async def _request(self) -> None:
        if self._nc.is_closed:
            raise nats.errors.ConnectionClosedError
        request = {"batch": self._batch, "expires": int(self._expires * 1_000_000_000)}
        self.requests += 1
        self._reply = f"{self._inbox}.{self.requests}"
        self._owed = self._batch
        self._lost_at = time.monotonic() + self._expires + LOST_AFTER
        self._sent_on = int(self._nc.stats["reconnects"])
        await self._nc.publish(self._next_subject, json.dumps(request).encode(), self._reply)

    async def close(self) -> list[Msg]:
        """Stop taking deliveries; the messages delivered but not fetched, to be given back."""
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()
        left = list(self._arrived)
        self._arrived.clear()
        self._owed = 0
        return left
