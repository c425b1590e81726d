"""The relay: the event store is the outbox, JetStream the post.

It follows the store's notification log and publishes every case event, in log order, to the
CASEWORK stream as its public contract (JSON body, CloudEvents headers). Exactly once on the
stream, without a checkpoint of its own:

- Its position is read back from the stream on start and again after any failure
  (`casework.messaging.relay_position`): each message says its event's notification id and the
  position the relay had when it sent it, so a crash, a SIGKILL or an outage resumes where the
  stream has every event before, and sends only what the stream lacks, nothing skipped.
- `Nats-Msg-Id` is the event's id (`<case_id>:<version>`): a message that reached the server
  although its ack was lost, and is sent again at once, is dropped by the stream's duplicate
  window (2 minutes).
- It reads "ids greater than the last seen", never "last + 1": notification ids can have gaps.
- Events of a service's own aggregates kept in the same store (dispatch's roster) are not case
  events and are not published (`casework.topics.is_case_topic`); the relay reads past them.

Messages go out in windows (`casework.messaging.relay_windows`), pipelined on one connection (so
in order); the next window is read while the current one's acks are awaited. A window is
published only after every ack of the one before it came back, and the position moves past an
event only once its ack and those of all events before it in its window are in (`unbroken`).
Within a window the server may store event k+1 although k's ack failed (timed out, no
responders during a leader change); the stream's last message then says k+1, but also that its
window started before k, so the relay goes on from there and sends k, and not k+1 again; the
same holds for a relay killed then and started again. What holds: every event reaches the
stream once; an event comes after a later one only within one window's span (`batch_size`
notifications), where a failed ack can put k after k+1 (consumers track each message by its
stream sequence, `casework.messaging.tracked`, and may see a case's version v+1 before v).

On PostgreSQL a LISTEN thread wakes the relay when events are written; on a SQLite file, `PRAGMA
data_version` asked when inotify says the file was written (every 2 ms where it cannot watch;
`casework.sqlite_changes`) does. Both also poll, once a second (`WOKEN_POLL`; every 0.1 s on a
SQLite file without inotify), so a lost NOTIFY (eventsourcing issue #305) only delays it by one
poll interval.

Outages (`casework.outages`): `run` never ends because the store or NATS is unreachable, however
long: it logs the outage once, retries with a capped, jittered backoff, logs when it is back, and
re-reads its position from the stream, so nothing is skipped or published twice. `run_once` is a
one-shot: it gives up after a few attempts and raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Sequence
from typing import Any

import nats
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from casework.application import Casework
from casework.messaging.nats_users import client_options, servers
from casework.messaging.relay_position import resume_point
from casework.messaging.relay_windows import (
    Outgoing,
    StoreReader,
    Windows,
    envelope,
    unbroken,
)
from casework.messaging.stream import ensure_stream, provision_stream
from casework.messaging.stream_limits import StreamLimits
from casework.messaging.subjects import STREAM
from casework.outages import NATS_DOWN, OUTAGES, STORE_DOWN, Outages, StoppedError
from casework.sqlite_changes import SqliteChanges

log = logging.getLogger(__name__)

__all__ = [
    "Outgoing",
    "Relay",
    "StoreReader",
    "ensure_stream",
    "envelope",
    "provision_stream",
    "unbroken",
]

RETRYABLE: tuple[type[BaseException], ...] = OUTAGES
"""Errors after which the relay forgets its position and tries again: NATS or the store away."""


class PostgresWaker:
    """LISTEN on the store's channel in a thread; each NOTIFY sets an asyncio event."""

    def __init__(
        self,
        app: Casework,
        loop: asyncio.AbstractEventLoop,
        wake: asyncio.Event,
        outages: Outages | None = None,
    ):
        self.app = app
        self.loop = loop
        self.wake = wake
        self.outages = outages or Outages("relay (LISTEN)", log)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="relay-listen", daemon=True)

    @staticmethod
    def applies_to(app: Casework) -> bool:
        return hasattr(app.recorder, "channel_name") and hasattr(app.recorder, "datastore")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _listen(self) -> None:
        from psycopg.sql import SQL, Identifier

        recorder: Any = self.app.recorder

        def listen() -> None:
            with recorder.datastore.get_connection() as conn:
                conn.execute(SQL("LISTEN {0}").format(Identifier(recorder.channel_name)))
                self.outages.recovered()
                self.loop.call_soon_threadsafe(self.wake.set)  # anything written meanwhile
                while not self._stopping.is_set():
                    for _ in conn.notifies(timeout=0.5, stop_after=1):
                        self.loop.call_soon_threadsafe(self.wake.set)

        while not self._stopping.is_set():  # the poll keeps the relay going meanwhile
            try:
                for attempt in self.outages.retrying_sync(self._stopping):
                    with attempt:
                        listen()
            except StoppedError:
                return
            except Exception as error:  # not an outage: say so, and listen again shortly
                log.warning("relay: LISTEN failed (%s); polling until it is back", error)
                self._stopping.wait(2.0)


