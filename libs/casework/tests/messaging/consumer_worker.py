"""A consumer replica for the consumer tests, runnable as its own process so a test can kill it.

The messages are test messages (`casework.test.note_requested.v1`: "add note n to case c"), not
case events: the toolkit takes any parser, and a note per message makes every effect countable
in the case file. `--die-after-commits N` SIGKILLs the process right after its N-th handler
transaction commits and before the message is acked: the exact window exactly-once is about.
`--write-every K`: only every K-th message adds its note; the others write nothing.

    python consumer_worker.py --nats URL --store URL [--service S] [--die-after-commits N]

Prints `ready` once subscribed, then `<outcome> <stream sequence>` per message settled; on
SIGTERM it stops gracefully and prints its stats as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from casework.application import Casework
from casework.domain import Actor, Role
from casework.messaging.consumer import Consumer, Outcome, SubscriptionSettings
from casework.outages import connect_nats
from eventsourcing.persistence import Recording
from nats.aio.msg import Msg

TEST_TYPE = "casework.test.note_requested.v1"
SUBJECT = "casework.test.note_requested"
ACTOR = Actor("consumer-test", Role.PROPERTY_STAFF)


@dataclass(frozen=True)
class NoteRequested:
    case_id: UUID
    n: int


def parse(msg: Msg) -> NoteRequested:
    kind = (msg.headers or {}).get("ce-type")
    if kind != TEST_TYPE:
        raise ValueError(f"unknown message type {kind!r}")
    body = json.loads(msg.data)
    return NoteRequested(UUID(body["case_id"]), int(body["n"]))


def note_text(n: int) -> str:
    return f"message {n}"


def add_note(event: NoteRequested, app: Casework) -> None:
    app.add_note(event.case_id, ACTOR, note_text(event.n))


class DyingCasework(Casework):
    """Kills its own process after `die_after` committed handler transactions."""

    # eventsourcing names a subclass after itself, and on PostgreSQL the name picks the tables.
    name = Casework.name
    die_after = 0
    commits = 0

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        super()._notify(recordings)
        self.commits += 1
        if self.die_after and self.commits >= self.die_after:
            os.kill(os.getpid(), signal.SIGKILL)


class ReportingConsumer(Consumer[NoteRequested]):
    """Prints each message's outcome as it is settled, so a test can read a killed worker."""

    def settled(self, msg: Msg, outcome: Outcome) -> None:
        super().settled(msg, outcome)
        print(f"{outcome.value} {msg.metadata.sequence.stream}", flush=True)


def writing_every(handler: Any, every: int) -> Any:
    """Only message n with n % every == 0 takes effect; the others write nothing (as most
    case events are nothing to a service), so their positions are recorded in batches."""

    def handle(event: NoteRequested, app: Casework) -> None:
        if event.n % every == 0:
            handler(event, app)

    return handle


def slow(handler: Any, delay: float) -> Any:
    def handle(event: NoteRequested, app: Casework) -> None:
        time.sleep(delay)
        handler(event, app)

    return handle


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nats", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--service", default="dispatch")
    parser.add_argument("--stream", default="CASEWORK")
    parser.add_argument("--die-after-commits", type=int, default=0)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--ack-wait", type=float, default=2.0)
    parser.add_argument("--handler-delay", type=float, default=0.0)
    parser.add_argument("--write-every", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)

    app = DyingCasework(args.store)
    app.die_after = args.die_after_commits
    nc = await connect_nats(args.nats, "consumer-worker")
    settings = SubscriptionSettings(
        service=args.service,
        stream=args.stream,
        filter_subjects=("casework.test.>",),
        batch=args.batch,
        ack_wait=args.ack_wait,
        fetch_timeout=0.5,
    )
    handler = slow(writing_every(add_note, args.write_every), args.handler_delay)
    consumer = ReportingConsumer(nc, app, handler, parse, settings)
    await consumer.subscribe()
    consumer.stop_on_signals(signal.SIGTERM)
    print("ready", flush=True)
    try:
        await consumer.run()
    finally:
        await nc.drain()
        app.close()
    print(json.dumps({k.value: v for k, v in consumer.stats.counts.items()}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
