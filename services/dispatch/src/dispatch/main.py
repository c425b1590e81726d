"""The `casework-dispatch` console script: serve the API and run dispatch's background work.

    casework-dispatch [--host H] [--port P]       serve (reads CASEWORK_STORE, NATS_URL, …):
                                                  the API, the consumer, the scheduler, the queue
    casework-dispatch token --actor ID --role ROLE [--place PATH]
                                                  make an access token (casework-token make;
        [--expires-in 90d | --expires-at T | --no-expiry] 90 days unless told)

Every replica is the same process; run more of them against the same store and NATS to scale.
SIGTERM or Ctrl-C stops it gracefully: the message in hand is finished and acked, the rest is
given back to the other replicas.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pydantic
from casework_web import settings_problem
from casework_web.tokens_cli import add_token_arguments, make_token

from dispatch.config import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="casework-dispatch",
        description="The Casework dispatch service: repairs, leaks and residents' needs to the "
        "right hands, on time, up the ladder when late.",
    )
    parser.add_argument("--host", default=None, help="interface to listen on (DISPATCH_HOST)")
    parser.add_argument(
        "--port", type=int, default=None, help="port to listen on (DISPATCH_PORT; 0: any free)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_token_arguments(commands.add_parser("token", help="make an access token"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except pydantic.ValidationError as error:
        print(f"casework-dispatch: {settings_problem(error)}", file=sys.stderr)
        return 2
    if args.command == "token":
        return make_token(
            settings.tokens_path,
            args.actor,
            args.role,
            args.place,
            prog="casework-dispatch",
            expiry=args.expiry,
        )
    return serve(settings, args.host, args.port)


def serve(settings: Settings, host: str | None, port: int | None) -> int:
    import uvicorn
    from casework_web import configure_logging, uvicorn_log_config

    from dispatch.api import create_app

    configure_logging("dispatch", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=settings.port if port is None else port,
        log_config=uvicorn_log_config(settings.log_level),
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
