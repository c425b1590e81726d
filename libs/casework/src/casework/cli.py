"""The `casework` console script.

Each group of subcommands lives in `casework.commands.<name>` with a `register(subparsers)`
function, so the audit, demo, messaging, dead-letter and person commands grow without touching one
shared file. A command module imports what its commands run inside them, not at the top, so
`casework --help` and each command pay only for what they use (issue 16; tests/test_cli_start.py
checks that building the parser loads none of eventsourcing, nats, psycopg, pydantic, fastapi).
Errors print as one line on stderr (the full traceback only with `--debug`); a store or NATS
that cannot be reached is one line naming its host:port, exit 1 (`casework.outages`); a command
that needs an extra not installed (`casework[nats]` for `relay`, `dlq`) says which, exit 2.

Packages that sit *above* the library (the stack that runs the services: `casework up`, `demo`)
plug their subcommands in through the `casework.commands` entry-point group, each entry point
a `register(subparsers)` callable. The library never imports them (docs/adr/005). A plugged-in
command wins over a built-in one of the same name: the stack's `demo` (through the services)
replaces the library's in-process one, which stays reachable as `casework demo --in-process`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import Any

from casework import settings
from casework._extras import MissingExtraError
from casework.domain.errors import CaseworkError
from casework.unreachable import UnreachableError

COMMAND_MODULES = (
    "casework.commands.audit",
    "casework.commands.dead_letters",
    "casework.commands.demo",
    "casework.commands.messaging",
    "casework.commands.people",
    "casework.commands.transparency",
)
PLUGIN_GROUP = "casework.commands"
"""Entry-point group of `register(subparsers)` callables from packages built on the library."""


class _FirstComeFirstServed:
    """The subparsers as handed to built-in commands: a name a plugin took is left to it."""

    def __init__(self, subparsers: Any) -> None:
        self._subparsers = subparsers

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if name in self._subparsers.choices:
            return argparse.ArgumentParser(prog=f"casework {name}", add_help=False)  # unused
        parser: argparse.ArgumentParser = self._subparsers.add_parser(name, **kwargs)
        return parser


def _register_plugins(subparsers: Any) -> None:
    for plugin in sorted(entry_points(group=PLUGIN_GROUP), key=lambda ep: ep.name):
        try:
            register = plugin.load()
        except Exception as error:  # a broken plugin must not take the auditor's commands down
            print(
                f"casework: commands from {plugin.value} not loaded ({type(error).__name__}: "
                f"{error})",
                file=sys.stderr,
            )
            continue
        register(subparsers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="casework",
        description="Neighbourhood case files (repairs, leaks, disputes) as event streams.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _register_plugins(subparsers)
    built_in = _FirstComeFirstServed(subparsers)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        module.register(built_in)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # A command that only reads the store sets `reads_store=True` in its defaults: a
        # sqlite:/// store that does not exist is refused before the command makes anything.
        if getattr(args, "reads_store", False):
            settings.require_store(settings.store_url())
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except UnreachableError as error:  # one line naming host:port, whatever --debug says
        print(f"casework: {error}", file=sys.stderr)
        return 1
    except MissingExtraError as error:  # an optional dependency: the extra to install
        print(f"casework: {error}", file=sys.stderr)
        return 2
    except CaseworkError as error:
        if args.debug:
            traceback.print_exc()
        _report(f"casework: {error}", error)
        return 2
    except Exception as error:
        from casework import logs

        if args.debug and not logs.configured():
            traceback.print_exc()
        _report(f"casework: {type(error).__name__}: {error} (run with --debug for details)", error)
        return 1
    return code


def _report(line: str, error: BaseException) -> None:
    """The error as one line on stderr; a command whose process logs JSON (the relay) logs it
    as one JSON object instead, traceback inside, so its log stays one object per line."""
    from casework import logs

    if logs.configured():
        logging.getLogger("casework.cli").error(line, exc_info=error)
    else:
        print(line, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
