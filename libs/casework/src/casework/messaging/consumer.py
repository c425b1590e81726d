"""The consumer toolkit: a service's durable subscription to the case events, effects once.

Each service (intake, dispatch, mediation) has one durable pull consumer on stream `CASEWORK`;
every replica of the service binds to it and JetStream gives each message to one of them.

Exactly once, the eventsourcing way (`casework.messaging.tracked`, re-exported here): a handler
gets the parsed event and the `Casework` application, and runs inside `app.tracking(position)`,
so whatever it records and the position of the message it handled are written in ONE
transaction. A redelivered message whose position
is recorded is acked with no second effect; a handler that died half-way wrote nothing. The
position is the JetStream stream sequence. Because replicas, retries and naks mean messages are
NOT handled in stream order, the position is tracked per message (see `position`), never as a
high-water mark, which would skip a message handled after a later one.

Failures: a handler that raises is nak'ed with a growing delay and tried again, up to
`max_attempts` deliveries; then the message is dead-lettered (`casework.dlq.<service>`) and
acked, and the consumer moves on. A message that cannot be parsed is dead-lettered at once.
Nothing is acked before it is done or filed as a dead letter.

Most messages change nothing (another service's fact, a service's own event coming back): their
handler writes nothing, and their positions are recorded together, one transaction for the run
of them in a fetched batch, before they are acked (`Casework.record_positions`). A message whose
handler writes commits its effects with its own position at once, as above.

Replays: `casework dlq replay` puts a dead letter back on its original subject, where every
service's consumer sees it, with a `Casework-Replay-For: <service>` header; only that service
handles it, the others ack it untouched (`Outcome.NOT_OURS`).

Outages (`casework.outages`): the consumer never ends because NATS or the store is away. A fetch
that fails (NATS restarting) is retried with a capped, jittered backoff; a handler that fails
because the store cannot be reached is nak'ed with a delay WITHOUT counting towards the
dead-letter limit (an outage is nobody's bad message), the rest of its batch is given back, and
the consumer fetches nothing more until the store answers again. Each outage is logged once when
it starts and once when it ends.

Shutdown (`stop`): no new message is started; the one in hand finishes (and is acked) within
`shutdown_grace`, or is nak'ed; fetched messages not yet started are nak'ed for another replica.
Handlers are synchronous, like eventsourcing, and run in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import traceback
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import nats.errors
import nats.js.errors
from eventsourcing.persistence import IntegrityError, Tracking
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from casework.application import Casework
from casework.contracts import CaseEvent
from casework.contracts.registry import parse_event
from casework.messaging.dead_letter import (
    HEADER_REPLAY_FOR,
    Reason,
    ensure_dead_letter_stream,
    publish_dead_letter,
)
from casework.messaging.subjects import EVENTS, STREAM
from casework.messaging.tracked import (
    Handler,
    Outcome,
    handle_deferring,
    handle_tracked,
    position,
)
from casework.outages import NATS_DOWN, STORE_DOWN, Outages, StoppedError, dependency_of

__all__ = [
    "Consumer",
    "Handler",
    "Outcome",
    "Parser",
    "Stats",
    "SubscriptionSettings",
    "handle_deferring",
    "handle_tracked",
    "parse_contract",
    "position",
]

log = logging.getLogger(__name__)

E = TypeVar("E")

Parser = Callable[[Msg], E]
"""Turns a message into the event a handler takes; raises on anything it cannot read."""


def parse_contract(msg: Msg) -> CaseEvent:
    """The default parser: the public contract model named by the `ce-type` header."""
    return parse_event(msg.data, (msg.headers or {}).get("ce-type"))


@dataclass(frozen=True)
class SubscriptionSettings:
    """How one service consumes; `durable` defaults to the service name."""

    service: str
    filter_subjects: Sequence[str] = (EVENTS,)
    """Case events only: never `casework.>`, which would include the dead letters."""
    stream: str = STREAM
    durable: str | None = None
    batch: int = 10
    fetch_timeout: float = 1.0
    max_attempts: int = 5
    """Deliveries a failing message gets before it is dead-lettered (a crash does not count
    against it: the message comes back after `ack_wait` and is tried again)."""
    backoff: Sequence[float] = (0.5, 2.0, 10.0, 30.0)
    """Nak delay after the 1st, 2nd, … failed delivery (the last repeats), with ±20 % jitter."""
    ack_wait: float = 30.0
    """How long a delivery may go unanswered before JetStream redelivers it (a dead replica);
    long handlers keep it alive with progress acks."""
    max_ack_pending: int = 1000
    conflict_attempts: int = 5
    """Re-runs of a handler within one delivery when a case changed under it."""
    shutdown_grace: float = 10.0

    @property
    def consumer_name(self) -> str:
        return self.durable or self.service


@dataclass
class Stats:
    """What one consumer instance did, by outcome (for logs, metrics and tests)."""

    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome] += 1


class Consumer(Generic[E]):
    """One replica of a service's durable consumer; see the module docstring.

    `await consumer.run()` until `await consumer.stop()` (or a signal, see `stop_on_signals`).
    The caller owns the NATS connection and the application, and closes them after `run` ends.
    """

    def __init__(
        self,
        nc: Client,
        app: Casework,
        handler: Handler[E],
        parse: Parser[E],
        settings: SubscriptionSettings,
    ) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.app = app
        self.handler = handler
        self.parse = parse
        self.settings = settings
        self.stats = Stats()
        self._stopping = asyncio.Event()
        self._finished = asyncio.Event()
        self._sub: JetStreamContext.PullSubscription | None = None
        self._in_hand: Msg | None = None
        self._unrecorded: list[tuple[Msg, Tracking]] = []
        """Handled, nothing written, position not yet recorded: not acked until it is."""
        self._runner: asyncio.Task[None] | None = None
        self._abandoned = False
        self._store_failed = False
        """A handler of the current batch failed for a store outage: give the rest back."""
        self.outages = Outages(f"consumer {settings.consumer_name}", log)
        """NATS's and the store's state as this consumer sees them; each change logged once."""

    # ------------------------------------------------------------ lifecycle

    async def subscribe(self) -> None:
        """Bind to the durable consumer, creating it (and the dead-letter stream) if missing."""
        if self._sub is not None:
            return
        s = self.settings
        await ensure_dead_letter_stream(self.js)
        filters = list(s.filter_subjects)
        config = ConsumerConfig(
            durable_name=s.consumer_name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=s.ack_wait,
            max_deliver=-1,
            max_ack_pending=s.max_ack_pending,
            filter_subjects=filters if len(filters) > 1 else None,
        )
        await self._update_filters(filters)
        self._sub = await self.js.pull_subscribe(
            filters[0], durable=s.consumer_name, stream=s.stream, config=config
        )

    async def _update_filters(self, filters: list[str]) -> None:
        """An existing durable keeps the filters it was made with, but what a service consumes
        can grow: a newly installed kind (`casework.kinds`) adds its subjects. Bring the
        durable's filters in line, keeping its position and every other setting (JetStream
        updates a consumer's filters in place)."""
        s = self.settings
        try:
            info = await self.js.consumer_info(s.stream, s.consumer_name)
        except nats.js.errors.NotFoundError:
            return  # created below, with these filters
        have = info.config.filter_subjects or (
            [info.config.filter_subject] if info.config.filter_subject else []
        )
        if sorted(have) == sorted(filters):
            return
        updated = replace(
            info.config,
            filter_subject=filters[0] if len(filters) == 1 else None,
            filter_subjects=filters if len(filters) > 1 else None,
        )
        await self.js.add_consumer(s.stream, config=updated)
        log.info(
            "durable consumer %s now filters %s (was %s)",
            s.consumer_name,
            ", ".join(filters),
            ", ".join(have) or "nothing",
        )

    async def run(self) -> None:
        """Fetch and handle messages until `stop`; returns when everything in hand is settled."""
        await self.subscribe()
        assert self._sub is not None
        self._runner = asyncio.current_task()
        try:
            while not self._stopping.is_set():
                try:
                    if self.outages.is_down("store"):
                        await self._wait_for_store()
                    async for attempt in self.outages.retrying(self._stopping, _FETCH_FAILED):
                        with attempt:
                            batch = await self._fetch()
                except StoppedError:
                    break
                self._store_failed = False
                for index, msg in enumerate(batch):
                    if self._stopping.is_set() or self._store_failed:
                        await self._return(batch[index:], delay=self._delay(1))
                        break
                    self._in_hand = msg
                    try:
                        outcome = await self._settle(msg, batched=True)
                    finally:
                        self._in_hand = None
                    if outcome is not None:
                        self.settled(msg, outcome)
                await self._record_unrecorded()
        except asyncio.CancelledError:
            if not self._abandoned:
                raise
        except _ClosedError:
            raise
        except Exception:  # not an outage: end, loudly, so the process (or its owner) sees it
            log.exception("consumer %s stopped", self.settings.consumer_name)
            raise
        finally:
            await self._unsubscribe()
            self._finished.set()

    async def _fetch(self) -> list[Msg]:
        """The next batch, [] when there is none; NATS counts as up once a fetch goes through."""
        assert self._sub is not None
        try:
            batch = await self._sub.fetch(self.settings.batch, timeout=self.settings.fetch_timeout)
        except TimeoutError:  # nothing to do (nats-py raises both kinds)
            if self.nc.is_connected:
                self.outages.recovered("NATS")
            return []
        except nats.errors.ConnectionClosedError as error:  # closed by its owner: not an outage
            raise _ClosedError(str(error)) from error
        except nats.js.errors.APIError as error:
            await self._recreate_if_missing(error)
            return []
        self.outages.recovered("NATS")
        return batch

    async def _recreate_if_missing(self, error: nats.js.errors.APIError) -> None:
        """A fetch refused by JetStream: if our durable consumer is gone (deleted by an operator
        or with its stream), recreate it as `subscribe` does at start, saying so with the error;
        if it is there, JetStream itself is not answering (an outage, retried); anything else
        is raised, to be seen."""
        s = self.settings
        try:
            await self.js.consumer_info(s.stream, s.consumer_name)
        except nats.js.errors.NotFoundError:
            log.error(
                "durable consumer %s is missing from stream %s (deleted?); recreating it",
                s.consumer_name,
                s.stream,
                exc_info=error,
            )
            await self._unsubscribe()
            await self.subscribe()
            return
        raise error  # in NATS_DOWN (JetStream not answering): retried; else it ends `run`

    async def _wait_for_store(self) -> None:
        """Until the store answers a small read again (backing off); StoppedError on stop.

        The store counts as back only once a handler's transaction commits (in `_settle`): a
        store that answers reads but refuses writes (a locked SQLite file) is still down.
        """
        recorder = self.app.recorder
        async for attempt in self.outages.retrying(self._stopping, STORE_DOWN):
            with attempt:
                await asyncio.to_thread(recorder.max_notification_id)

    async def stop(self) -> None:
        """Start nothing new; let the message in hand finish within the grace period, or nak it."""
        self._stopping.set()
        if self._runner is None:
            return
        try:
            await asyncio.wait_for(self._finished.wait(), self.settings.shutdown_grace)
        except TimeoutError:
            msg = self._in_hand
            if msg is not None:
                # Its thread may still commit; if so the redelivery finds it tracked and acks.
                await self._return([msg])
                log.warning("gave back message %s unfinished at shutdown", msg.metadata.sequence)
            unrecorded, self._unrecorded = self._unrecorded, []
            await self._return([m for m, _ in unrecorded])  # handled again: nothing was written
            self._abandoned = True
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def _unsubscribe(self) -> None:
        """Leave the durable consumer to the other replicas.

        Also needed for a prompt `nc.drain()`: after a fetch that timed out, nats-py 2.16 leaves
        a status message in the pull subscription's queue and drain waits its full timeout.
        """
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()

    def stop_on_signals(self, *signals: signal.Signals) -> None:
        """Let SIGTERM/SIGINT (by default) start a graceful stop; for a service's main."""
        loop = asyncio.get_running_loop()
        for sig in signals or (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(self.stop()))

    # ------------------------------------------------------------- handling

    def settled(self, msg: Msg, outcome: Outcome) -> None:
        """Called once `run` has acked, nak'ed or dead-lettered a message (for the stats; a
        subclass may report more). A message whose handler wrote nothing is settled when its
        position is recorded, after the rest of its batch was handled."""
        self.stats.add(outcome)

    async def handle(self, msg: Msg) -> Outcome:
        """Settle one message: ack, nak or dead-letter it; never ack work that was not done."""
        outcome = await self._settle(msg, batched=False)
        assert outcome is not None
        return outcome

    async def _settle(self, msg: Msg, *, batched: bool) -> Outcome | None:
        """As `handle`; but `batched`, a handler that wrote nothing leaves its message unacked
        in `_unrecorded` (None), for `_record_unrecorded` to record and ack with the others."""
        s = self.settings
        meta = msg.metadata
        tracking = position(s.service, meta.stream, meta.sequence.stream)
        replay_for = (msg.headers or {}).get(HEADER_REPLAY_FOR)
        if replay_for is not None and replay_for != s.service:
            await msg.ack()  # a dead letter of another service, put back for it alone
            return Outcome.NOT_OURS
        try:
            event = self.parse(msg)
        except Exception as error:
            return await self._dead_letter(msg, Reason.MALFORMED, _describe(error))
        try:
            outcome, unrecorded = await self._with_progress(
                msg, asyncio.to_thread(self._process, event, tracking, batched)
            )
        except Exception as error:
            if dependency_of(error) == "store":  # an outage: not the message's fault
                self.outages.failed(error)
                self._store_failed = True
                with contextlib.suppress(nats.errors.Error):
                    await msg.nak(delay=self._delay(meta.num_delivered))
                return Outcome.RETRY
            if meta.num_delivered >= s.max_attempts:
                return await self._dead_letter(msg, Reason.FAILED, _describe(error))
            log.info(
                "message %s failed (delivery %s): %s",
                tracking,
                meta.num_delivered,
                error,
                exc_info=True,
            )
            await msg.nak(delay=self._delay(meta.num_delivered))
            return Outcome.RETRY
        self.outages.recovered("store")
        if unrecorded:
            self._unrecorded.append((msg, tracking))
            return None
        await msg.ack()
        return outcome

    def _process(self, event: E, tracking: Tracking, batched: bool) -> tuple[Outcome, bool]:
        return handle_deferring(
            self.app,
            self.handler,
            event,
            tracking,
            self.settings.conflict_attempts,
            position_alone=not batched,
        )

    async def _record_unrecorded(self) -> None:
        """Record the positions of the messages handled with nothing written, then ack them.

        One transaction for all of them; if one was recorded meanwhile (a redelivery handled
        by another replica), one by one, and that one is a duplicate. If the store cannot take
        them, they are nak'ed: handled again later, they write nothing again.
        """
        unrecorded, self._unrecorded = self._unrecorded, []
        if not unrecorded:
            return
        trackings = [tracking for _, tracking in unrecorded]
        try:
            outcomes = await asyncio.to_thread(self._record_positions, trackings)
        except Exception as error:
            if not self.outages.failed(error):  # an outage is logged once, by `failed`
                log.warning(
                    "could not record %s positions; given back", len(trackings), exc_info=True
                )
            for msg, _ in unrecorded:
                with contextlib.suppress(nats.errors.Error):
                    await msg.nak(delay=self._delay(msg.metadata.num_delivered))
                self.settled(msg, Outcome.RETRY)
            return
        for (msg, _), outcome in zip(unrecorded, outcomes, strict=True):
            await msg.ack()
            self.settled(msg, outcome)

    def _record_positions(self, trackings: Sequence[Tracking]) -> list[Outcome]:
        try:
            self.app.record_positions(trackings)
        except IntegrityError:
            pass
        else:
            return [Outcome.DONE] * len(trackings)
        outcomes = []
        for tracking in trackings:
            try:
                self.app.record_positions([tracking])
            except IntegrityError:
                if not self.app.is_tracked(tracking):
                    raise
                outcomes.append(Outcome.DUPLICATE)
            else:
                outcomes.append(Outcome.DONE)
        return outcomes

    async def _with_progress(
        self, msg: Msg, work: Coroutine[Any, Any, tuple[Outcome, bool]]
    ) -> tuple[Outcome, bool]:
        """Await the handler, telling JetStream every third of `ack_wait` that we are on it (and
        on the messages handled before it whose positions wait to be recorded)."""
        task = asyncio.ensure_future(work)
        interval = max(self.settings.ack_wait / 3, 0.1)
        while True:
            done, _ = await asyncio.wait({task}, timeout=interval)
            if done:
                return task.result()
            for waiting in (msg, *(m for m, _ in self._unrecorded)):
                with contextlib.suppress(nats.errors.Error):
                    await waiting.in_progress()

    async def _dead_letter(self, msg: Msg, reason: Reason, error: str) -> Outcome:
        try:
            await publish_dead_letter(self.js, self.settings.service, msg, reason, error)
        except Exception:
            # Not filed, so not acked: it comes back and we try to file it again.
            log.exception("could not dead-letter message %s", msg.metadata.sequence)
            with contextlib.suppress(nats.errors.Error):
                await msg.nak(delay=self._delay(msg.metadata.num_delivered))
            return Outcome.RETRY
        await msg.ack()
        log.warning("dead-lettered message %s (%s): %s", msg.metadata.sequence, reason, error)
        return Outcome.DEAD_LETTERED

    async def _return(self, msgs: Sequence[Msg], delay: float | None = None) -> None:
        for msg in msgs:
            with contextlib.suppress(nats.errors.Error):
                await msg.nak(delay=delay)
            self.settled(msg, Outcome.RETURNED)

    def _delay(self, delivered: int) -> float:
        steps = self.settings.backoff or (1.0,)
        base = steps[min(delivered, len(steps)) - 1]
        return base * random.uniform(0.8, 1.2)


class _ClosedError(RuntimeError):
    """The NATS connection was closed by its owner: the consumer ends (not an outage)."""


_FETCH_FAILED: tuple[type[BaseException], ...] = NATS_DOWN
"""A fetch that failed for want of NATS (reconnecting, server restarting): fetched again. Any
other error (a JetStream API error other than a missing consumer) ends `run` with it."""


def _describe(error: BaseException) -> str:
    lines = traceback.format_exception_only(type(error), error)
    return "".join(lines).strip()
