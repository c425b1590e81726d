"""The `casework-intake` console script: serve the API, or make an access token.

    casework-intake --port 8000                     serve (reads CASEWORK_STORE, NATS_URL)
    casework-intake token --actor ID --role ROLE [--place PATH]
                                                    make a token; printed on the last line

The tokens file keeps only each token's SHA-256: a lost token cannot be shown again, only
replaced by a new one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from casework import CaseworkError

from intake.auth import TokenStore
from intake.config import Settings
from intake.places import Places, PlacesFileError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="casework-intake",
        description="The Casework intake service: reports, look-ups and case files over HTTP.",
    )
    parser.add_argument("--host", default=None, help="interface to listen on (INTAKE_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (INTAKE_PORT)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    token = commands.add_parser("token", help="make an access token for an actor")
    token.add_argument("--actor", required=True, help="the actor id, e.g. r-0302 or staff-li")
    token.add_argument("--role", required=True, help="e.g. resident, property_staff, auditor")
    token.add_argument(
        "--place",
        default=None,
        help="where the actor answers: community, community/compound or …/building",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    if args.command == "token":
        return make_token(settings, args.actor, args.role, args.place)
    return serve(settings, args.host, args.port)


def make_token(settings: Settings, actor: str, role: str, place: str | None) -> int:
    try:
        places = Places.load(settings.places_file)
        token = TokenStore(settings.tokens_path).create(actor, role, place, places)
    except (CaseworkError, PlacesFileError) as error:
        print(f"casework-intake: {error}", file=sys.stderr)
        return 2
    where = f" for {place}" if place else ""
    print(f"token for {actor} ({role}){where}; only its hash is kept in {settings.tokens_path}")
    print("send it as 'Authorization: Bearer <token>'; it cannot be shown again:")
    print(token)
    return 0


def serve(settings: Settings, host: str | None, port: int | None) -> int:
    import uvicorn

    from intake.api import create_app
    from intake.observability import configure_logging

    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
