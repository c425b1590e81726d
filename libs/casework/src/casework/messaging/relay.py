"""The relay: the event store is the outbox, JetStream the post.

It follows the store's notification log and publishes every case event, in log order, to the
CASEWORK stream as its public contract (JSON body, CloudEvents headers). Exactly once on the
stream, without a checkpoint of its own:

- Its position is the notification id in the header of the last case event on the stream. It is
  read from the stream on start and again after any failure, so a crash or outage resumes right
  after what the stream really holds, and nothing is skipped.
- `Nats-Msg-Id` is the event's id (`<case_id>:<version>`): a message that reached the server
  although its ack was lost, and is sent again, is dropped by the stream's duplicate window.
- It reads "ids greater than the last seen", never "last + 1": notification ids can have gaps.
- Events of a service's own aggregates kept in the same store (dispatch's roster) are not case
  events and are not published (`casework.topics.is_case_topic`); the relay reads past them.

Messages go out in windows, pipelined on one connection (so in order); after a failure the
window restarts from the stream's position. eventsourcing is synchronous: store reads run in a
worker thread, and the next window is read while the current one's acks are awaited (the read
and the round trip overlap). A window is published only after every ack of the one before it
came back, and the position moves past an event only once its ack and those of all events
before it in its window are in (`unbroken`). Within a window the server may store event k+1
although k's ack failed (timed out, no responders during a leader change); the stream's last
message then says k+1, so after such a broken window the relay does not go on from the stream's
tail but publishes again from k (`Nats-Msg-Id` drops k+1 and whatever else the stream holds,
within the duplicate window). What holds: every event reaches the stream, once within the
duplicate window; an event is never on the stream before an event of an EARLIER window; but
within one window a failed ack can put k after k+1 (consumers track each message by its stream
sequence, `casework.messaging.tracked`, and may see a case's version v+1 before v). On
PostgreSQL a LISTEN thread wakes the relay when
events are written; on a SQLite file, `PRAGMA data_version` asked every 2 ms while idle
(`casework.sqlite_changes`) does. Both also poll, so a lost NOTIFY (eventsourcing issue
#305) only delays it by one poll interval.

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
from dataclasses import dataclass
from typing import Any

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

from casework.application import Casework
from casework.contracts import CaseEvent
from casework.messaging.dead_letter import HEADER_REPLAY_OF
from casework.messaging.nats_users import client_options, servers
from casework.messaging.store_contracts import CACHE_SIZE, StoreContracts
from casework.messaging.stream import ensure_stream, provision_stream
from casework.messaging.stream_limits import StreamLimits
from casework.messaging.subjects import (
    CE_SPECVERSION,
    EVENTS,
    HEADER_MSG_ID,
    HEADER_NOTIFICATION_ID,
    HEADER_TIER,
    STREAM,
    source_for,
    subject_for,
)
from casework.outages import NATS_DOWN, OUTAGES, STORE_DOWN, Outages, StoppedError
from casework.sqlite_changes import SqliteChanges

log = logging.getLogger(__name__)

__all__ = ["Relay", "StoreReader", "ensure_stream", "envelope", "provision_stream"]

RETRYABLE: tuple[type[BaseException], ...] = OUTAGES
"""Errors after which the relay forgets its position and tries again: NATS or the store away."""


@dataclass(frozen=True)
class Outgoing:
    """One event ready to publish."""

    notification_id: int
    subject: str
    headers: dict[str, str]
    body: bytes


def envelope(contract: CaseEvent, notification_id: int) -> tuple[str, dict[str, str], bytes]:
    """Subject, headers (CloudEvents binary mode + NATS de-duplication) and JSON body."""
    headers = {
        HEADER_MSG_ID: contract.event_id,
        "ce-specversion": CE_SPECVERSION,
        "ce-id": contract.event_id,
        "ce-type": contract.type,
        "ce-source": source_for(contract),
        "ce-subject": str(contract.case_id),
        "ce-time": contract.occurred_at.isoformat(),
        "ce-datacontenttype": "application/json",
        HEADER_TIER: contract.tier,
        HEADER_NOTIFICATION_ID: str(notification_id),
    }
    return subject_for(contract), headers, contract.model_dump_json().encode()


FOREIGN_LOOKBACK = 10_000
"""How many messages back the relay looks past ones it did not publish before it gives up."""


def _is_case_subject(subject: str) -> bool:
    tokens = subject.split(".")
    return len(tokens) == 5 and tokens[0] == "casework" and tokens[1] != "dlq"


async def stream_position(
    js: JetStreamContext, stream: str = STREAM, lookback: int = FOREIGN_LOOKBACK
) -> int:
    """The notification id of the last case event the relay published, 0 when there is none.

    A message someone else published on a case subject (a hand-made test message, a replay tool)
    carries no notification id; the relay looks back past such messages rather than refusing to
    start, and warns, because they are not part of any case file (quietly for a dead letter put
    back by `casework dlq replay`, which is a copy of an event it published).
    """
    try:
        last = await js.get_last_msg(stream, EVENTS)
    except nats.js.errors.NotFoundError:
        return 0
    seq = last.seq or 0
    message: Any = last
    for _ in range(lookback):
        headers = message.headers or {}
        if _is_case_subject(message.subject or ""):
            value = headers.get(HEADER_NOTIFICATION_ID)
            if value is not None:
                return int(value)
            if HEADER_REPLAY_OF not in headers:
                log.warning(
                    "message seq %s on %s has no %s header (not published by the relay); "
                    "looking further back",
                    message.seq,
                    message.subject,
                    HEADER_NOTIFICATION_ID,
                )
        seq -= 1
        if seq < 1:
            return 0
        try:
            message = await js.get_msg(stream, seq=seq)
        except nats.js.errors.NotFoundError:  # deleted, or purged by retention
            continue
    raise RuntimeError(
        f"none of the last {lookback} messages on {stream} before seq {last.seq} carries a "
        f"{HEADER_NOTIFICATION_ID} header, so the relay cannot tell where it is; "
        "remove the messages that were not published by the relay"
    )


class StoreReader:
    """Reads notifications after a position and turns them into outgoing messages (sync); each
    event's contract is made by `StoreContracts`, as a service's store feed makes it."""

    def __init__(self, app: Casework, cache_size: int = CACHE_SIZE) -> None:
        self.app = app
        self.contracts = StoreContracts(app, cache_size)

    def after(self, position: int, limit: int) -> list[Outgoing]:
        return self.read(position, limit)[0]

    def read(self, position: int, limit: int) -> tuple[list[Outgoing], int]:
        """The case events among the next `limit` notifications, and the last id read.

        The last id read can be beyond the last case event (other aggregates' events are
        skipped): the relay moves its position there, or a window of nothing but skipped events
        would hold it in place for ever.
        """
        notifications = self.app.recorder.select_notifications(start=position + 1, limit=limit)
        batch: list[Outgoing] = []
        last = position
        for notification in notifications:
            if notification.id <= position:  # never go back, whatever the recorder returns
                continue
            last = max(last, notification.id)
            contract = self.contracts.of_notification(notification)
            if contract is None:
                continue
            subject, headers, body = envelope(contract, notification.id)
            batch.append(Outgoing(notification.id, subject, headers, body))
        return batch, last


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
        self.poll_interval = poll_interval or (1.0 if is_postgres else 0.1)
        self.publish_timeout = publish_timeout
        self.retry_wait = retry_wait
        self.reader = StoreReader(app)
        self.position: int | None = start_after
        self.published = 0
        """Messages the stream accepted as new during this run (duplicates not counted)."""
        self.duplicates = 0
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._wake: asyncio.Event | None = None
        self._changes: SqliteChanges | None = None
        self._resume_at: int | None = None
        """After a broken window: the notification id up to which every ack came back, where to
        go on from even if the stream's tail is further (a later event of the window stored)."""
        self._ahead: tuple[int, asyncio.Future[tuple[list[Outgoing], int]]] | None = None
        """The next window, being read while the current one's acks are awaited: (from, read)."""
        self._abandoned: asyncio.Future[tuple[list[Outgoing], int]] | None = None
        """A read ahead that was dropped but whose thread may still run: awaited before the next
        read, so two reads never share the reader (its place cache) at once."""
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
        if self._closing:  # run before: what the stream holds now is where to go on from
            self.position = None
            self._resume_at = None  # another relay may have published since
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
        try:
            while not stop.is_set():
                try:
                    async for attempt in self.outages.retrying(stop, RETRYABLE):
                        with attempt:
                            sent = await self._forgetting(self._step(stop))
                except StoppedError:
                    break
                self.outages.recovered()
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

    async def _forgetting(self, step: Any) -> int:
        """Await one step; after an outage error, re-read the position from the stream (and
        reconnect, if the connection gave up) before the next one."""
        try:
            sent: int = await step
        except RETRYABLE as error:
            self.position = None
            self._forget_ahead()
            if isinstance(error, NATS_DOWN) and self._nc is not None and self._nc.is_closed:
                self._nc, self._js = None, None
            raise
        return sent

    async def close(self) -> None:
        self._closing = True
        self._forget_ahead()
        await self._settle_abandoned()
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(Exception):
                await nc.close()

    # ---------------------------------------------------------------- the work

    async def _step(self, stop: asyncio.Event) -> int:
        """Connect if needed, learn the position if unknown, publish one window (and start
        reading the next while its acks are awaited)."""
        js = await self._jetstream()
        if self.position is None:
            self.position = await stream_position(js, self.stream)
            log.info("relay: the stream holds events up to notification %d", self.position)
            resume_at, self._resume_at = self._resume_at, None
            if resume_at is not None and resume_at < self.position:
                log.warning(
                    "relay: an ack after notification %d did not come back, but the stream "
                    "holds up to %d; publishing again from %d (duplicates are dropped)",
                    resume_at,
                    self.position,
                    resume_at,
                )
                self.position = resume_at
        batch, last = await self._read(self.position)
        if last == self.position or stop.is_set():
            return 0
        if batch:
            acks = await self._send(js, batch)
            self._read_ahead(last)  # overlaps the round trip of this window
            await self._acknowledged(batch, acks)
        self.position = last  # past the skipped events too, once the window is published
        return len(batch) or 1  # a window of skipped events only: read on at once

    async def _read(self, position: int) -> tuple[list[Outgoing], int]:
        """The window after `position`: the one read ahead if it starts there, else read now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[0] == position:
            return await ahead[1]
        if ahead is not None:
            self._abandoned = ahead[1]
        await self._settle_abandoned()
        return await asyncio.to_thread(self.reader.read, position, self.batch_size)

    def _read_ahead(self, position: int) -> None:
        self._forget_ahead()
        loop = asyncio.get_running_loop()
        read = loop.run_in_executor(None, self.reader.read, position, self.batch_size)
        read.add_done_callback(_quietly)
        self._ahead = (position, read)

    def _forget_ahead(self) -> None:
        """Drop a window read ahead: after a failure or when idle it may be stale (a read that
        found nothing new must be made again after a wake). Its thread cannot be stopped (a
        cancelled future leaves it running), so it is kept to be awaited before the next read."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            self._abandoned = ahead[1]

    async def _settle_abandoned(self) -> None:
        """Wait for a dropped read ahead's thread to end (its result or error is of no use)."""
        abandoned, self._abandoned = self._abandoned, None
        if abandoned is not None and not abandoned.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(abandoned)

    async def _send(
        self, js: JetStreamContext, batch: Sequence[Outgoing]
    ) -> list[asyncio.Future[Any]]:
        """Queue a window on the connection; the futures of its acks.

        No `wait_stall`: nats-py wraps the pending-semaphore in `asyncio.wait_for` when it is
        given, which yields to the loop on every message and so flushes (a `send` syscall) each
        one alone; the context's pending limit is at least a window (`_jetstream`), and the
        acks of the window before are all in, so the semaphore never makes it wait.
        """
        futures: list[asyncio.Future[Any]] = []
        try:
            for message in batch:
                futures.append(
                    await js.publish_async(
                        message.subject,
                        message.body,
                        headers=dict(message.headers),
                        stream=self.stream,
                    )
                )
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return futures

    async def _acknowledged(
        self, batch: Sequence[Outgoing], futures: list[asyncio.Future[Any]]
    ) -> None:
        """Wait for a window's acks; the position moves past each event whose ack is in and
        whose window has no failed ack before it. If any failed, raise the first failure, and
        remember where the unbroken run ended (`_resume_at`) so the retry publishes from there."""
        try:
            await asyncio.wait(futures, timeout=self.publish_timeout)
        finally:
            for future in futures:
                future.cancel()  # those not done: their ack is given up on
        outcomes = [_outcome(future) for future in futures]
        through = unbroken(outcomes)
        for message, ack in zip(batch[:through], outcomes[:through], strict=True):
            if ack.duplicate:
                self.duplicates += 1
            else:
                self.published += 1
            self.position = message.notification_id
        if through < len(outcomes):
            self._resume_at = self.position
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
        self._forget_ahead()
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


def unbroken(outcomes: Sequence[object]) -> int:
    """How many of a window's acks, from its start, came back before the first failure (an
    exception); the position may move past those events and no further."""
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, BaseException):
            return index
    return len(outcomes)


def _outcome(future: asyncio.Future[Any]) -> Any:
    """A publish's ack, or the exception in its place (a `TimeoutError` if it never came)."""
    if future.cancelled():
        return TimeoutError("no ack within the publish timeout")
    return future.exception() or future.result()


def _quietly(future: asyncio.Future[Any]) -> None:
    """A window read ahead that is dropped or fails: its error shows when (if) it is used."""
    if not future.cancelled():
        future.exception()
