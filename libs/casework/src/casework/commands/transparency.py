"""The transparency log's commands: `notary`, `checkpoints`, `export` and `verify-file`.

`notary` follows the store and signs checkpoints (`casework.transparency.notary`); `notary
pubkey` prints the public key auditors keep away from the server. `checkpoints verify` checks
that each checkpoint extends the one before (the log only grew). `export` writes a case file an
auditor verifies offline with `verify-file` (or `docs/verify_export.py`, without Casework).
`verify --checkpoint` (in `casework.commands.audit`) checks the whole store against one.
Exit 3 means tampered, as `verify`'s does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from casework.domain.errors import CaseNotFoundError, ValidationError
from casework.files import write_private
from casework.settings import store_url, var_dir

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from casework.transparency.checkpoints import (
        Checkpoint,
    )
    from casework.transparency.notary import Notary

if TYPE_CHECKING:  # casework.messaging needs the [nats] extra: imported where a command runs it
    from casework.messaging.checkpoint_stream import CheckpointPost

EXIT_TAMPERED = 3


def register(subparsers: Any) -> None:
    notary = subparsers.add_parser(
        "notary",
        help="append every case event to the transparency log and sign checkpoints of it",
        description="run (default): follow the store and sign a checkpoint every "
        "CASEWORK_NOTARY_EVERY events or CASEWORK_NOTARY_SECONDS seconds, until SIGTERM or "
        "Ctrl-C; with NATS_URL set, post each to the CASEWORK_CHECKPOINTS stream too. Several "
        "may run: one appends (it holds a PostgreSQL advisory lock, or a file lock beside a "
        "SQLite store), the others stand by. checkpoint: catch up, sign one now, print it. "
        "pubkey: print the public key (base64) that auditors keep. The signing key is "
        "CASEWORK_NOTARY_KEY (base64), else notary.key under the var dir, made 0600 on first "
        "start.",
    )
    notary.add_argument("action", nargs="?", default="run", choices=["run", "checkpoint", "pubkey"])
    notary.add_argument("--poll", type=float, default=1.0, help="seconds between reads of the log")
    notary.set_defaults(handler=run_notary)

    checkpoints = subparsers.add_parser(
        "checkpoints",
        help="list the signed checkpoints, or verify that each extends the one before",
    )
    checkpoints.add_argument("action", choices=["verify", "list", "latest"])
    checkpoints.add_argument("--pubkey", metavar="KEY", help="base64, or a file holding it")
    checkpoints.add_argument(
        "--from-nats",
        action="store_true",
        help="verify: check the checkpoints on the CASEWORK_CHECKPOINTS stream (NATS_URL, as "
        "NATS_USER) instead of the store's: each extends the one before in this store's log, "
        "and the store's events give the latest; catches a store rewritten and re-signed",
    )
    checkpoints.set_defaults(handler=run_checkpoints, reads_store=True)

    export = subparsers.add_parser(
        "export",
        help="write a case file with its chain, the latest signed checkpoint and proofs",
        description="One JSON document an auditor verifies offline (`casework verify-file`, or "
        "docs/verify_export.py). Personal values stay sealed, as stored.",
    )
    export.add_argument("case_id", metavar="CASE_ID")
    export.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")
    export.set_defaults(handler=run_export, reads_store=True)

    verify_file = subparsers.add_parser(
        "verify-file", help="verify an export offline (no store, no NATS); exit 3 if tampered"
    )
    verify_file.add_argument("file", type=Path, metavar="FILE")
    verify_file.add_argument("--pubkey", required=True, metavar="KEY", help="base64, or a file")
    verify_file.add_argument(
        "--origin",
        metavar="NAME",
        help="the log the checkpoint must be of (its origin, as `casework checkpoints latest` "
        "shows it): refuses another deployment's checkpoint signed with the same key",
    )
    verify_file.set_defaults(handler=run_verify_file)


def local_public_key(given: str | None) -> Ed25519PublicKey:
    """`--pubkey` when given; else this machine's notary key (trusting the server: noted)."""
    from casework.transparency.checkpoints import KEY_ENV, KEY_FILE, notary_key, private_key_from
    from casework.transparency.exports import read_public_key

    if given:
        return read_public_key(given)
    text = os.environ.get(KEY_ENV, "")
    path = var_dir() / KEY_FILE
    if not text and not path.exists():
        raise ValidationError("give --pubkey KEY (as `casework notary pubkey` printed it)")
    private = private_key_from(text, KEY_ENV) if text else notary_key()
    print(
        "note: checked with this machine's notary key; an auditor passes --pubkey", file=sys.stderr
    )
    return private.public_key()


