"""The consumer toolkit against a real nats-server and a real store: effects exactly once.

Each message asks for a note on a case (see `consumer_worker.py`), so every effect can be
counted in the case file: exactly once means exactly one note per message, whatever was
redelivered, retried, killed or shut down on the way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import nats.errors
import pytest
from casework.application import Casework
from casework.domain import Actor, Role
from casework.messaging.consumer import (
    Consumer,
    Outcome,
    SubscriptionSettings,
    handle_tracked,
    position,
)
from casework.messaging.dead_letter import DeadLetter, Reason
from casework.messaging.nats_server import NatsServer
from casework.messaging.open_pull import OpenPull
from casework.messaging.tracked import handle_in_batch
from casework.testing.nats import jetstream, read_stream
from casework.testing.siblings import module_from_path
from eventsourcing.persistence import IntegrityError
from hypothesis import given, settings
from hypothesis import strategies as st
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

HERE = Path(__file__).parent
WORKER_PATH = HERE / "consumer_worker.py"


def _load_worker() -> ModuleType:
    return module_from_path(WORKER_PATH, "consumer_worker", register=True)


worker = _load_worker()

pytestmark = pytest.mark.nats
REPORTER = Actor("resident-0302", Role.RESIDENT)


# ------------------------------------------------------------------ helpers


def report_cases(app: Casework, count: int) -> list[UUID]:
    return [
        app.report_repair(REPORTER, f"jiayu-xx/wanxin-intl/b{i % 9 + 1}/0302", "light out")
        for i in range(count)
    ]


def note_counts(app: Casework, case_ids: list[UUID]) -> Counter[tuple[UUID, str]]:
    """How many times each (case, note text) was recorded."""
    counts: Counter[tuple[UUID, str]] = Counter()
    for case_id in case_ids:
        for event in app.events.get(case_id):
            text = getattr(event, "text", None)
            if type(event).__name__ == "NoteAdded" and text is not None:
                counts[(case_id, text)] += 1
    return counts


async def create_stream(js: JetStreamContext, layout: str = "own_dlq") -> None:
    """`relay`: CASEWORK takes `casework.>` (as the relay makes it), dead letters included."""
    subjects = ["casework.>"] if layout == "relay" else ["casework.test.>"]
    await js.add_stream(StreamConfig(name="CASEWORK", subjects=subjects))


async def publish(
    js: JetStreamContext,
    case_id: UUID,
    n: int,
    *,
    body: bytes | None = None,
    ce_type: str | None = None,
) -> int:
    payload = body if body is not None else json.dumps({"case_id": str(case_id), "n": n}).encode()
    headers = {
        "ce-type": ce_type or worker.TEST_TYPE,
        "ce-id": f"{case_id}:{n}",
        "ce-subject": str(case_id),
        "Nats-Msg-Id": f"{case_id}:{n}",
    }
    ack = await js.publish(worker.SUBJECT, payload, headers=headers)
    return ack.seq


async def dead_letters(js: JetStreamContext) -> list[Any]:
    """The dead letters, from whichever stream holds `casework.dlq.>`."""
    stream = await js.find_stream_name_by_subject("casework.dlq.dispatch")
    return await read_stream(js, stream, "casework.dlq.>")


def subscription(**overrides: Any) -> SubscriptionSettings:
    options: dict[str, Any] = {
        "service": "dispatch",
        "filter_subjects": ("casework.test.>",),
        "batch": 5,
        "fetch_timeout": 0.2,
        "ack_wait": 2.0,
        "backoff": (0.05,),
        "max_attempts": 3,
        "shutdown_grace": 5.0,
    }
    options.update(overrides)
    return SubscriptionSettings(**options)


async def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def settled(consumer: Consumer[Any], outcome: Outcome, count: int) -> Callable[[], bool]:
    return lambda: consumer.stats.counts[outcome] >= count


@pytest.fixture
async def js(
    nats_server: NatsServer, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Client, JetStreamContext]]:
    async with jetstream(nats_server.url) as (nc, context):
        await create_stream(context, getattr(request, "param", "own_dlq"))
        yield nc, context


@pytest.fixture
def store(tmp_path: Path) -> str:
    return "sqlite:///" + str(tmp_path / "casework.db")


@pytest.fixture
def casework(store: str) -> Iterator[Casework]:
    app = Casework(store)
    yield app
    app.close()


# ------------------------------------------------- tracking, without NATS


@settings(max_examples=25, deadline=None)
@given(
    deliveries=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=40),
)
def test_whatever_the_order_and_repetition_of_deliveries_each_message_takes_effect_once(
    tmp_path_factory: pytest.TempPathFactory, deliveries: list[int]
) -> None:
    """Out of order is normal (replicas, naks): a high-water mark would skip; this must not."""
    path = tmp_path_factory.mktemp("order") / "c.db"
    app = Casework("sqlite:///" + str(path))
    try:
        (case_id,) = report_cases(app, 1)
        outcomes = [
            handle_tracked(
                app,
                worker.add_note,
                worker.NoteRequested(case_id, n),
                position("dispatch", "CASEWORK", n),
            )
            for n in deliveries
        ]
        counts = note_counts(app, [case_id])
        assert counts == Counter({(case_id, worker.note_text(n)): 1 for n in set(deliveries)})
        assert outcomes.count(Outcome.DONE) == len(set(deliveries))
    finally:
        app.close()


@settings(max_examples=25, deadline=None)
@given(
    batches=st.lists(
        st.lists(st.tuples(st.integers(min_value=1, max_value=12), st.booleans()), max_size=6),
        min_size=1,
        max_size=10,
    ),
)
def test_batches_with_no_ops_carried_and_first_deliveries_not_looked_up_take_effect_once(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[tuple[int, bool]]]
) -> None:
    """`handle_in_batch` as the consumer runs it, whatever the deliveries: repeated, out of
    order, within a batch or across, and said to be first deliveries even when handled before
    (a durable made again from the stream's start). Message n writes a note when n is even,
    nothing otherwise; the no-ops' positions ride in a later write's transaction or are
    recorded at the batch's end. Each note is written once, each position ends recorded, and
    positions said to be carried were recorded with the write."""
    path = tmp_path_factory.mktemp("carried") / "c.db"
    app = Casework("sqlite:///" + str(path))
    handler = worker.writing_every(worker.add_note, 2)
    try:
        (case_id,) = report_cases(app, 1)
        for batch in batches:
            unrecorded: list[Any] = []
            for n, first in batch:
                tracking = position("dispatch", "CASEWORK", n)
                handled = handle_in_batch(
                    app,
                    handler,
                    worker.NoteRequested(case_id, n),
                    tracking,
                    first_delivery=first,
                    also=list(unrecorded),
                )
                if handled.carried:
                    assert n % 2 == 0
                    assert all(app.is_tracked(t) for t in unrecorded)
                    unrecorded.clear()
                if handled.pending:
                    assert handled.outcome is Outcome.DONE
                    unrecorded.append(tracking)
            for tracking in unrecorded:  # the batch's end, as `Consumer._record_positions`
                try:
                    app.record_positions([tracking])
                except IntegrityError:
                    assert app.is_tracked(tracking)
        seen = {n for batch in batches for n, _ in batch}
        assert note_counts(app, [case_id]) == Counter(
            {(case_id, worker.note_text(n)): 1 for n in seen if n % 2 == 0}
        )
        assert all(app.is_tracked(position("dispatch", "CASEWORK", n)) for n in seen)
    finally:
        app.close()


def test_a_write_carries_the_no_ops_before_it_and_a_first_delivery_is_not_looked_up(
    casework: Casework, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The two savings: the no-ops' positions commit with the next write (no commit of their
    own), and a message delivered for the first time costs no lookup; a redelivery does."""
    (case_id,) = report_cases(casework, 1)
    handler = worker.writing_every(worker.add_note, 2)
    lookups: list[str] = []
    is_tracked = casework.is_tracked

    def looked_up(tracking: Any) -> bool:
        lookups.append(tracking.application_name)
        return is_tracked(tracking)

    monkeypatch.setattr(casework, "is_tracked", looked_up)
    no_ops = [position("dispatch", "CASEWORK", n) for n in (1, 3)]
    for tracking, n in zip(no_ops, (1, 3), strict=True):
        handled = handle_in_batch(
            casework, handler, worker.NoteRequested(case_id, n), tracking, first_delivery=True
        )
        assert handled.pending
    writer = position("dispatch", "CASEWORK", 4)
    handled = handle_in_batch(
        casework,
        handler,
        worker.NoteRequested(case_id, 4),
        writer,
        first_delivery=True,
        also=no_ops,
    )
    assert (handled.outcome, handled.pending, handled.carried) == (Outcome.DONE, False, True)
    assert lookups == []
    assert all(is_tracked(t) for t in [*no_ops, writer])
    again = handle_in_batch(casework, handler, worker.NoteRequested(case_id, 4), writer)
    assert again.outcome is Outcome.DUPLICATE
    assert lookups == [writer.application_name]
    assert note_counts(casework, [case_id]) == Counter({(case_id, worker.note_text(4)): 1})


def test_a_handler_that_writes_nothing_still_records_its_position(casework: Casework) -> None:
    seen: list[int] = []
    tracking = position("mediation", "CASEWORK", 7)
    assert handle_tracked(casework, lambda e, app: seen.append(e), 7, tracking) is Outcome.DONE
    assert handle_tracked(casework, lambda e, app: seen.append(e), 7, tracking) is Outcome.DUPLICATE
    assert seen == [7]
    assert not casework.is_tracked(position("dispatch", "CASEWORK", 7)), "per service"


def test_a_handler_that_raises_leaves_no_trace_and_no_position(casework: Casework) -> None:
    (case_id,) = report_cases(casework, 1)

    def half_done(event: Any, app: Casework) -> None:
        app.add_note(case_id, worker.ACTOR, "first half")
        raise RuntimeError("second half failed")

    tracking = position("dispatch", "CASEWORK", 1)
    with pytest.raises(RuntimeError, match="second half"):
        handle_tracked(casework, half_done, None, tracking)
    assert not casework.is_tracked(tracking)
    assert note_counts(casework, [case_id]) == Counter()


def test_two_commands_in_one_handler_commit_together_and_see_each_other(
    casework: Casework,
) -> None:
    (case_id,) = report_cases(casework, 1)

    def two_notes(event: Any, app: Casework) -> None:
        app.add_note(case_id, worker.ACTOR, "one")
        app.add_note(case_id, worker.ACTOR, "two")

    before = casework.get_case(case_id).version
    assert handle_tracked(casework, two_notes, None, position("d", "CASEWORK", 1)) is Outcome.DONE
    assert casework.get_case(case_id).version == before + 2


def test_positions_recorded_together_are_recorded_all_or_none(any_store: str) -> None:
    app = Casework(any_store)
    try:
        service = f"positions-{time.time_ns()}"
        a, b, c = (position(service, "CASEWORK", n) for n in (1, 2, 3))
        app.record_positions([a, b])
        assert app.is_tracked(a)
        assert app.is_tracked(b)
        with pytest.raises(IntegrityError):
            app.record_positions([c, b])  # b was recorded: a redelivery raced us
        assert not app.is_tracked(c), "none of a failed run is recorded"
        app.record_positions([c])
        assert app.is_tracked(c)
        app.record_positions([])
    finally:
        app.close()


# ------------------------------------------------------- with nats-server


@pytest.mark.anyio
async def test_a_durable_made_with_fewer_subjects_is_given_the_new_ones_and_keeps_its_place(
    js: tuple[Client, JetStreamContext], casework: Casework
) -> None:
    """A kind installed after a service's durable was made (`casework.kinds`) adds a subject;
    the durable takes it on at the next bind, without losing what it had acknowledged."""
    nc, context = js
    (case_id,) = report_cases(casework, 1)
    await publish(context, case_id, 1)
    first = Consumer(nc, casework, worker.add_note, worker.parse, subscription())
    runner = asyncio.create_task(first.run())
    await wait_for(settled(first, Outcome.DONE, 1))
    await first.stop()
    await runner
    more = subscription(filter_subjects=("casework.test.>", "casework.lift.>"))
    second = Consumer(nc, casework, worker.add_note, worker.parse, more)
    await second.subscribe()
    info = await context.consumer_info("CASEWORK", "dispatch")
    assert sorted(info.config.filter_subjects or []) == ["casework.lift.>", "casework.test.>"]
    assert info.delivered.stream_seq >= 1
    assert info.num_pending == 0
    assert info.config.ack_wait == 2.0


@pytest.mark.anyio
async def test_a_redelivered_message_that_was_already_handled_changes_nothing(
    js: tuple[Client, JetStreamContext], casework: Casework
) -> None:
    nc, context = js
    (case_id,) = report_cases(casework, 1)
    await publish(context, case_id, 1)
    consumer = Consumer(nc, casework, worker.add_note, worker.parse, subscription())
    await consumer.subscribe()
    assert consumer._sub is not None
    (first,) = await consumer._sub.fetch(1, timeout=5)
    # Handled and committed, then "the replica died before acking": give it back unacked.
    outcome = await asyncio.to_thread(
        handle_tracked,
        casework,
        worker.add_note,
        worker.parse(first),
        position("dispatch", "CASEWORK", first.metadata.sequence.stream),
    )
    assert outcome is Outcome.DONE
    await first.nak()

    runner = asyncio.create_task(consumer.run())
    await wait_for(settled(consumer, Outcome.DUPLICATE, 1))
    await consumer.stop()
    await runner

    assert consumer.stats.counts[Outcome.DONE] == 0
    assert note_counts(casework, [case_id]) == Counter({(case_id, "message 1"): 1})
    info = await context.consumer_info("CASEWORK", "dispatch")
    assert info.num_ack_pending == 0
    assert info.num_pending == 0


@pytest.mark.anyio
async def test_messages_whose_handler_writes_nothing_are_recorded_a_batch_at_a_time_then_acked(
    js: tuple[Client, JetStreamContext], casework: Casework, monkeypatch: pytest.MonkeyPatch
) -> None:
    nc, context = js
    case_ids = report_cases(casework, 3)
    total = 30
    for n in range(total):
        await publish(context, case_ids[n % 3], n)  # message n is stream sequence n + 1
    runs: list[int] = []
    record_positions = casework.record_positions

    def counting(trackings: Any) -> None:
        runs.append(len(trackings))
        record_positions(trackings)

    monkeypatch.setattr(casework, "record_positions", counting)
    raced = position("dispatch", "CASEWORK", 11)  # message 10, which writes nothing

    def handler(event: Any, app: Casework) -> None:
        if event.n % 3 == 0:
            worker.add_note(event, app)
        elif event.n == 11:
            # Another replica, redelivered message 10, records its position first.
            with contextlib.suppress(IntegrityError):
                record_positions([raced])

    consumer = Consumer(nc, casework, handler, worker.parse, subscription(batch=5))
    runner = asyncio.create_task(consumer.run())
    await wait_for(
        lambda: (
            consumer.stats.counts[Outcome.DONE] + consumer.stats.counts[Outcome.DUPLICATE] >= total
        )
    )
    await consumer.stop()
    await runner

    assert note_counts(casework, case_ids) == Counter(
        {(case_ids[n % 3], worker.note_text(n)): 1 for n in range(0, total, 3)}
    )
    for sequence in range(1, total + 1):
        assert casework.is_tracked(position("dispatch", "CASEWORK", sequence)), sequence
    assert consumer.stats.counts[Outcome.DUPLICATE] == 1, "the raced one, and only it"
    assert consumer.stats.counts[Outcome.DONE] == total - 1
    assert max(runs) > 1, "several positions in one transaction"
    assert sum(runs) < 2 * (total - total // 3), "not one transaction per message"
    info = await context.consumer_info("CASEWORK", "dispatch")
    assert info.num_ack_pending == 0
    assert info.num_pending == 0


def count_hops(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Each hop to a worker thread from now on: the function, and how many messages it took
    (its first argument's length: the consumer's `_handle_in_thread` gets the batch first)."""
    hops: list[tuple[str, int]] = []
    to_thread = asyncio.to_thread

    async def counted(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        taken = len(args[0]) if args and isinstance(args[0], list) else 0
        hops.append((getattr(func, "__name__", repr(func)), taken))
        return await to_thread(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    return hops


@pytest.mark.anyio
async def test_a_fetched_batch_goes_to_the_worker_thread_in_one_hop(
    js: tuple[Client, JetStreamContext], casework: Casework, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing, handling and recording the no-ops' positions: one hop per batch, not one per
    message and another for the positions; every message still settled on its own."""
    nc, context = js
    case_ids = report_cases(casework, 2)
    total = 10
    for n in range(total):
        await publish(context, case_ids[n % 2], n)
    hops = count_hops(monkeypatch)
    handler = worker.writing_every(worker.add_note, 2)
    consumer = Consumer(nc, casework, handler, worker.parse, subscription(batch=5))
    fetched: list[int] = []  # the size of each non-empty batch fetched
    fetch = consumer._fetch

    async def counted_fetch(timeout: float) -> list[Msg]:
        batch = await fetch(timeout)
        if batch:
            fetched.append(len(batch))
        return batch

    monkeypatch.setattr(consumer, "_fetch", counted_fetch)
    runner = asyncio.create_task(consumer.run())
    await wait_for(settled(consumer, Outcome.DONE, total))
    await consumer.stop()
    await runner

    assert note_counts(casework, case_ids) == Counter(
        {(case_ids[n % 2], worker.note_text(n)): 1 for n in range(0, total, 2)}
    )
    assert sum(fetched) == total
    # One hop per fetched batch, with the whole batch (the open pull request may hand a batch
    # over before all five have arrived); any other hop only records carried no-ops' positions
    # (when no batch came within `carry_positions`), with no message of its own.
    assert {name for name, _ in hops} == {"_handle_in_thread"}, hops
    assert [taken for _, taken in hops if taken] == fetched, (hops, fetched)
    info = await context.consumer_info("CASEWORK", "dispatch")
    assert info.num_ack_pending == 0
    assert info.num_pending == 0


@pytest.mark.anyio
async def test_one_pull_request_stays_open_for_a_batch_of_messages_arriving_one_by_one(
    js: tuple[Client, JetStreamContext], casework: Casework
) -> None:
    """Messages arriving one at a time, each handled before the next comes: the consumer keeps
    one pull request open for `batch` of them (a new one when it is spent, at once: the
    requests here would expire only after a minute), not a probe and a new request per fetch;
    each message still takes effect once and is acked."""
    nc, context = js
    (case_id,) = report_cases(casework, 1)
    requests: list[bytes] = []

    async def seen(msg: Any) -> None:
        requests.append(msg.data)

    spy = await nc.subscribe("$JS.API.CONSUMER.MSG.NEXT.CASEWORK.dispatch", cb=seen)
    total, batch, expires = 20, 5, 60.0
    consumer = Consumer(
        nc,
        casework,
        worker.add_note,
        worker.parse,
        subscription(batch=batch, fetch_timeout=2.0, request_expires=expires),
    )
    runner = asyncio.create_task(consumer.run())
    started = time.monotonic()
    for n in range(total):
        await publish(context, case_id, n)
        await wait_for(settled(consumer, Outcome.DONE, n + 1))
    elapsed = time.monotonic() - started
    await consumer.stop()
    await runner
    await spy.unsubscribe()

    expired = int(elapsed / expires) + 1
    assert len(requests) <= total // batch + expired + 1, (len(requests), elapsed)
    assert all(json.loads(r)["batch"] == batch and "no_wait" not in json.loads(r) for r in requests)
    assert note_counts(casework, [case_id]) == Counter(
        {(case_id, worker.note_text(n)): 1 for n in range(total)}
    )
    info = await context.consumer_info("CASEWORK", "dispatch")
    assert info.num_ack_pending == 0
    assert info.num_pending == 0


@pytest.mark.anyio
async def test_a_pull_request_lost_with_a_killed_server_is_replaced_on_reconnect(
    nats_server: NatsServer, casework: Casework
) -> None:
    """The open pull request stays on the server for `request_expires`, a minute here. NATS
    killed (a crash: no word to the waiting requests, as a graceful stop gives) and started
    again has lost it. The consumer's next fetch after the client has reconnected asks again,
    so a message published after the restart is handled within seconds, not once the lost
    request's minute has passed."""
    (case_id,) = report_cases(casework, 1)
    async with jetstream(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2) as (
        nc,
        context,
    ):
        await create_stream(context)
        consumer = Consumer(
            nc, casework, worker.add_note, worker.parse, subscription(request_expires=60.0)
        )
        runner = asyncio.create_task(consumer.run())
        try:
            await publish(context, case_id, 1)
            await wait_for(settled(consumer, Outcome.DONE, 1))
            reconnects = nc.stats["reconnects"]
            nats_server.kill()
            await asyncio.to_thread(nats_server.start)
            await wait_for(lambda: nc.stats["reconnects"] > reconnects and nc.is_connected)
            deadline = time.monotonic() + 20
            while True:  # JetStream may need a moment after the restart to take a message
                try:
                    await publish(context, case_id, 2)
                    break
                except (nats.errors.Error, TimeoutError):
                    assert time.monotonic() < deadline, "JetStream took no message after restart"
                    await asyncio.sleep(0.2)
            await wait_for(settled(consumer, Outcome.DONE, 2), timeout=20)
        finally:
            await consumer.stop()
            await runner
    assert note_counts(casework, [case_id]) == Counter(
        {(case_id, worker.note_text(n)): 1 for n in (1, 2)}
    )


@pytest.mark.anyio
async def test_an_idle_consumer_keeps_its_pull_request_and_an_earlier_ones_expiry_ends_nothing(
    js: tuple[Client, JetStreamContext], casework: Casework
) -> None:
    """Fetches time out every 0.2 s while nothing comes, but the request stays open on the
    server for its `request_expires` (a minute): one request, not one per fetch. Another
    request on the same inbox, as one sent before a reconnect may still be (here a real one,
    expiring in 0.3 s), ends with a 408 that is not the open request's: nothing new is asked
    for, and a message published afterwards comes through the open request."""
    nc, context = js
    (case_id,) = report_cases(casework, 1)
    consumer = Consumer(
        nc,
        casework,
        worker.add_note,
        worker.parse,
        subscription(fetch_timeout=0.2, request_expires=60.0),
    )
    runner = asyncio.create_task(consumer.run())
    try:
        await wait_for(lambda: consumer._pull is not None and consumer._pull.requests == 1)
        pull = consumer._pull
        assert pull is not None
        earlier = json.dumps({"batch": 1, "expires": 300_000_000}).encode()
        await nc.publish("$JS.API.CONSUMER.MSG.NEXT.CASEWORK.dispatch", earlier, f"{pull._inbox}.0")
        await asyncio.sleep(1.5)  # seven fetch timeouts, the earlier request's expiry
        assert pull.requests == 1
        await publish(context, case_id, 1)
        await wait_for(settled(consumer, Outcome.DONE, 1))
    finally:
        await consumer.stop()
        await runner
    assert note_counts(casework, [case_id]) == Counter({(case_id, worker.note_text(1)): 1})


@pytest.mark.anyio
async def test_a_no_ops_position_waits_for_the_next_write_or_is_recorded_alone_when_none_comes(
    js: tuple[Client, JetStreamContext], casework: Casework, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`carry_positions`: a batch that ends with a no-op leaves its position, unacknowledged,
    for the next batch's write to record in its transaction; with no write in time it is
    recorded on its own, and at `stop` at once. Each message is acked once, after its
    position is committed, and takes effect once."""
    nc, context = js
    (case_id,) = report_cases(casework, 1)
    commits: list[int] = []
    record_positions = casework.record_positions

    def counted(trackings: Any) -> None:
        commits.append(len(trackings))
        record_positions(trackings)

    monkeypatch.setattr(casework, "record_positions", counted)
    handled: list[int] = []

    def handler(event: Any, app: Casework) -> None:
        handled.append(event.n)
        worker.writing_every(worker.add_note, 2)(event, app)

    consumer = Consumer(
        nc, casework, handler, worker.parse, subscription(batch=5, carry_positions=1.5)
    )
    runner = asyncio.create_task(consumer.run())
    await publish(context, case_id, 1)  # a no-op
    await wait_for(lambda: handled == [1])
    await asyncio.sleep(0.2)
    assert consumer.stats.counts[Outcome.DONE] == 0, "acked before its position was recorded"
    await publish(context, case_id, 2)  # a write: records 1's position with its own
    await wait_for(settled(consumer, Outcome.DONE, 2))
    assert commits == []
    assert casework.is_tracked(position("dispatch", "CASEWORK", 1))

    waiting = time.monotonic()
    await publish(context, case_id, 3)  # a no-op with no write after it
    await wait_for(settled(consumer, Outcome.DONE, 3))
    assert commits == [1]
    assert time.monotonic() - waiting >= 1.0

    await publish(context, case_id, 5)  # a no-op, then stop
    await wait_for(lambda: 5 in handled)
    stopping = time.monotonic()
    await consumer.stop()
    await runner
    assert time.monotonic() - stopping < 1.0
    assert commits == [1, 1]
    assert consumer.stats.counts[Outcome.DONE] == 4
    assert note_counts(casework, [case_id]) == Counter({(case_id, worker.note_text(2)): 1})
    acked: list[int] = []

    async def ack_pending() -> None:  # the last ack, sent at `stop`, reaches JetStream just after
        acked.append((await context.consumer_info("CASEWORK", "dispatch")).num_ack_pending)

    deadline = time.monotonic() + 1.5  # inside `ack_wait`: a lost ack would not be redelivered
    while time.monotonic() < deadline and acked[-1:] != [0]:
        await ack_pending()
        await asyncio.sleep(0.05)
    assert acked[-1] == 0
    assert (await context.consumer_info("CASEWORK", "dispatch")).num_pending == 0


@pytest.mark.anyio
async def test_after_a_short_batch_the_consumer_lingers_and_what_arrives_meanwhile_comes_together(
    js: tuple[Client, JetStreamContext], casework: Casework, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`linger`: messages arriving while the consumer waits after a batch that was not full are
    fetched, handled and settled together, each taking effect once; `stop` cuts the wait short."""
    nc, context = js
    (case_id,) = report_cases(casework, 1)
    hops = count_hops(monkeypatch)
    handler = worker.writing_every(worker.add_note, 2)
    consumer = Consumer(nc, casework, handler, worker.parse, subscription(batch=5, linger=2.0))
    runner = asyncio.create_task(consumer.run())
    await publish(context, case_id, 0)
    await wait_for(settled(consumer, Outcome.DONE, 1))  # a batch of one: lingering from here
    for n in range(1, 5):
        await publish(context, case_id, n)
    await wait_for(settled(consumer, Outcome.DONE, 5))
    stopping = time.monotonic()
    await consumer.stop()  # in the linger after the second short batch
    await runner

    assert time.monotonic() - stopping < 1.0
    assert hops == [("_handle_in_thread", 1), ("_handle_in_thread", 4)], hops
    assert note_counts(casework, [case_id]) == Counter(
        {(case_id, worker.note_text(n)): 1 for n in (0, 2, 4)}
    )
    info = await context.consumer_info("CASEWORK", "dispatch")
    assert info.num_ack_pending == 0
    assert info.num_pending == 0


@pytest.mark.anyio
@pytest.mark.parametrize("js", ["own_dlq", "relay"], indirect=True)
async def test_malformed_and_always_failing_messages_are_dead_lettered_and_the_rest_go_on(
    js: tuple[Client, JetStreamContext], casework: Casework
) -> None:
    nc, context = js
    good, poison = report_cases(casework, 2)

    def handler(event: Any, app: Casework) -> None:
        if event.case_id == poison:
            raise RuntimeError(f"no volunteer for case {event.case_id}")
        worker.add_note(event, app)

    await publish(context, good, 1)
    bad_json = await publish(context, good, 2, body=b"{not json")
    unknown = await publish(context, good, 3, ce_type="casework.test.unheard_of.v1")
    wrong_schema = await publish(context, good, 4, body=b'{"case_id": "x"}')
    failing = await publish(context, poison, 5)
    await publish(context, good, 6)

    consumer = Consumer(nc, casework, handler, worker.parse, subscription(max_attempts=3))
    runner = asyncio.create_task(consumer.run())
    await wait_for(settled(consumer, Outcome.DEAD_LETTERED, 4))
    await wait_for(settled(consumer, Outcome.DONE, 2))
    await consumer.stop()
    await runner

    assert note_counts(casework, [good, poison]) == Counter(
        {(good, "message 1"): 1, (good, "message 6"): 1}
    )
    letters = {
        d.sequence: d
        for d in map(DeadLetter.from_msg, await dead_letters(context))  # type: ignore[arg-type]
    }
    assert sorted(letters) == sorted([bad_json, unknown, wrong_schema, failing])
    for seq in (bad_json, unknown, wrong_schema):
        assert letters[seq].reason is Reason.MALFORMED
        assert letters[seq].deliveries == 1, "malformed: no retries"
    assert "JSONDecodeError" in letters[bad_json].error
    assert "unheard_of" in letters[unknown].error
    assert letters[bad_json].body == b"{not json"
    failed = letters[failing]
    assert failed.reason is Reason.FAILED
    assert failed.deliveries == 3
    assert f"RuntimeError: no volunteer for case {poison}" in failed.error
    assert failed.service == "dispatch"
    assert failed.subject == worker.SUBJECT
    assert failed.stream == "CASEWORK"
    assert failed.headers["ce-subject"] == str(poison)
    assert json.loads(failed.body) == {"case_id": str(poison), "n": 5}
    assert consumer.stats.counts[Outcome.RETRY] == 2
    info = await context.consumer_info("CASEWORK", "dispatch")
    assert info.num_ack_pending == 0
    assert info.num_pending == 0
    # Even where CASEWORK holds the dead letters, the service never consumed one.
    assert consumer.stats.counts[Outcome.DEAD_LETTERED] == 4


@pytest.mark.anyio
async def test_two_replicas_on_one_durable_consumer_handle_each_message_once(
    js: tuple[Client, JetStreamContext], store: str
) -> None:
    nc, context = js
    apps = [Casework(store), Casework(store)]
    try:
        case_ids = report_cases(apps[0], 6)
        for n in range(60):
            await publish(context, case_ids[n % 6], n)
        handler = worker.slow(worker.add_note, 0.01)
        replicas = [Consumer(nc, app, handler, worker.parse, subscription()) for app in apps]
        runners = [asyncio.create_task(r.run()) for r in replicas]
        await wait_for(
            lambda: sum(r.stats.counts[Outcome.DONE] for r in replicas) >= 60, timeout=60
        )
        for replica in replicas:
            await replica.stop()
        await asyncio.gather(*runners)

        counts = note_counts(apps[0], case_ids)
        assert counts == Counter({(case_ids[n % 6], worker.note_text(n)): 1 for n in range(60)})
        done = [r.stats.counts[Outcome.DONE] for r in replicas]
        assert sum(done) == 60
        assert all(d > 0 for d in done), f"one replica got all the work: {done}"
    finally:
        for app in apps:
            app.close()


@pytest.mark.anyio
@pytest.mark.parametrize("taken_at_once", [5, 1])
async def test_graceful_shutdown_finishes_the_message_in_hand_and_naks_the_rest(
    js: tuple[Client, JetStreamContext],
    casework: Casework,
    monkeypatch: pytest.MonkeyPatch,
    taken_at_once: int,
) -> None:
    """`taken_at_once` 1: as when the messages arrive one by one, the four not yet taken are
    still in the open pull request's hands at the stop, and are given back (and counted) too."""
    arrived = OpenPull.arrived
    monkeypatch.setattr(
        OpenPull, "arrived", lambda pull, batch: arrived(pull, min(batch, taken_at_once))
    )
    nc, context = js
    case_ids = report_cases(casework, 5)
    for n, case_id in enumerate(case_ids):
        await publish(context, case_id, n)
    started, release = threading.Event(), threading.Event()

    def blocking(event: Any, app: Casework) -> None:
        started.set()
        assert release.wait(10)
        worker.add_note(event, app)

    consumer = Consumer(nc, casework, blocking, worker.parse, subscription(batch=5))
    runner = asyncio.create_task(consumer.run())
    await asyncio.to_thread(started.wait, 10)
    stopping = asyncio.create_task(consumer.stop())
    await asyncio.sleep(0.3)
    assert not stopping.done(), "stop waits for the message in hand"
    release.set()
    await stopping
    await runner
    assert consumer.stats.counts[Outcome.DONE] == 1
    assert consumer.stats.counts[Outcome.RETURNED] == 4
    assert sum(note_counts(casework, case_ids).values()) == 1

    # The four given back go to the next replica at once (no ack_wait to sit out).
    successor = Consumer(nc, casework, worker.add_note, worker.parse, subscription())
    began = time.monotonic()
    runner = asyncio.create_task(successor.run())
    await wait_for(settled(successor, Outcome.DONE, 4), timeout=10)
    assert time.monotonic() - began < 2.0
    await successor.stop()
    await runner
    assert note_counts(casework, case_ids) == Counter(
        {(case_id, worker.note_text(n)): 1 for n, case_id in enumerate(case_ids)}
    )


@pytest.mark.anyio
async def test_a_handler_that_outlives_the_grace_period_is_given_back_not_acked(
    js: tuple[Client, JetStreamContext], casework: Casework
) -> None:
    nc, context = js
    (case_id,) = report_cases(casework, 1)
    await publish(context, case_id, 1)
    started, release = threading.Event(), threading.Event()

    def stuck(event: Any, app: Casework) -> None:
        started.set()
        release.wait(10)
        worker.add_note(event, app)

    consumer = Consumer(nc, casework, stuck, worker.parse, subscription(shutdown_grace=0.2))
    runner = asyncio.create_task(consumer.run())
    await asyncio.to_thread(started.wait, 10)
    await consumer.stop()
    await runner
    assert consumer.stats.counts[Outcome.DONE] == 0
    assert consumer.stats.counts[Outcome.RETURNED] == 1
    info = await context.consumer_info("CASEWORK", "dispatch")
    assert info.num_ack_pending + info.num_pending >= 1, "not acked"

    release.set()  # the abandoned thread commits late; the redelivery must not do it again
    await wait_for(lambda: sum(note_counts(casework, [case_id]).values()) == 1, timeout=10)
    successor = Consumer(nc, casework, worker.add_note, worker.parse, subscription())
    runner = asyncio.create_task(successor.run())
    await wait_for(settled(successor, Outcome.DUPLICATE, 1), timeout=10)
    await successor.stop()
    await runner
    assert note_counts(casework, [case_id]) == Counter({(case_id, "message 1"): 1})


# --------------------------------------------------- a killed process


def _start_worker(nats_url: str, store: str, *extra: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(WORKER_PATH), "--nats", nats_url, "--store", store, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.kill()
        raise AssertionError(f"worker did not start: {line!r} {process.stderr.read()}")  # type: ignore[union-attr]
    return process


def _finish(process: subprocess.Popen[str], how: signal.Signals) -> list[str]:
    """Signal the worker (if still running), wait, and return every line it printed."""
    if process.poll() is None:
        process.send_signal(how)
    out, _ = process.communicate(timeout=30)
    return out.splitlines()


@pytest.fixture(params=["sqlite", "postgres"])
def any_store(request: pytest.FixtureRequest, store: str) -> str:
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
        url: str = request.getfixturevalue("postgres_url")
        return url
    return store


@pytest.mark.anyio
async def test_a_consumer_process_killed_mid_batch_and_restarted_records_each_effect_once(
    nats_server: NatsServer, js: tuple[Client, JetStreamContext], any_store: str
) -> None:
    _, context = js
    app = Casework(any_store)
    processes: list[subprocess.Popen[str]] = []
    lines: list[str] = []
    try:
        case_ids = report_cases(app, 8)
        total = 120
        for n in range(total):
            await publish(context, case_ids[n % 8], n)

        def recorded() -> int:
            return sum(note_counts(app, case_ids).values())

        # 1. Dies between a commit and its ack: the one case that needs the tracking record.
        processes.append(_start_worker(nats_server.url, any_store, "--die-after-commits", "7"))
        code = processes[-1].wait(timeout=60)
        assert code == -signal.SIGKILL, processes[-1].stderr.read()  # type: ignore[union-attr]
        lines += _finish(processes[-1], signal.SIGKILL)
        assert recorded() == 7
        # 2. SIGKILLed from outside at some moment in the middle of a batch.
        processes.append(
            _start_worker(nats_server.url, any_store, "--batch", "10", "--handler-delay", "0.01")
        )
        target = random.randint(20, 60)
        await wait_for(lambda: recorded() >= target, timeout=60)
        lines += _finish(processes[-1], signal.SIGKILL)
        assert recorded() < total, "killed before the end"
        # 3. Restarted: picks up the rest, meets the committed-but-unacked ones again.
        processes.append(_start_worker(nats_server.url, any_store, "--batch", "10"))
        await wait_for(lambda: recorded() >= total, timeout=90)

        async def all_acked() -> bool:
            info = await context.consumer_info("CASEWORK", "dispatch")
            return info.num_ack_pending == 0 and info.num_pending == 0

        deadline = time.monotonic() + 30
        while not await all_acked():
            assert time.monotonic() < deadline, "messages left unacked"
            await asyncio.sleep(0.1)
        final = _finish(processes[-1], signal.SIGTERM)
        assert processes[-1].returncode == 0
        lines += final

        assert note_counts(app, case_ids) == Counter(
            {(case_ids[n % 8], worker.note_text(n)): 1 for n in range(total)}
        )
        settled_as: dict[str, list[int]] = {}
        for line in lines:
            if re.fullmatch(r"[a-z_]+ \d+", line):
                outcome, seq = line.split()
                settled_as.setdefault(outcome, []).append(int(seq))
        done, again = settled_as.get("done", []), settled_as.get("duplicate", [])
        assert len(done) == len(set(done)), "no message took effect twice"
        # A worker killed after a commit never printed "done": its message came back a duplicate.
        assert set(done) | set(again) == set(range(1, total + 1))
        assert again, "a message committed but not acked came back and was recognised"
        assert "dead_lettered" not in settled_as
    finally:
        for process in processes:
            if process.poll() is None:
                _finish(process, signal.SIGKILL)
        app.close()


@pytest.mark.anyio
async def test_a_process_killed_with_positions_waiting_to_be_recorded_loses_and_repeats_nothing(
    nats_server: NatsServer, js: tuple[Client, JetStreamContext], store: str
) -> None:
    """Most messages write nothing: killed between handling them and recording their
    positions, they come back and are handled again (writing nothing again)."""
    _, context = js
    app = Casework(store)
    processes: list[subprocess.Popen[str]] = []
    lines: list[str] = []
    try:
        case_ids = report_cases(app, 4)
        total = 90
        for n in range(total):
            await publish(context, case_ids[n % 4], n)
        options = ("--write-every", "3", "--batch", "10")

        def recorded() -> int:
            return sum(note_counts(app, case_ids).values())

        processes.append(_start_worker(nats_server.url, store, *options, "--handler-delay", "0.01"))
        await wait_for(lambda: recorded() >= random.randint(5, 15), timeout=60)
        lines += _finish(processes[-1], signal.SIGKILL)
        assert recorded() < total // 3, "killed before the end"
        processes.append(_start_worker(nats_server.url, store, *options))

        async def all_acked() -> bool:
            info = await context.consumer_info("CASEWORK", "dispatch")
            return info.num_ack_pending == 0 and info.num_pending == 0

        deadline = time.monotonic() + 60
        while not await all_acked():
            assert time.monotonic() < deadline, "messages left unacked"
            await asyncio.sleep(0.1)
        lines += _finish(processes[-1], signal.SIGTERM)
        assert processes[-1].returncode == 0

        assert note_counts(app, case_ids) == Counter(
            {(case_ids[n % 4], worker.note_text(n)): 1 for n in range(0, total, 3)}
        )
        for sequence in range(1, total + 1):
            assert app.is_tracked(position("dispatch", "CASEWORK", sequence)), sequence
        done = [int(line.split()[1]) for line in lines if line.startswith("done ")]
        assert len(done) == len(set(done)), "no message settled as done twice"
    finally:
        for process in processes:
            if process.poll() is None:
                _finish(process, signal.SIGKILL)
        app.close()


# ------------------------------------------------- outages


@pytest.mark.anyio
async def test_a_store_that_cannot_take_writes_is_an_outage_and_never_a_dead_letter(
    js: tuple[Client, JetStreamContext],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A locked SQLite file (a real lock held by another connection) refuses every write, for
    more deliveries than `max_attempts`: the messages wait (nak'ed, not counted) and are each
    handled once when the store takes writes again; nothing is dead-lettered."""
    import sqlite3

    nc, context = js
    path = tmp_path / "locked.db"
    app = Casework("sqlite:///" + str(path), env={"SQLITE_LOCK_TIMEOUT": "1"})
    case_ids = report_cases(app, 1)
    monkeypatch.setenv("CASEWORK_OUTAGE_BACKOFF_MAX", "0.5")

    class Counting(Consumer[Any]):
        """Notes how often JetStream has delivered each message it settles."""

        most_deliveries = 0

        def settled(self, msg: Any, outcome: Outcome) -> None:
            self.most_deliveries = max(self.most_deliveries, msg.metadata.num_delivered)
            super().settled(msg, outcome)

    max_attempts = 2
    consumer = Counting(
        nc,
        app,
        worker.add_note,
        worker.parse,
        subscription(max_attempts=max_attempts, backoff=(0.1,)),
    )
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    await consumer.subscribe()
    running = asyncio.create_task(consumer.run())
    try:
        for n in range(3):
            await publish(context, case_ids[0], n)
        # Held until a message was delivered more often than max_attempts would allow a failure.
        await wait_for(lambda: consumer.most_deliveries > max_attempts, timeout=60)
        assert consumer.outages.is_down("store")
        holder.execute("ROLLBACK")
        await wait_for(settled(consumer, Outcome.DONE, 3), timeout=60)
    finally:
        holder.close()
        await consumer.stop()
        await running
    try:
        assert consumer.stats.counts[Outcome.DEAD_LETTERED] == 0
        assert await dead_letters(context) == []
        assert note_counts(app, case_ids) == Counter(
            {(case_ids[0], worker.note_text(n)): 1 for n in range(3)}
        )
        assert not consumer.outages.down
        said = [
            r.getMessage() for r in caplog.records if "consumer dispatch: store" in r.getMessage()
        ]
        assert len(said) == 2, said  # once down, once up: not once per retry
        assert "unreachable (OperationalError: database is locked)" in said[0]
        assert "reachable again" in said[1]
    finally:
        app.close()


@pytest.mark.anyio
async def test_a_durable_consumer_deleted_under_a_running_consumer_is_recreated_and_said(
    js: tuple[Client, JetStreamContext], casework: Casework, caplog: pytest.LogCaptureFixture
) -> None:
    """JetStream's refusal is not "NATS unreachable": the consumer says what happened (with the
    error) and recreates its durable consumer, as at start; later messages are handled once."""
    nc, context = js
    case_ids = report_cases(casework, 2)
    await publish(context, case_ids[0], 1)
    consumer = Consumer(nc, casework, worker.add_note, worker.parse, subscription())
    runner = asyncio.create_task(consumer.run())
    await wait_for(settled(consumer, Outcome.DONE, 1))
    with caplog.at_level(logging.WARNING, logger="casework"):
        await context.delete_consumer("CASEWORK", "dispatch")
        await wait_for(lambda: any("missing" in r.getMessage() for r in caplog.records), 10)
        await publish(context, case_ids[1], 2)
        await wait_for(settled(consumer, Outcome.DONE, 2), 20)
    await consumer.stop()
    await runner
    said = [r for r in caplog.records if "durable consumer dispatch is missing" in r.getMessage()]
    assert len(said) == 1
    assert said[0].exc_info is not None  # with JetStream's error
    assert not [r for r in caplog.records if "NATS unreachable" in r.getMessage()]
    assert consumer.outages.outages == 0
    assert note_counts(casework, case_ids) == Counter(
        {(case_ids[0], "message 1"): 1, (case_ids[1], "message 2"): 1}
    )
