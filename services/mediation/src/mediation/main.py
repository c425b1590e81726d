"""The `casework-mediation` console script: serve the mediators' API, or make an access token.

    casework-mediation --port 8002                  serve (reads CASEWORK_STORE, NATS_URL)
    casework-mediation token --actor ID --role ROLE [--place PATH]
                                                    make a token; printed on the last line;
        [--expires-in 90d | --expires-at T | --no-expiry]   it expires in 90 days unless told

Tokens live in the file every Casework service shares (`CASEWORK_TOKENS_FILE`, default
var/tokens.json), which keeps only each token's SHA-256.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pydantic
from casework_web import settings_problem
from casework_web.tokens_cli import add_token_arguments, make_token

from mediation.config import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="casework-mediation",
        description="The Casework mediation service: meetings, rounds, agreements, escalations "
        "and the mediators' worklist over HTTP; reacts to dispute events over NATS.",
    )
    parser.add_argument("--host", default=None, help="interface to listen on (MEDIATION_HOST)")
    parser.add_argument("--port", type=int, default=None, help="port (MEDIATION_PORT)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    token = commands.add_parser("token", help="make an access token for an actor")
    add_token_arguments(token)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except pydantic.ValidationError as error:
        print(f"casework-mediation: {settings_problem(error)}", file=sys.stderr)
        return 2
    if args.command == "token":
        return make_token(
            settings.tokens_path,
            args.actor,
            args.role,
            args.place,
            prog="casework-mediation",
            expiry=args.expiry,
        )
    return serve(settings, args.host, args.port)


def serve(settings: Settings, host: str | None, port: int | None) -> int:
    import uvicorn
    from casework_web import configure_logging, uvicorn_log_config

    from mediation.api import create_app

    configure_logging("mediation", settings.log_level)
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