def run_notary(args: argparse.Namespace) -> int:
    from casework.application import Casework
    from casework.logs import configure_logging
    from casework.outages import Outages, one_shot_env
    from casework.transparency.checkpoints import notary_key, public_text
    from casework.transparency.notary import Notary, cadence

    key = notary_key()
    if args.action == "pubkey":
        print(public_text(key.public_key()))
        return 0
    every, seconds = cadence()
    if args.action == "checkpoint":
        with Casework(env=one_shot_env()) as app:  # beside a running notary: retried
            signed = Notary(app, key, every=every, seconds=seconds).sign_now()
        print(json.dumps(signed.to_json()))
        return 0
    configure_logging("INFO")
    app = Outages("notary", logging.getLogger("casework.notary")).call_sync(Casework)
    nats_url = os.environ.get("NATS_URL") or None
    from casework.messaging.checkpoint_stream import CheckpointPost  # the [nats] extra

    post = CheckpointPost(app, nats_url) if nats_url else None
    try:
        # A CASEWORK_LOG_ORIGIN the store's log does not answer to stops it here, not later.
        log_name = Notary(app, key).name_log()
        logging.getLogger("casework.notary").info("notary of the log %s", log_name)
        asyncio.run(
            _notarise(app, post, lambda: Notary(app, key, every=every, seconds=seconds), args.poll)
        )
    finally:
        app.close()
    return 0


async def _notarise(
    app: Any, post: CheckpointPost | None, make: Callable[[], Notary], poll: float
) -> None:
    """Stand by until this notary holds the notary lock (`relay_lock.lock_for(store, "notary")`),
    then append, sign and post checkpoints until stopped; a lost lock stops it at once and it
    stands by again. Only the active notary posts: the stream's duplicate window drops what a
    notary that took over publishes again."""
    from casework.messaging.relay_lock import hold, lock_for  # the [nats] extra
    from casework.messaging.subjects import CHECKPOINTS_STREAM
    from casework.outages import Outages

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log = logging.getLogger("casework.notary")
    lock = lock_for(store_url(), "notary")
    nats_outages = Outages("notary (checkpoints to NATS)", log)
    was_active = False
    try:
        while await hold(lock, stop, who="notary"):
            was_active = True
            where = f"; posting to {CHECKPOINTS_STREAM}" if post else "; no NATS_URL: store only"
            log.info("notary: appending and signing until stopped%s", where)
            notary = make()
            notary.start(poll)
            watch = asyncio.ensure_future(lock.watch(check=1.0))
            try:
                while not (stop.is_set() or lock.lost.is_set()):
                    if post is not None:
                        try:
                            await post.step()
                            nats_outages.recovered()
                        except Exception as error:  # kept in the store; posted once NATS is back
                            if not nats_outages.failed(error):
                                log.warning("notary: posting checkpoints failed: %s", error)
                    waits = [asyncio.ensure_future(e.wait()) for e in (stop, lock.lost)]
                    await asyncio.wait(waits, timeout=poll, return_when="FIRST_COMPLETED")
                    for wait in waits:
                        wait.cancel()
            finally:
                watch.cancel()
                await asyncio.to_thread(notary.stop)
            if stop.is_set():
                break
            log.warning("notary: lost the %s; stopped appending, standing by", lock.describe())
            lock.lost.clear()
    finally:
        if post is not None and was_active:
            with contextlib.suppress(Exception):  # a last post of what was signed meanwhile
                await post.step()
            await post.close()
        await lock.release()


def run_checkpoints(args: argparse.Namespace) -> int:
    from casework.application import Casework
    from casework.outages import one_shot_env
    from casework.transparency.tables import tables_for
    from casework.transparency.verify import check_checkpoints

    if args.from_nats:
        if args.action != "verify":
            raise ValidationError("--from-nats goes with `checkpoints verify` only")
        return _verify_posted(args.pubkey)
    with Casework(env=one_shot_env(), read_only=True) as app:
        if args.action == "list":
            for checkpoint in tables_for(app).checkpoints():
                print(json.dumps(checkpoint.to_json()))
            return 0
        if args.action == "latest":
            latest = tables_for(app).latest()
            if latest is None:
                raise CaseNotFoundError("no checkpoint yet: run `casework notary`")
            print(json.dumps(latest.to_json()))
            return 0
        results = check_checkpoints(app, local_public_key(args.pubkey))
    for result in results:
        print(result.describe())
    failed = [r for r in results if not r.ok]
    print(
        "checkpoints: none yet"
        if not results
        else f"checkpoints: {len(failed)} of {len(results)} do NOT verify"
        if failed
        else f"checkpoints: all {len(results)} signed, each extends the one before"
    )
    return EXIT_TAMPERED if failed else 0


