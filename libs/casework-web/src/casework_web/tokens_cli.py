"""The `casework-token` console script: make, list and revoke access tokens for every service.

    casework-token make --actor ID --role ROLE [--place PATH]   the token on the last line
    casework-token list                                         who holds tokens (no secrets)
    casework-token revoke --actor ID                            forget all of an actor's tokens
    casework-token --file PATH ...                              another tokens file

The file is `CASEWORK_TOKENS_FILE`, else `var/tokens.json` (`CASEWORK_VAR_DIR` moves `var/`).
It keeps only each token's SHA-256: a lost token cannot be shown again, only replaced. A place
is checked for form here; a service with a places registry (the intake's
`casework-intake token`) also checks that the place exists.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from casework import CaseworkError

from casework_web.auth import TokenStore, default_tokens_path, well_formed_place


def add_token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor", required=True, help="the actor id, e.g. r-0302 or staff-li")
    parser.add_argument("--role", required=True, help="e.g. resident, property_staff, auditor")
    parser.add_argument(
        "--place",
        default=None,
        help="where the actor answers: community, community/compound or …/building",
    )


def make_token(
    path: Path,
    actor: str,
    role: str,
    place: str | None,
    *,
    prog: str = "casework-token",
    check_place: Callable[[str], str] = well_formed_place,
) -> int:
    """Make and print a token (last line); 2 with a one-line reason if refused."""
    try:
        token = TokenStore(path).create(actor, role, place, check_place)
    except (CaseworkError, ValueError, OSError) as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    where = f" for {place}" if place else ""
    print(f"token for {actor} ({role}){where}; only its hash is kept in {path}")
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
    add_token_arguments(commands.add_parser("make", help="make a token for an actor"))
    commands.add_parser("list", help="who holds tokens: actor, role, place, hash prefix")
    revoke = commands.add_parser("revoke", help="forget every token of an actor")
    revoke.add_argument("--actor", required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    path: Path = args.file or default_tokens_path()
    if args.command == "make":
        return make_token(path, args.actor, args.role, args.place)
    store = TokenStore(path)
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
