"""`casework dlq list|show|replay`: the operator's view of the messages services gave up on.

They talk to the NATS at `NATS_URL` (or the embedded one under the var dir, like `relay`).
A sequence that names no dead letter is a bad request (exit 2, one line on stderr); a publish
that fails leaves the letter where it was (exit 1); a NATS that does not answer within a few
seconds is one line naming its host:port (exit 1). See `messaging/dead_letter_office.py`.

They need the `casework[nats]` extra, imported when a command runs (see `commands/messaging.py`).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from casework.domain.errors import ValidationError

if TYPE_CHECKING:
    pass

if TYPE_CHECKING:
    from nats.js import JetStreamContext

    from casework.messaging.dead_letter_office import Filed


def register(subparsers: Any) -> None:
    dlq = subparsers.add_parser(
        "dlq",
        help="list, show and replay dead letters (casework.dlq.<service>)",
        description="Messages a service could not read or handle, filed with the error on "
        "casework.dlq.<service> (NATS_URL). Replay puts one back for that service alone once "
        "the cause is fixed, then removes the letter.",
    )
    actions = dlq.add_subparsers(dest="dlq_action", required=True, metavar="ACTION")

    listing = actions.add_parser(
        "list",
        help="one line per dead letter",
        description="Tab-separated: seq, service, filed at, reason (error class), original "
        "subject, ce-type, case id. Oldest first.",
    )
    listing.add_argument("--service", metavar="S", help="only this service's letters")
    listing.set_defaults(handler=run_list)

    show = actions.add_parser("show", help="a dead letter's headers, error and original body")
    show.add_argument("seq", type=int, metavar="SEQ", help="its stream sequence (from `list`)")
    show.set_defaults(handler=run_show)

    again = actions.add_parser(
        "replay",
        help="republish dead letters for their service, then remove them",
        description="Publish the original message again on its original subject (new "
        "Nats-Msg-Id, marked for the letter's service only), and remove the letter once "
        "JetStream has stored it. A failed publish keeps the letter.",
    )
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("seq", type=int, nargs="?", metavar="SEQ", help="one letter")
    which.add_argument("--service", metavar="S", help="every letter of this service")
    which.add_argument("--all", action="store_true", help="every letter of every service")
    again.set_defaults(handler=run_replay)


@asynccontextmanager
async def _jetstream(url: str) -> AsyncIterator[JetStreamContext]:
    from casework.outages import connect_nats_once

    nc = await connect_nats_once(url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


def _service(name: str | None) -> str | None:
    from casework.messaging.dead_letter import dead_letter_subject  # needs casework[nats]

    if name is None:
        return None
    try:
        dead_letter_subject(name)
    except ValueError as error:
        raise ValidationError(f"--service: {error}") from None
    return name


def run_list(args: argparse.Namespace) -> int:
    from casework.messaging.dead_letter_office import list_letters, summary
    from casework.messaging.nats_server import embedded_nats

    service = _service(args.service)

    async def go(url: str) -> list[Filed]:
        async with _jetstream(url) as js:
            return await list_letters(js, service)

    with embedded_nats() as url:
        letters = asyncio.run(go(url))
    for filed in letters:
        print(summary(filed))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from casework.messaging.dead_letter_office import describe, get_letter
    from casework.messaging.nats_server import embedded_nats

    async def go(url: str) -> Filed:
        async with _jetstream(url) as js:
            return await get_letter(js, args.seq)

    with embedded_nats() as url:
        filed = asyncio.run(go(url))
    for line in describe(filed):
        print(line)
    return 0


def run_replay(args: argparse.Namespace) -> int:
    from casework.messaging.dead_letter_office import get_letter, list_letters, replay
    from casework.messaging.nats_server import embedded_nats

    service = _service(args.service)

    async def go(url: str) -> int:
        async with _jetstream(url) as js:
            if args.seq is not None:
                letters = [await get_letter(js, args.seq)]
            else:  # letters not filed by a consumer have no original to put back
                letters = [f for f in await list_letters(js, service) if f.letter is not None]
            for filed in letters:
                done = await replay(js, filed)
                note = " (already there: replayed before)" if done.duplicate else ""
                print(
                    f"replayed {done.letter_seq} as {done.subject} "
                    f"(stream {done.stream}, seq {done.seq}){note}; letter removed"
                )
            return len(letters)

    with embedded_nats() as url:
        count = asyncio.run(go(url))
    if args.seq is None:
        print(f"{count} dead letter(s) replayed")
    return 0
