"""The `casework-intake` console script: serve the API, or make an access token.

    casework-intake --port 8000                     serve (reads CASEWORK_STORE, NATS_URL)
    casework-intake token --actor ID --role ROLE [--place PATH]
                                                    make a token; printed on the last line;
        [--expires-in 90d | --expires-at T | --no-expiry]   it expires in 90 days unless told
    casework-intake measures [--compound C] [--from T] [--to T] [--json] [--rebuild]
                                                    the measures (also `casework measures`)

The tokens file keeps only each token's SHA-256: a lost token cannot be shown again, only
replaced by a new one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pydantic
from casework import CaseworkError
from casework_web import settings_problem
from casework_web.tokens_cli import DEFAULT_LIFETIME, Expiry, add_token_arguments
from casework_web.tokens_cli import make_token as make_shared_token

from intake.commands import add_arguments as add_measures_arguments
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
    add_token_arguments(
        commands.add_parser("token", help="make an access token (casework-token make, checked)")
    )
    add_measures_arguments(
        commands.add_parser("measures", help="the measures in the terminal (casework measures)")
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except pydantic.ValidationError as error:
        print(f"casework-intake: {settings_problem(error)}", file=sys.stderr)
        return 2
    if args.command == "token":
        return make_token(settings, args.actor, args.role, args.place, args.expiry)
    if args.command == "measures":
        try:
            code: int = args.handler(args)
        except (CaseworkError, PlacesFileError) as error:
            print(f"casework-intake: {error}", file=sys.stderr)
            return 2
        return code
    return serve(settings, args.host, args.port)


def make_token(
    settings: Settings,
    actor: str,
    role: str,
    place: str | None,
    expiry: Expiry = DEFAULT_LIFETIME,
) -> int:
    """`casework-token make`, with the place also checked against the places registry."""
    try:
        places = Places.load(settings.places_file)
    except PlacesFileError as error:
        print(f"casework-intake: {error}", file=sys.stderr)
        return 2
    return make_shared_token(
        settings.tokens_path,
        actor,
        role,
        place,
        prog="casework-intake",
        check_place=places.check_scope,
        expiry=expiry,
    )


def serve(settings: Settings, host: str | None, port: int | None) -> int:
    import uvicorn
    from casework_web import configure_logging, uvicorn_log_config

    from intake.api import create_app

    configure_logging("intake", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=uvicorn_log_config(settings.log_level),
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
