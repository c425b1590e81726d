"""Every service's console script, written once: `run_service`.

    casework-<name> [--host H] [--port P]           serve (reads CASEWORK_STORE, NATS_URL, …)
    casework-<name> token --actor ID --role ROLE [--place PATH]
        [--expires-in 90d | --expires-at T | --no-expiry]   make an access token
    casework-<name> <command> …                     the service's own commands, if any

A service's `main.py` only names itself, its app factory, its `Settings` and any commands of its
own. So every service has the same flags, says a settings problem the same way (one line naming
the variable and why, no traceback, exit 2), gives `--port`/`<PREFIX>_PORT` the same meaning
(0: any free port, the operating system picks; uvicorn logs the one it got) and logs the same
way (one JSON object a line on stderr, uvicorn's, nats-py's and the library's loggers included).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import pydantic
from casework.gc_pauses import freeze_startup
from fastapi import FastAPI

from casework_web.errors import settings_problem
from casework_web.observability import configure_logging, uvicorn_log_config
from casework_web.service_settings import ServiceSettings
from casework_web.tokens_cli import add_token_arguments, make_token

S = TypeVar("S", bound=ServiceSettings)
S_contra = TypeVar("S_contra", bound=ServiceSettings, contravariant=True)


@dataclass(frozen=True)
class Command(Generic[S_contra]):
    """A subcommand beside serving: its help line, its arguments, and what it runs with the
    service's settings (read and checked before it runs); it returns the exit code."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[S_contra, argparse.Namespace], int]


def token_command(name: str) -> Command[ServiceSettings]:
    """`casework-<name> token`: `casework-token make` on the tokens file every service shares."""

    def run(settings: ServiceSettings, args: argparse.Namespace) -> int:
        return make_token(
            settings.tokens_path,
            args.actor,
            args.role,
            args.place,
            prog=f"casework-{name}",
            expiry=args.expiry,
        )

    return Command("make an access token (casework-token make)", add_token_arguments, run)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0 to 65535; 0: any free)")
    return port


def build_parser(
    name: str,
    description: str,
    settings: type[ServiceSettings],
    commands: Mapping[str, Command[S]],
) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"casework-{name}", description=description)
    parser.add_argument(
        "--host", default=None, help=f"interface to listen on ({settings.prefixed('host')})"
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=None,
        help=f"port to listen on ({settings.prefixed('port')}; 0: any free)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command, spec in commands.items():
        spec.add_arguments(subparsers.add_parser(command, help=spec.help))
    return parser


def run_service(
    name: str,
    create_app: Callable[[S], FastAPI],
    settings: type[S],
    argv: Sequence[str] | None = None,
    *,
    description: str,
    commands: Mapping[str, Command[S]] | None = None,
) -> int:
    """Parse `argv`, read the settings (a problem: one line on stderr, exit 2), then run the
    command named or serve `create_app(settings)` until SIGTERM or Ctrl-C. `commands` adds to
    (or replaces) the shared `token` command."""
    every: dict[str, Command[S]] = {"token": token_command(name), **(commands or {})}
    args = build_parser(name, description, settings, every).parse_args(argv)
    try:
        read = settings()
    except pydantic.ValidationError as error:
        print(f"casework-{name}: {settings_problem(error)}", file=sys.stderr)
        return 2
    if args.command is not None:
        return every[args.command].run(read, args)
    return serve(name, create_app, read, args.host, args.port)


def serve(
    name: str,
    create_app: Callable[[S], FastAPI],
    settings: S,
    host: str | None = None,
    port: int | None = None,
) -> int:
    """Serve the app with uvicorn (logs set up first, so the app's own start is logged as JSON
    too): the flags over the settings; port 0 is any free port."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    from casework_web.http_head import BoundedHead
    from casework_web.quiet_server import QuietServer

    configure_logging(settings.log_level)
    app = create_app(settings)
    freeze_startup()  # full collections then skip what the start made (issue 16: 0.1-0.2 s)
    config = uvicorn.Config(
        app,
        host=settings.host if host is None else host,
        port=settings.port if port is None else port,
        log_config=uvicorn_log_config(settings.log_level),
        access_log=False,
        http=BoundedHead,  # httptools, with h11's cap on a request's head (`http_head`)
    )
    server = QuietServer(config)  # `uvicorn.run`'s server, idle at one wake-up a second
    with contextlib.suppress(KeyboardInterrupt):  # as `uvicorn.run`: uvicorn raises the Ctrl-C
        server.run()  # it caught again once it has stopped gracefully; that is exit 0 here
    return 0 if server.started else STARTUP_FAILURE  # as `uvicorn.run`: 3 if it never served
