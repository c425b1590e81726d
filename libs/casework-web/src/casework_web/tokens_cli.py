"""The `casework-token` console script: make, list and revoke access tokens for every service.

    casework-token make --actor ID --role ROLE [--place PATH]   the token on the last line
        [--expires-in 90d | --expires-at ISO-TIME | --no-expiry]  (`issue` is the same command)
    casework-token list                                         who holds tokens (no secrets),
                                                                when each expires, if it has
    casework-token revoke --actor ID                            forget all of an actor's tokens
    casework-token --file PATH ...                              another tokens file

The file is `CASEWORK_TOKENS_FILE`, else `var/tokens.json` (`CASEWORK_VAR_DIR` moves `var/`).
It keeps only each token's SHA-256: a lost token cannot be shown again, only replaced. A place
is checked for form here; a service with a places registry (the intake's
`casework-intake token`) also checks that the place exists.

A token made here expires in 90 days unless told otherwise (`--expires-in`, `--expires-at`): a
token copied into a script or a browser and forgotten stops working by itself. `--no-expiry` is
the explicit choice for a token that must not lapse (a service account); revoke it by hand.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from casework import CaseworkError
from casework.clock import Clock, system_clock

from casework_web.auth import (
    TokenStore,
    default_tokens_path,
    format_instant,
    parse_instant,
    well_formed_place,
)

DEFAULT_LIFETIME = timedelta(days=90)
"""How long a token made by the CLI lasts when no expiry is given."""

Expiry = timedelta | datetime | None
"""A lifetime from now, a moment, or None: never."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdw])\s*")


def parse_duration(text: str) -> timedelta:
    """`90d`, `12h`, `30m`, `2w`, `45s`: a positive number and one unit."""
    found = _DURATION.fullmatch(text)
    if found is None or float(found[1]) <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a lifetime; a positive number and a unit s, m, h, d or w (e.g. 90d)"
        )
    try:
        return timedelta(seconds=float(found[1]) * _UNITS[found[2]])
    except OverflowError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is longer than a calendar reaches; for no expiry say --no-expiry"
        ) from None


def parse_expiry_time(text: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor", required=True, help="the actor id, e.g. r-0302 or staff-li")
    parser.add_argument(
        "--role",
        required=True,
        help="e.g. resident, property_staff, auditor, data_protection_officer",
    )
    parser.add_argument(
        "--place",
        default=None,
        help="where the actor answers: community, community/compound or …/building",
    )
    expiry = parser.add_mutually_exclusive_group()
    expiry.add_argument(
        "--expires-in",
        dest="expiry",
        type=parse_duration,
        default=DEFAULT_LIFETIME,
        metavar="LIFETIME",
        help="how long the token lasts: e.g. 90d (the default), 12h, 2w",
    )
    expiry.add_argument(
        "--expires-at",
        dest="expiry",
        type=parse_expiry_time,
        metavar="ISO-TIME",
        help="when the token stops working, with a timezone: e.g. 2027-01-31T18:00:00+08:00",
    )
    expiry.add_argument(
        "--no-expiry",
        dest="expiry",
        action="store_const",
        const=None,
        help="a token that never expires (e.g. a service account); revoke it by hand",
    )


def make_token(
    path: Path,
    actor: str,
    role: str,
    place: str | None,
    *,
    prog: str = "casework-token",
    check_place: Callable[[str], str] = well_formed_place,
    expiry: Expiry = DEFAULT_LIFETIME,
    clock: Clock = system_clock,
) -> int:
    """Make and print a token (last line); 2 with a one-line reason if refused. `expiry` is
    what `add_token_arguments` parsed into `args.expiry`."""
    store = TokenStore(path, clock)
    try:
        expires_at = clock() + expiry if isinstance(expiry, timedelta) else expiry
        token = store.create(actor, role, place, check_place, expires_at=expires_at)
    except OverflowError:
        print(
            f"{prog}: that lifetime is longer than a calendar reaches; --no-expiry", file=sys.stderr
        )
        return 2
    except (CaseworkError, ValueError, OSError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    where = f" for {place}" if place else ""
    until = f"expires at {format_instant(expires_at)}" if expires_at else "never expires"
    print(f"token for {actor} ({role}){where}, {until}; only its hash is kept in {path}")
    print("send it as 'Authorization: Bearer <token>'; it cannot be shown again:")
    print(token)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="casework-token",
        description="Access tokens for the Casework services (one tokens file for all).",
    )
    parser.add_argument(
        "--file", type=Path, default=None, help="the tokens file (CASEWORK_TOKENS_FILE)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_token_arguments(
        commands.add_parser("make", aliases=["issue"], help="make a token for an actor")
    )
    commands.add_parser(
        "list", help="who holds tokens: actor, role, place, hash prefix, expiry, expired"
    )
    revoke = commands.add_parser("revoke", help="forget every token of an actor")
    revoke.add_argument("--actor", required=True)
    return parser


def main(argv: Sequence[str] | None = None, clock: Clock = system_clock) -> int:
    args = build_parser().parse_args(argv)
    path: Path = args.file or default_tokens_path()
    if args.command in ("make", "issue"):
        return make_token(path, args.actor, args.role, args.place, expiry=args.expiry, clock=clock)
    store = TokenStore(path, clock)
    try:
        if args.command == "list":
            for entry in store.entries():
                print(json.dumps(entry, ensure_ascii=False, sort_keys=True))
            return 0
        gone = store.revoke(args.actor)
    except (ValueError, OSError) as error:
        print(f"casework-token: {error}", file=sys.stderr)
        return 2
    print(f"revoked {gone} token(s) of {args.actor} in {path}")
    return 0 if gone else 1


if __name__ == "__main__":
    sys.exit(main())