WOKEN_POLL = 1.0
"""The relay's poll interval where a commit wakes it (NOTIFY, inotify): the poll only covers a
missed wake-up. Where it polled every 0.1 s on a watched SQLite file, the idle relay read the
store ten times a second: 7-8 ms of CPU a second on the 2-core box (issue 16, `bench/idle.py`)."""


class Relay:
    """Follows the notification log and publishes to JetStream; see the module docstring."""

    def __init__(
        self,
        app: Casework,
        nats_url: str,
        *,
        stream: str = STREAM,
        batch_size: int = 500,
        poll_interval: float | None = None,
        publish_timeout: float = 5.0,
        retry_wait: float = 0.25,
        start_after: int | None = None,
        limits: StreamLimits | None = None,
        connect_options: dict[str, Any] | None = None,
    ) -> None:
        """`start_after`: publish from this notification id on instead of where the stream
        ends (a re-publish of what is inside the duplicate window is dropped there).
        `nats_url`: one server or several, comma-separated (a cluster's nodes). `limits`: the
        stream's replicas and limits (default `StreamLimits.from_env`). `connect_options`:
        nats-py's (default: the user `NATS_USER`/`NATS_PASSWORD_FILE` name, if any)."""
        self.app = app
        self.nats_url = nats_url
        self.limits = limits or StreamLimits.from_env(nats_url)
        self.connect_options = (
            client_options() if connect_options is None else dict(connect_options)
        )
        self.stream = stream
        self.batch_size = batch_size
        is_postgres = PostgresWaker.applies_to(app)
        self._poll_given = poll_interval
        self.poll_interval = poll_interval or (WOKEN_POLL if is_postgres else 0.1)
        """Seconds between two reads of the store while nothing wakes the relay: unless given,
        `WOKEN_POLL` where something does (NOTIFY; on a SQLite file, inotify: `run` sets it
        each time it starts), else 0.1."""
        self.publish_timeout = publish_timeout
        self.retry_wait = retry_wait
        self.windows = Windows(StoreReader(app), batch_size, publish_timeout)
        self.position: int | None = start_after
        """The notification id up to which every case event is on the stream; None: to be read
        back from the stream (`casework.messaging.relay_position`) before the next window."""
        self._held: frozenset[int] = frozenset()
        """Notification ids past the position that the stream holds already (stored from a
        window whose acks did not all come back): not sent again."""
        self.published = 0
        """Messages the stream accepted as new during this run (duplicates not counted)."""
        self.duplicates = 0
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._wake: asyncio.Event | None = None
        self._changes: SqliteChanges | None = None
        self._closing = False
        self.outages = Outages("relay", log)
        """The store's and NATS's state as the relay sees them; each change logged once."""
        self.listen_outages = Outages("relay (LISTEN)", log)
        """The LISTEN thread's, kept here so a relay run again (after standing by) goes on
        with the same outage rather than logging it a second time."""

    # ------------------------------------------------------------ entry points

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Publish forever (until `stop` is set), through NATS outages.

        May be called again after it returned (a relay that lost its lock and got it back): it
        re-reads its position from the stream, where another relay may have published meanwhile.
        """
        stop = stop or asyncio.Event()
        if self._closing:  # run before: another relay may have published since
            self.position = None
            self._closing = False
        self._wake = asyncio.Event()
        waker: PostgresWaker | None = None
        if PostgresWaker.applies_to(self.app):
            waker = PostgresWaker(
                self.app, asyncio.get_running_loop(), self._wake, outages=self.listen_outages
            )
            waker.start()
        else:
            self._changes = SqliteChanges.of(self.app)
            watched = self._changes is not None and self._changes.watching
            self.poll_interval = self._poll_given or (WOKEN_POLL if watched else 0.1)
        try:
            while not stop.is_set():
                try:
                    sent = await self._step_through_outages(stop)
                except StoppedError:
                    break
                if sent == 0:
                    await self._idle(stop)
        finally:
            if waker is not None:
                waker.stop()
            if self._changes is not None:
                self._changes.close()
                self._changes = None
            await self.close()

    async def run_once(self, attempts: int = 20) -> int:
        """Publish whatever is not yet on the stream, then return how many were new.

        A one-shot: a failure is tried again up to `attempts` times in a row (`retry_wait`
        apart), then raised. Connecting to NATS is bounded: an unreachable server fails the
        first attempt within `connect_timeout` and is not waited for.
        """
        stop = asyncio.Event()
        failures = 0
        try:
            while True:
                try:
                    if await self._forgetting(self._step(stop)) == 0:
                        return self.published
                    failures = 0
                except RETRYABLE as error:
                    failures += 1
                    if failures >= attempts or self._nc is None or isinstance(error, STORE_DOWN):
                        raise
                    await asyncio.sleep(self.retry_wait)
        finally:
            await self.close()

    async def _step_through_outages(self, stop: asyncio.Event) -> int:
        """One step, again with backoff while the store or NATS is away (said once, and when it
        is back); `StoppedError` on stop. The first try is made without the retrying machinery:
        tenacity's was a sixth of the relay's main-thread CPU in a profile at 20 reports/s, when
        every step (some four a report) built it. A failure is tried again at once through it."""
        try:
            sent = await self._forgetting(self._step(stop))
        except RETRYABLE:
            pass
        else:
            if self.outages.down:
                self.outages.recovered()
            return sent
        async for attempt in self.outages.retrying(stop, RETRYABLE):
            with attempt:
                sent = await self._forgetting(self._step(stop))
        self.outages.recovered()
        return sent

    async def _forgetting(self, step: Any) -> int:
        """Await one step; after an outage error, re-read the position from the stream (and
        reconnect, if the connection gave up) before the next one."""
        try:
            sent: int = await step
        except RETRYABLE as error:
            self.position = None
            self.windows.forget_ahead()
            if isinstance(error, NATS_DOWN) and self._nc is not None and self._nc.is_closed:
                self._nc, self._js = None, None
            raise
        return sent

    async def close(self) -> None:
        self._closing = True
        self.windows.forget_ahead()
        await self.windows.settle()
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                await nc.close()

    # ---------------------------------------------------------------- the work

    async def _step(self, stop: asyncio.Event) -> int:
        """Connect if needed, learn the position if unknown, publish one window (and start
        reading the next while its acks are awaited); how many events it sent (at least 1 when
        the log goes on, 0 when there was nothing new)."""
        js = await self._jetstream()
        if self.position is None:
            resume = await resume_point(js, self.stream)
            self.position, self._held = resume.position, resume.held
            log.info(
                "relay: the stream holds every event up to notification %d%s",
                self.position,
                f" and {len(self._held)} after it" if self._held else "",
            )
        position = self.position
        batch, last = await self.windows.read(position)
        if last == position or stop.is_set():
            return 0
        if self._held:
            batch = [m for m in batch if m.notification_id not in self._held]
        if batch:
            acks = await self.windows.send(js, self.stream, batch, after=position)
            self.windows.read_ahead(last)  # overlaps the round trip of this window
            await self._acknowledged(batch, acks)
        self.position = last  # past the skipped events too, once the window is published
        if self._held:
            self._held = frozenset(i for i in self._held if i > last)
        return len(batch) or 1  # a window of skipped events only: read on at once

    async def _acknowledged(
        self, batch: Sequence[Outgoing], futures: list[asyncio.Future[Any]]
    ) -> None:
        """Wait for a window's acks; the position moves past each event whose ack is in and
        whose window has no failed ack before it. If any failed, raise the first failure: the
        retry reads the position back from the stream, from this window's start on."""
        outcomes = await self.windows.outcomes(futures)
        through = unbroken(outcomes)
        for message, ack in zip(batch[:through], outcomes[:through], strict=True):
            if ack.duplicate:
                self.duplicates += 1
            else:
                self.published += 1
            self.position = message.notification_id
        if through < len(outcomes):
            failure = outcomes[through]
            assert isinstance(failure, BaseException)
            raise failure

    async def _jetstream(self) -> JetStreamContext:
        if self._nc is not None and self._js is not None and not self._nc.is_closed:
            if not self._nc.is_connected:
                raise nats.errors.ConnectionClosedError
            return self._js
        # nats-py retries a first connect for ever when reconnecting is allowed: a bounded
        # attempt here, and the outage loop around `_step` for the retries.
        nc = await asyncio.wait_for(
            nats.connect(
                servers(self.nats_url),
                name="casework-relay",
                connect_timeout=2,
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0.2,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                **self.connect_options,
            ),
            self.publish_timeout,
        )
        self._nc = nc
        self._js = self._nc.jetstream(
            timeout=self.publish_timeout,
            publish_async_max_pending=max(4000, 2 * self.batch_size),
        )
        await provision_stream(self._js, self.stream, self.limits)
        return self._js

    async def _idle(self, stop: asyncio.Event) -> None:
        """Wait for a commit (SQLite's data_version), a NOTIFY (PostgreSQL) or the poll
        interval, or stop."""
        assert self._wake is not None
        self.windows.forget_ahead()
        if self._changes is not None:
            await self._changes.wait(self.poll_interval, stop)
            return
        wake, stopping = (
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(stop.wait()),
        )
        try:
            await asyncio.wait(
                {wake, stopping}, timeout=self.poll_interval, return_when="FIRST_COMPLETED"
            )
        finally:
            wake.cancel()
            stopping.cancel()
        self._wake.clear()

    async def _on_error(self, error: Exception) -> None:
        log.debug("relay: nats error: %s", error)

    async def _on_disconnected(self) -> None:
        if not self._closing:
            self.outages.failed(nats.errors.ConnectionClosedError())
