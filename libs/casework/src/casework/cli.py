"""The `casework` console script.

Each group of subcommands lives in `casework.commands.<name>` with a `register(subparsers)`
function, so the audit, demo and messaging commands grow without touching one shared file.
Errors print as one line on stderr (the full traceback only with `--debug`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from casework.domain.errors import CaseworkError

COMMAND_MODULES = (
    "casework.commands.audit",
    "casework.commands.demo",
    "casework.commands.messaging",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="casework",
        description="Neighbourhood case files (repairs, leaks, disputes) as event streams.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except CaseworkError as error:
        if args.debug:
            traceback.print_exc()
        print(f"casework: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        if args.debug:
            traceback.print_exc()
        else:
            print(
                f"casework: {type(error).__name__}: {error} (run with --debug for details)",
                file=sys.stderr,
            )
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
