"""`casework relay` (store -> JetStream) and `casework asyncapi` (the contract document).

Both need the `casework[nats]` extra: its modules are imported when a command runs, not here,
so the commands are listed (and `casework --help` works) without it, and running one without
it says which extra to install (exit 2).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from casework.settings import store_url

if TYPE_CHECKING:
    from casework.messaging.relay import Relay


def register(subparsers: Any) -> None:
    relay = subparsers.add_parser(
        "relay",
        help="publish case events from the store to NATS JetStream",
        description=(
            "Follow the store (CASEWORK_STORE) and publish every case event to the CASEWORK "
            "stream at NATS_URL (or an embedded nats-server under the var dir when unset). "
            "Runs until SIGTERM or Ctrl-C; --once publishes what is missing and exits. Several "
            "relays may run: one publishes (it holds a PostgreSQL advisory lock, or a file lock "
            "beside a SQLite store), the others stand by and take over when it dies."
        ),
    )
    relay.add_argument("--once", action="store_true", help="publish what is missing, then exit")
    relay.add_argument("--batch-size", type=int, default=500, help="events per window")
    relay.add_argument("--quiet", action="store_true", help="log warnings only")
    relay.set_defaults(handler=run_relay)

    asyncapi = subparsers.add_parser(
        "asyncapi", help="write the AsyncAPI 3 document of every subject and message"
    )
    asyncapi.add_argument("--out", type=Path, help="file to write (default: stdout)")
    which = asyncapi.add_mutually_exclusive_group()
    which.add_argument(
        "--kind",
        action="append",
        metavar="KIND",
        help="document this registered kind only (repeat for more; default: every kind installed)",
    )
    which.add_argument(
        "--library",
        action="store_true",
        help="the library's own kinds only (repair, leak, dispute): docs/asyncapi.json",
    )
    asyncapi.set_defaults(handler=write_asyncapi)


def run_relay(args: argparse.Namespace) -> int:
    from casework.application import Casework
    from casework.gc_pauses import freeze_startup
    from casework.logs import configure_logging
    from casework.messaging.nats_server import embedded_nats  # needs casework[nats]
    from casework.messaging.relay import Relay
    from casework.outages import Outages, one_shot_env

    configure_logging("WARNING" if args.quiet else "INFO")  # JSON lines, as the services'
    if args.once:  # a one-shot: an unreachable store or NATS is one line, within seconds
        app = Casework(env=one_shot_env())
    else:  # runs for good: waits for the store however long it is away (logged once)
        app = Outages("relay", logging.getLogger("casework.messaging.relay")).call_sync(Casework)
    try:
        with embedded_nats() as url:
            relay = Relay(app, url, batch_size=args.batch_size)
            freeze_startup()  # a full collection then skips what the start made (ms, not 0.2 s)
            if args.once:  # a one-shot takes no lock: what it repeats, the stream drops
                count = asyncio.run(_once(relay))
                print(f"published {count} event(s); {relay.duplicates} already on the stream")
                return 0
            asyncio.run(_run_until_signalled(relay))
            return 0
    finally:
        app.close()


async def _once(relay: Relay) -> int:
    """`run_once`, after making sure NATS answers (else one line naming it, in seconds)."""
    from casework.outages import UnreachableError, connect_nats_once

    try:
        probe = await connect_nats_once(relay.nats_url)
    except UnreachableError:
        await relay.close()
        raise
    await probe.close()
    return await relay.run_once()


async def _run_until_signalled(relay: Relay) -> None:
    """Stand by until this relay holds the lock (`casework.locks`), then publish until stopped; a
    lost lock stops publishing at once and it stands by again."""
    from casework.locks import hold, lock_for
    from casework.outages import nats_address

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log = logging.getLogger(__name__)
    lock = lock_for(store_url())
    try:
        while await hold(lock, stop):
            log.info("relay: publishing to %s until stopped", nats_address(relay.nats_url))
            halt = asyncio.Event()
            watch = asyncio.ensure_future(lock.watch(check=1.0))
            waits = [asyncio.ensure_future(e.wait()) for e in (stop, lock.lost)]
            for wait in waits:
                wait.add_done_callback(lambda _, halt=halt: halt.set())  # type: ignore[misc]
            try:
                await relay.run(halt)
            finally:
                for task in (watch, *waits):
                    task.cancel()
            if stop.is_set():
                break
            log.warning("relay: lost the %s; stopped publishing, standing by", lock.describe())
            lock.lost.clear()
    finally:
        await lock.release()


def write_asyncapi(args: argparse.Namespace) -> int:
    from casework.contracts.asyncapi import render  # names casework.messaging's subjects
    from casework.kinds.registry import BUILTIN, KindError

    names = BUILTIN if args.library else args.kind
    try:
        text = render(names)
    except KindError as error:
        print(f"casework asyncapi: {error}", file=sys.stderr)
        return 2
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    return 0
