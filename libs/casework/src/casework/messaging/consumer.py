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
handler writes commits its effects with its own position at once, as above, and on SQLite with
the positions of the batch's no-ops before it (`handle_in_batch`): a batch whose last message
writes needs no commit for its no-ops. A message delivered for the first time is not looked up
as handled before its handler runs (a duplicate of it is still found, by its transaction's clash
on the position); redeliveries are.

One hop to the worker thread per fetched batch, not per message: the thread parses each message,
handles it (its own transaction when it writes) and records the positions of those that wrote
nothing, then the loop acks, naks or dead-letters each as the thread found it. Every message is
acked only after its effects or its position are committed, as before; a process killed
meanwhile has committed some of them, and their redeliveries are recognised as duplicates.

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
`shutdown_grace`, or is nak'ed with the rest of its batch; fetched messages not yet started are
nak'ed for another replica. Handlers are synchronous, like eventsourcing, and run in a worker
thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import threading
import time
import traceback
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
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
from casework.messaging.open_pull import OpenPull
from casework.messaging.subjects import EVENTS, STREAM
from casework.messaging.tracked import (
    Handler,
    Outcome,
    handle_deferring,
    handle_in_batch,
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
    """How long a fetch waits for a message before the consumer looks around (at `stop`, at
    positions carried, at a reconnect) and fetches again: local, no word with the server."""
    request_expires: float = 2.0
    """How long each pull request stays open on the server with nothing to deliver. Renewing
    one is a round trip (the server's 408, a new request): renewed every `fetch_timeout` (0.5 s
    in the services) it was most of an idle service's CPU and a millisecond a second of the
    server's per consumer (issue 16, `bench/idle.py`). A request lost with a reconnect is
    replaced at once (`OpenPull`); one lost without (the node holding the durable's leader
    killed while the client stays connected to another) after this and `LOST_AFTER`, so this is
    also the longest such a loss stalls the consumer: kept at two seconds for that."""
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
    linger: float = 0.0
    """Seconds to wait after a batch that was not full before fetching again, so that messages
    arriving meanwhile come in one fetch, one hop to the worker thread and one commit of the
    positions of those that change nothing, instead of a fetch (two pull requests when the
    stream is drained) and a commit each. What it costs: up to `linger` more before a message
    arriving in that window is handled. 0: fetch again at once."""

    carry_positions: float = 0.1
    """Seconds the positions of a batch's last no-ops may wait, unacknowledged, for a later
    batch's first write to record them in its transaction (where the store can: SQLite), so a
    no-op costs no commit of its own; recorded on their own (and acked) once that long has
    passed with no write, when `batch` of them wait, or at `stop`. Nothing waits on it but the
    no-ops' acks (far inside `ack_wait`). 0: recorded at the end of their own batch."""

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
        self._stop_started = threading.Event()
        """`_stopping`, for the worker thread: start no further message of the batch."""
        self._finished = asyncio.Event()
        self._sub: JetStreamContext.PullSubscription | None = None
        """The durable bound by nats-py (made or found, its filters in line); fetched through
        `_pull`, not its own `fetch`."""
        self._pull: OpenPull | None = None
        self._in_hand: list[Msg] = []
        """The batch in the worker thread: none of it settled yet."""
        self._carried: list[tuple[Msg, Tracking]] = []
        """No-ops handled, their positions not yet recorded, not acked (`carry_positions`)."""
        self._carried_since = 0.0
        """When (`time.monotonic`) the oldest of `_carried` was handled."""
        self._runner: asyncio.Task[None] | None = None
        self._abandoned = False
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
        self._pull = OpenPull(
            self.nc,
            s.stream,
            s.consumer_name,
            batch=s.batch,
            expires=s.request_expires,
            api_prefix=getattr(self.js, "_prefix", "$JS.API"),
        )
        await self._pull.start()

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
                    batch = await self._fetch_through_outages(self._fetch_timeout())
                except StoppedError:
                    break
                if batch or (self._carried and self._fetch_timeout() <= 0):
                    await self._settle_batch(batch, batched=True)
                    if len(batch) < self.settings.batch and self.settings.linger > 0:
                        await self._linger()
        except asyncio.CancelledError:
            if not self._abandoned:
                raise
        except _ClosedError:
            raise
        except Exception:  # not an outage: end, loudly, so the process (or its owner) sees it
            log.exception("consumer %s stopped", self.settings.consumer_name)
            raise
        finally:
            if self._carried and not self._abandoned:
                with contextlib.suppress(Exception):  # else given back below, acked by nobody
                    await self._settle_batch([], batched=True)
            await self._return([msg for msg, _ in self._carried])
            self._carried = []
            await self._unsubscribe()
            self._finished.set()

    def _fetch_timeout(self) -> float:
        """`fetch_timeout`, or what is left of the carried positions' wait (0: record them)."""
        if not self._carried:
            return self.settings.fetch_timeout
        left = self._carried_since + self.settings.carry_positions - time.monotonic()
        return min(self.settings.fetch_timeout, max(left, 0.0))

    async def _linger(self) -> None:
        """`settings.linger`, or less if `stop` is called meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.settings.linger)

    async def _fetch_through_outages(self, timeout: float) -> list[Msg]:
        """`_fetch`, again with backoff while NATS is away (said once); StoppedError on stop.
        The first try is made without the retrying machinery, which costs more than a fetch."""
        try:
            return await self._fetch(timeout)
        except _FETCH_FAILED:
            pass  # tried again at once below; a second failure is logged and backed off
        batch: list[Msg] = []
        async for attempt in self.outages.retrying(self._stopping, _FETCH_FAILED):
            with attempt:
                batch = await self._fetch(timeout)
        return batch

    async def _fetch(self, timeout: float) -> list[Msg]:
        """The next batch, [] when there is none; NATS counts as up once a fetch goes through."""
        assert self._pull is not None
        if timeout <= 0:
            return self._pull.arrived(self.settings.batch)
        try:
            batch = await self._pull.fetch(self.settings.batch, timeout=timeout)
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

        The store counts as back only once a handler's transaction commits (`_settle_one`): a
        store that answers reads but refuses writes (a locked SQLite file) is still down.
        """
        recorder = self.app.recorder
        async for attempt in self.outages.retrying(self._stopping, STORE_DOWN):
            with attempt:
                await asyncio.to_thread(recorder.max_notification_id)

    async def stop(self) -> None:
        """Start nothing new; let the message in hand finish within the grace period, or nak it."""
        self._stopping.set()
        self._stop_started.set()
        if self._runner is None:
            return
        try:
            await asyncio.wait_for(self._finished.wait(), self.settings.shutdown_grace)
        except TimeoutError:
            in_hand, self._in_hand = self._in_hand, []
            in_hand += [msg for msg, _ in self._carried]
            self._carried = []
            if in_hand:
                # Its thread may still commit; if so the redeliveries find them tracked and ack.
                await self._return(in_hand)
                log.warning(
                    "gave back messages %s unfinished at shutdown",
                    ", ".join(str(m.metadata.sequence.stream) for m in in_hand),
                )
            self._abandoned = True
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    async def _unsubscribe(self) -> None:
        """Leave the durable consumer to the other replicas.

        Also needed for a prompt `nc.drain()`: after a fetch that timed out, nats-py 2.16 leaves
        a status message in the pull subscription's queue and drain waits its full timeout.
        """
        pull, self._pull = self._pull, None
        if pull is not None:
            # Delivered, never started: another replica's now, and counted as given back.
            await self._return(await pull.close())
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
        subclass may report more). Messages are settled after the worker thread has handled
        their whole batch, in the batch's order."""
        self.stats.add(outcome)

    async def handle(self, msg: Msg) -> Outcome:
        """Settle one message: ack, nak or dead-letter it; never ack work that was not done."""
        (outcome,) = await self._settle_batch([msg], batched=False)
        return outcome

    async def _settle_batch(self, batch: Sequence[Msg], *, batched: bool) -> list[Outcome]:
        """Handle a fetched batch in one hop to the worker thread, then settle each message as
        the thread found it, in order. `batched`: positions of messages whose handler wrote
        nothing are recorded together (else each with its message, as `handle_tracked`)."""
        mine: list[Msg] = []
        outcomes: dict[int, Outcome] = {}
        for index, msg in enumerate(batch):
            replay_for = (msg.headers or {}).get(HEADER_REPLAY_FOR)
            if replay_for is not None and replay_for != self.settings.service:
                await msg.ack()  # a dead letter of another service, put back for it alone
                self.settled(msg, Outcome.NOT_OURS)
                outcomes[index] = Outcome.NOT_OURS
            else:
                mine.append(msg)
        if mine and self._stopping.is_set():
            await self._return(mine, delay=self._delay(1))
            mine = []
        carried, self._carried = self._carried, []
        if not mine and not carried:
            return [outcomes.get(i, Outcome.RETURNED) for i in range(len(batch))]
        may_carry = (
            batched
            and bool(mine)
            and self.settings.carry_positions > 0
            and self.app.carries_positions()
            and (
                not carried
                or time.monotonic() - self._carried_since < self.settings.carry_positions
            )
        )
        started = time.monotonic()
        handling = [msg for msg, _ in carried] + mine
        self._in_hand = list(handling)
        try:
            found = await self._with_progress(
                handling,
                asyncio.to_thread(
                    self._handle_in_thread, mine, batched, [t for _, t in carried], may_carry
                ),
            )
        finally:
            in_hand, self._in_hand = self._in_hand, []
        if not in_hand:  # given back by `stop` meanwhile: settled there
            return [outcomes.get(i, Outcome.RETURNED) for i in range(len(batch))]
        results: list[Outcome] = []
        for msg, f in zip(handling, found, strict=True):
            if f.kind is _Kind.CARRIED:
                meta = msg.metadata
                self._carried.append(
                    (msg, position(self.settings.service, meta.stream, meta.sequence.stream))
                )
                results.append(Outcome.DONE)  # acked with a later batch's write, or on its own
            else:
                results.append(await self._settle_one(msg, f))
        if not any(f.kind is _Kind.CARRIED for f in found[: len(carried)]):
            self._carried_since = started  # the earlier ones were recorded: a new wait
        settled = iter(results[len(carried) :])
        # After the settling (whose committed messages say the store answered): positions that
        # could not be recorded leave the store down, and the loop waits for it before fetching.
        unrecorded = [f.error for f in found if f.kind is _Kind.UNRECORDED]
        if unrecorded and unrecorded[0] is not None and not self.outages.failed(unrecorded[0]):
            log.warning(  # an outage is logged once, by `failed`
                "could not record %s positions; given back", len(unrecorded), exc_info=unrecorded[0]
            )
        return [
            outcomes[i] if i in outcomes else next(settled, Outcome.RETURNED)
            for i in range(len(batch))
        ]

    def _handle_in_thread(
        self,
        msgs: Sequence[Msg],
        batched: bool,
        carried: Sequence[Tracking] = (),
        may_carry: bool = False,
    ) -> list[_Found]:
        """In the worker thread: parse and handle each message in order, then record the
        positions of those whose handler wrote nothing (one transaction). Starts no further
        message once stopping or once the store failed (the rest are given back).

        `carried`: positions of no-ops of earlier batches, found first (in that order, before
        `msgs`'): recorded with the first write, or with the rest. `may_carry`: the no-ops'
        positions still unrecorded at the end are not recorded but found CARRIED, for a later
        batch (unless stopping, or `batch` of them wait)."""
        s = self.settings
        found: list[_Found] = [_Found(_Kind.HANDLED, Outcome.DONE) for _ in carried]
        unrecorded: list[tuple[int, Tracking]] = list(enumerate(carried))
        for msg in msgs:
            if self._stop_started.is_set() or any(f.kind is _Kind.STORE_DOWN for f in found):
                found.append(_Found(_Kind.NOT_STARTED))
                continue
            meta = msg.metadata
            tracking = position(s.service, meta.stream, meta.sequence.stream)
            try:
                event = self.parse(msg)
            except Exception as error:
                found.append(_Found(_Kind.MALFORMED, error=error))
                continue
            try:
                if batched:
                    handled = handle_in_batch(
                        self.app,
                        self.handler,
                        event,
                        tracking,
                        s.conflict_attempts,
                        first_delivery=meta.num_delivered == 1,
                        also=[tracking for _, tracking in unrecorded],
                    )
                    outcome, pending, took_them = handled.outcome, handled.pending, handled.carried
                else:
                    took_them = False
                    outcome, pending = handle_deferring(
                        self.app, self.handler, event, tracking, s.conflict_attempts
                    )
            except Exception as error:
                store_down = dependency_of(error) == "store"
                found.append(_Found(_Kind.STORE_DOWN if store_down else _Kind.FAILED, error=error))
                continue
            if took_them:  # the waiting positions were recorded with this message's effects
                for index, _ in unrecorded:
                    found[index] = _Found(_Kind.HANDLED, Outcome.DONE)
                unrecorded.clear()
            if pending:
                unrecorded.append((len(found), tracking))
            found.append(_Found(_Kind.HANDLED, outcome))
        if (
            unrecorded
            and may_carry
            and len(unrecorded) < s.batch
            and not self._stop_started.is_set()
            and not any(f.kind is _Kind.STORE_DOWN for f in found)
        ):
            for index, _ in unrecorded:
                found[index] = _Found(_Kind.CARRIED)
            return found
        if unrecorded:
            try:
                recorded = self._record_positions([tracking for _, tracking in unrecorded])
            except Exception as error:
                for index, _ in unrecorded:
                    found[index] = _Found(_Kind.UNRECORDED, error=error)
            else:
                for (index, _), outcome in zip(unrecorded, recorded, strict=True):
                    found[index] = _Found(_Kind.HANDLED, outcome)
        return found

    async def _settle_one(self, msg: Msg, found: _Found) -> Outcome:
        """Ack, nak or dead-letter one message as the worker thread found it; `settled`."""
        meta = msg.metadata
        kind, error = found.kind, found.error
        if kind is _Kind.HANDLED:
            assert found.outcome is not None
            self.outages.recovered("store")
            await msg.ack()
            self.settled(msg, found.outcome)
            return found.outcome
        if kind is _Kind.NOT_STARTED:
            await self._return([msg], delay=self._delay(1))
            return Outcome.RETURNED
        assert error is not None
        if kind is _Kind.MALFORMED:
            outcome = await self._dead_letter(msg, Reason.MALFORMED, _describe(error))
        elif kind is _Kind.STORE_DOWN:  # an outage: not the message's fault
            self.outages.failed(error)
            with contextlib.suppress(nats.errors.Error):
                await msg.nak(delay=self._delay(meta.num_delivered))
            outcome = Outcome.RETRY
        elif kind is _Kind.UNRECORDED:  # handled, nothing written, its position not: again later
            with contextlib.suppress(nats.errors.Error):
                await msg.nak(delay=self._delay(meta.num_delivered))
            outcome = Outcome.RETRY
        elif meta.num_delivered >= self.settings.max_attempts:
            outcome = await self._dead_letter(msg, Reason.FAILED, _describe(error))
        else:
            log.info(
                "message %s failed (delivery %s): %s",
                meta.sequence.stream,
                meta.num_delivered,
                error,
                exc_info=error,
            )
            await msg.nak(delay=self._delay(meta.num_delivered))
            outcome = Outcome.RETRY
        self.settled(msg, outcome)
        return outcome

    def _record_positions(self, trackings: Sequence[Tracking]) -> list[Outcome]:
        """Record the positions of messages handled with nothing written, in one transaction;
        if one was recorded meanwhile (a redelivery handled by another replica), one by one,
        and that one is a duplicate."""
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
        self, msgs: Sequence[Msg], work: Coroutine[Any, Any, list[_Found]]
    ) -> list[_Found]:
        """Await the worker thread, telling JetStream every third of `ack_wait` that we are on
        the batch (every message of it is acked only once the thread is done)."""
        task = asyncio.ensure_future(work)
        interval = max(self.settings.ack_wait / 3, 0.1)
        while True:
            done, _ = await asyncio.wait({task}, timeout=interval)
            if done:
                return task.result()
            for waiting in msgs:
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


class _Kind(Enum):
    """What the worker thread found of one message of a batch."""

    HANDLED = "handled"
    """Effects and position committed, or the position recorded with the batch's others."""
    NOT_STARTED = "not started"
    """Stopping, or the store failed on an earlier message: given back untouched."""
    MALFORMED = "malformed"
    FAILED = "failed"
    STORE_DOWN = "store down"
    UNRECORDED = "unrecorded"
    """Handled with nothing written, but its position could not be recorded."""
    CARRIED = "carried"
    """Handled with nothing written, its position left for a later batch to record."""


@dataclass(frozen=True)
class _Found:
    kind: _Kind
    outcome: Outcome | None = None
    error: BaseException | None = None


class _ClosedError(RuntimeError):
    """The NATS connection was closed by its owner: the consumer ends (not an outage)."""


_FETCH_FAILED: tuple[type[BaseException], ...] = NATS_DOWN
"""A fetch that failed for want of NATS (reconnecting, server restarting): fetched again. Any
other error (a JetStream API error other than a missing consumer) ends `run` with it."""


def _describe(error: BaseException) -> str:
    lines = traceback.format_exception_only(type(error), error)
    return "".join(lines).strip()