def _verify_posted(pubkey: str | None) -> int:
    """`checkpoints verify --from-nats`: the stream's checkpoints against this store."""
    from casework.application import Casework
    from casework.messaging.subjects import CHECKPOINTS_STREAM  # the [nats] extra
    from casework.outages import one_shot_env
    from casework.transparency.verify import check_checkpoints, check_store

    url = os.environ.get("NATS_URL", "")
    if not url:
        raise ValidationError("--from-nats reads NATS_URL: set it (and NATS_USER, as `admin`)")
    posted = asyncio.run(_read_posted(url))
    with Casework(env=one_shot_env(), read_only=True) as app:
        key = local_public_key(pubkey)
        results = check_checkpoints(app, key, posted)
        latest = check_store(app, posted[-1], key) if posted else None
    for result in results:
        print(result.describe())
    failed = [r for r in results if not r.ok]
    where = f"on {CHECKPOINTS_STREAM}"
    print(
        f"checkpoints: none {where} yet"
        if not results
        else f"checkpoints: {len(failed)} of {len(results)} {where} do NOT verify"
        if failed
        else f"checkpoints: all {len(results)} {where} signed, each extends the one before"
    )
    if latest is not None:
        print(f"the store against the latest {where}: {latest.describe()}")
    return EXIT_TAMPERED if failed or (latest is not None and not latest.ok) else 0


async def _read_posted(url: str) -> list[Checkpoint]:
    from casework.messaging.checkpoint_stream import read_posted  # the [nats] extra
    from casework.outages import connect_nats_once

    nc = await connect_nats_once(url)
    try:
        return await read_posted(nc.jetstream(timeout=5.0))
    finally:
        await nc.close()


def load_checkpoint(app: Any, which: str) -> Checkpoint:
    """`latest` (from the store) or a file holding one checkpoint's JSON."""
    from casework.transparency.checkpoints import Checkpoint
    from casework.transparency.tables import tables_for

    if which == "latest":
        latest = tables_for(app).latest()
        if latest is None:
            raise CaseNotFoundError("no checkpoint in the store yet: run `casework notary`")
        return latest
    try:
        return Checkpoint.from_json(json.loads(Path(which).read_text(encoding="utf-8")))
    except OSError as error:
        raise ValidationError(f"cannot read checkpoint file {which}: {error.strerror}") from None
    except ValueError:
        raise ValidationError(f"checkpoint file {which} is not JSON") from None


def verify_against_checkpoint(app: Any, which: str, pubkey: str | None) -> int:
    """`casework verify --checkpoint`: the log against the checkpoint, then every chain."""
    from casework.transparency.chains import ChainWalk
    from casework.transparency.verify import check_store

    checkpoint = load_checkpoint(app, which)
    walk = ChainWalk()
    log_check = check_store(app, checkpoint, local_public_key(pubkey), walk)
    print(log_check.describe())
    chains = walk.results()
    broken = [r for r in chains if not r.ok]
    for result in broken:
        print(result.describe())
    print(f"verify: {len(chains) - len(broken)} of {len(chains)} case chains intact")
    return EXIT_TAMPERED if broken or not log_check.ok else 0


def run_export(args: argparse.Namespace) -> int:
    from casework.application import Casework
    from casework.outages import one_shot_env
    from casework.transparency.exports import build_export, canonical

    try:
        case_id = UUID(args.case_id)
    except ValueError:
        raise CaseNotFoundError(f"{args.case_id!r} is not a case id (a UUID)") from None
    with Casework(env=one_shot_env(), read_only=True) as app:
        data = canonical(build_export(app, case_id)).decode("ascii")
    if args.out is None:
        sys.stdout.write(data)
        return 0
    write_private(args.out, data)  # sealed values, but still a resident's case file
    print(f"export: wrote case {case_id} to {args.out}", file=sys.stderr)
    return 0


def run_verify_file(args: argparse.Namespace) -> int:
    from casework.transparency.exports import read_public_key, verify_export

    key = read_public_key(args.pubkey)
    try:
        data = args.file.read_bytes()
    except OSError as error:
        raise ValidationError(f"cannot read {args.file}: {error.strerror}") from None
    result = verify_export(data, key, args.origin)
    print(result.describe())
    return 0 if result.ok else EXIT_TAMPERED
