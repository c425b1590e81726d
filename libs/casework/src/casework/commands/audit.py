"""The auditor's commands: `history`, `verify` and `anchors`.

They read the store named by `CASEWORK_STORE` and change nothing. `verify` exits 3 when a case file
is not intact, so scripts can tell "tampered" from "could not run" (1) and "bad input" (2).
`anchors` writes every case's head; kept somewhere the store's writers cannot reach, it lets a
later `verify --anchors` notice events removed from the end of a case, which the chain alone
cannot show.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from casework.domain.errors import CaseNotFoundError, CaseworkError, ValidationError

if TYPE_CHECKING:
    from casework.application import Casework
    from casework.audit import Anchor, HistoryEntry

if TYPE_CHECKING:
    from casework.application.case_file import CaseFile

EXIT_TAMPERED = 3
ANCHORS_FORMAT = "casework.anchors.v1"


def register(subparsers: Any) -> None:
    history = subparsers.add_parser(
        "history",
        help="a case file as a timeline (or JSON), optionally as of a moment",
        description="Print every event of a case in order: who, in which role, when, at which "
        "tier and why. With --as-of or --version, only the events up to that point and the "
        "case's state at that moment. Personal values (descriptions, contacts, notes, stated "
        "positions) read [personal], as an auditor is shown them; --personal opens them (for "
        "a data protection officer answering a resident; the store's master key is needed).",
    )
    history.add_argument("case_id", metavar="CASE_ID")
    moment = history.add_mutually_exclusive_group()
    moment.add_argument(
        "--as-of", metavar="ISO-TIME", help="e.g. 2026-03-01T20:00+08:00 (needs a timezone)"
    )
    moment.add_argument("--version", type=int, metavar="N", help="after the case's Nth event")
    history.add_argument("--json", action="store_true", help="one JSON document instead of text")
    history.add_argument(
        "--personal",
        action="store_true",
        help="show personal values opened ([erased] for an erased person) instead of "
        "[personal]: a data protection officer's reading, not an auditor's",
    )
    history.set_defaults(handler=run_history, reads_store=True)

    verify = subparsers.add_parser(
        "verify",
        help="check case files' hash chains (exit 3 when one is not intact)",
        description="Walk the hash chain of one case, or of every case, and name the first "
        "event that was altered, removed, inserted or reordered.",
    )
    verify.add_argument("case_id", nargs="?", metavar="CASE_ID", help="default: every case")
    verify.add_argument(
        "--anchors", type=Path, metavar="FILE", help="heads written earlier by `casework anchors`"
    )
    verify.add_argument(
        "--checkpoint",
        metavar="latest|FILE",
        help="check every case event against a signed checkpoint of the transparency log",
    )
    verify.add_argument("--pubkey", metavar="KEY", help="with --checkpoint: base64, or a file")
    verify.add_argument(
        "-v", "--verbose", action="store_true", help="list every case, not only broken ones"
    )
    verify.set_defaults(handler=run_verify, reads_store=True)

    anchors = subparsers.add_parser(
        "anchors",
        help="write every case's head (version, hash) as JSON for a later verify --anchors",
    )
    anchors.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")
    anchors.set_defaults(handler=run_anchors, reads_store=True)


# ---------------------------------------------------------------- history


def parse_moment(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"--as-of {text!r} is not an ISO time; e.g. 2026-03-01T20:00+08:00"
        ) from None
    if at.tzinfo is None:
        raise ValidationError(
            f"--as-of {text!r} has no timezone; add one, e.g. {text}+08:00 or {text}Z"
        )
    return at


def run_history(args: argparse.Namespace) -> int:
    from casework.application import Casework
    from casework.outages import one_shot_env
    from casework.timeline import case_document, render_case_file

    with Casework(env=one_shot_env(), read_only=True) as app:
        # One read of the case file: its chain, events and state all come from it.
        case_file = app.read_case_file(
            args.case_id, personal=bool(getattr(args, "personal", False))
        )
        # An auditor must not read an edited case file as if it were the record.
        check = case_file.check()
        if not check.ok:
            print(f"warning: {check.describe()}", file=sys.stderr)
        try:
            entries, state, as_of, label = _read_case_file(app, case_file, args)
        except CaseworkError:
            raise
        except Exception:
            if check.ok:
                raise
            # An event that no longer decodes is tampering already named, not a crash.
            print(
                f"casework: case {check.case_id} cannot be read: event {check.position} is damaged",
                file=sys.stderr,
            )
            return EXIT_TAMPERED
    if args.json:
        document = case_document(entries, state, as_of=as_of)
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print(render_case_file(entries, state, as_of=label))
    return 0


def _read_case_file(
    app: Casework, case_file: CaseFile, args: argparse.Namespace
) -> tuple[list[HistoryEntry], dict[str, Any], dict[str, Any] | None, str | None]:
    """The events up to the moment asked for, the state then, and how to name that moment."""
    as_of: dict[str, Any] | None = None
    label: str | None = None
    version: int | None = None
    if args.version is not None:
        version = args.version
        as_of = {"version": version}
        label = f"version {version}"
    elif args.as_of is not None:
        at = parse_moment(args.as_of)
        app.check_as_of(at)
        version = app.version_at(case_file, at)
        as_of = {"at": at.isoformat(), "version": version}
        label = f"{at.isoformat()} (version {version})"
    case = case_file.state(version)  # refuses a version the case does not have
    entries = case_file.history()
    return [e for e in entries if e.version <= case.version], case.snapshot(), as_of, label


# ----------------------------------------------------------------- verify


def load_anchors(path: Path) -> dict[UUID, Anchor]:
    """Read a file `casework anchors` wrote; any defect is a one-line error, not a traceback."""
    from casework.audit import Anchor

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValidationError(f"cannot read anchors file {path}: {error.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise ValidationError(f"anchors file {path} is not JSON") from None
    cases = document.get("cases") if isinstance(document, dict) else None
    if not isinstance(cases, dict):
        raise ValidationError(f"anchors file {path} has no 'cases' object")
    anchors: dict[UUID, Anchor] = {}
    for key, head in cases.items():
        try:
            case_id = UUID(key)
        except ValueError:
            raise ValidationError(f"anchors file {path}: {key!r} is not a case id") from None
        version = head.get("version") if isinstance(head, dict) else None
        digest = head.get("hash") if isinstance(head, dict) else None
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValidationError(f"anchors file {path}: case {key} needs a version >= 1")
        if not isinstance(digest, str) or not digest:
            raise ValidationError(f"anchors file {path}: case {key} needs a hash")
        anchors[case_id] = Anchor(version, digest)
    return anchors


def run_verify(args: argparse.Namespace) -> int:
    from casework.application import Casework
    from casework.outages import one_shot_env

    if args.checkpoint is not None:
        if args.case_id is not None or args.anchors is not None:
            raise ValidationError(
                "--checkpoint checks the whole store: give no CASE_ID or --anchors"
            )
        from casework.commands.transparency import verify_against_checkpoint

        with Casework(env=one_shot_env(), read_only=True) as app:
            return verify_against_checkpoint(app, args.checkpoint, args.pubkey)
    anchors = load_anchors(args.anchors) if args.anchors is not None else {}
    with Casework(env=one_shot_env(), read_only=True) as app:
        if args.case_id is not None:
            anchor = anchors.get(_case_uuid(args.case_id)) if anchors else None
            result = app.verify(args.case_id, anchor)
            print(result.describe())
            if anchors and anchor is None:
                print(f"note: {args.anchors} holds no head for this case", file=sys.stderr)
            return 0 if result.ok else EXIT_TAMPERED
        results = list(app.verify_all(anchors))
    failed = [r for r in results if not r.ok]
    for result in results:
        if args.verbose or not result.ok:
            print(result.describe())
    anchored = f" against {len(anchors)} anchors" if anchors else ""
    if not results:
        print("verify: no case files in the store")
    elif failed:
        print(
            f"verify: {len(failed)} of {len(results)} case files NOT intact{anchored}",
        )
    else:
        print(f"verify: all {len(results)} case files intact{anchored}")
    return EXIT_TAMPERED if failed else 0


def _case_uuid(case_id: str) -> UUID:
    try:
        return UUID(case_id)
    except ValueError:
        raise CaseNotFoundError(f"{case_id!r} is not a case id (a UUID)") from None


# ---------------------------------------------------------------- anchors


def run_anchors(args: argparse.Namespace) -> int:
    """Refuses to anchor a store that does not verify: an anchor vouches for what it saw."""
    from casework.application import Casework
    from casework.outages import one_shot_env

    with Casework(env=one_shot_env(), read_only=True) as app:
        results = list(app.verify_all())
        taken_at = app.clock()
    failed = [r for r in results if not r.ok]
    if failed:
        for result in failed:
            print(result.describe(), file=sys.stderr)
        print(
            f"anchors: {len(failed)} case files are not intact; no anchors written",
            file=sys.stderr,
        )
        return EXIT_TAMPERED
    document = {
        "format": ANCHORS_FORMAT,
        "taken_at": taken_at.isoformat(timespec="seconds"),
        "cases": {str(r.case_id): {"version": r.events, "hash": r.head} for r in results},
    }
    text = json.dumps(document, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ValidationError(f"cannot write anchors file {args.out}: {error.strerror}") from None
    print(f"anchors: wrote the heads of {len(results)} case files to {args.out}")
    return 0
