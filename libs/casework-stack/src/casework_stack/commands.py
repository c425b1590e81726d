"""The stack's subcommands of `casework`, registered through the `casework.commands` entry point.

Every `casework` invocation (an auditor's `verify` too) loads this module, so it only describes
the commands; their modules, and with them the HTTP client, FastAPI and the services, load when
one of them runs.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from casework_stack.topology import READ_MODEL_SERVICES, SERVICES, Ports

DEFAULT_PORTS = Ports()


def _handler(target: str) -> Callable[[argparse.Namespace], int]:
    """`module:function`, imported when the command runs."""
    module, function = target.split(":")

    def run(args: argparse.Namespace) -> int:
        code: int = getattr(importlib.import_module(f"casework_stack.{module}"), function)(args)
        return code

    return run


def register(subparsers: Any) -> None:
    register_up(subparsers)
    register_demo(subparsers)
    register_rebuild(subparsers)


def add_port_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface for every part (loopback)")
    for name in ("intake", "dispatch", "mediation", "nats"):
        parser.add_argument(
            f"--{name}-port",
            type=int,
            default=DEFAULT_PORTS.of(name),
            metavar="PORT",
            help=f"{name}'s port (default {DEFAULT_PORTS.of(name)})",
        )


def add_without_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        choices=SERVICES,
        metavar="SERVICE",
        help="leave a service out (run it yourself, e.g. under a debugger); repeatable",
    )


def services_from(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(s for s in SERVICES if s not in args.without)


def ports_from(args: argparse.Namespace) -> Ports:
    return Ports(args.intake_port, args.dispatch_port, args.mediation_port, args.nats_port)


def register_up(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "up",
        help="run the whole stack (NATS, relay, intake, dispatch, mediation) until Ctrl-C",
        description=(
            "Start nats-server (unless NATS_URL is set), the relay and the three services as "
            "separate processes on fixed loopback ports, wait until each is ready, print where "
            "each listens, and stop them all on Ctrl-C or SIGTERM. The store is CASEWORK_STORE "
            "(default: a SQLite file under CASEWORK_VAR_DIR, ./var); logs go to <var>/logs/."
        ),
    )
    add_port_options(up)
    add_without_option(up)
    up.add_argument(
        "--ready-timeout", type=float, default=60.0, help="seconds to wait for each part"
    )
    up.add_argument(
        "--nats-nodes",
        type=int,
        default=1,
        help="bundled nats-server nodes: 1 (default), or 3 for a JetStream cluster (nats-1..3 "
        "on --nats-port and the next two ports; the CASEWORK stream then keeps 3 replicas)",
    )
    up.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="processes per service and relays (default 1); more than one needs CASEWORK_STORE="
        "postgresql://… and nginx, which then listens on each service's port in front of its "
        "replicas (intake-1 on --intake-port+100, intake-2 on +200, …); docs/adr/013",
    )
    up.set_defaults(handler=_handler("up:run_up"))


def register_demo(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the article's stories through the services (HTTP and NATS) and show the "
        "case files, their verify results and the measures",
        description=(
            "Start the whole stack in a fresh demo var dir (<var>/demo-stack, on free ports), "
            "play the article's stories to the services as residents, staff, volunteers and "
            "mediators would, print every case file as a timeline with its verify result and "
            "the measures, then stop the stack. Ignores CASEWORK_STORE and NATS_URL: a demo "
            "never writes its invented cases into a real deployment."
        ),
    )
    demo.add_argument(
        "--in-process",
        action="store_true",
        help="the library's own demo instead: the stories told to the library in this process, "
        "with a fake clock (no services, no NATS)",
    )
    demo.add_argument(
        "--store",
        metavar="URL",
        help="store to write into (never deleted); default: a fresh SQLite file in the demo "
        "var dir (with --in-process: var/demo/demo.db)",
    )
    demo.add_argument(
        "--var-dir",
        type=Path,
        default=None,
        help="the demo var dir, wiped first (default: <CASEWORK_VAR_DIR or ./var>/demo-stack)",
    )
    demo.add_argument("--quiet", action="store_true", help="no progress display on stderr")
    add_without_option(demo)
    demo.set_defaults(handler=_handler("demo:run_demo"))


def register_rebuild(subparsers: Any) -> None:
    rebuild = subparsers.add_parser(
        "rebuild",
        help="rebuild every read model (case index, measures, …) from the store",
        description=(
            "Replay the store (CASEWORK_STORE) from its first event into fresh read models and "
            "swap them in whole: the intake's case index and measures, and the other services' "
            "read models. Safe while the services run. Prints events/s at the end."
        ),
    )
    rebuild.add_argument(
        "--only",
        action="append",
        choices=READ_MODEL_SERVICES,
        metavar="SERVICE",
        help="rebuild only this service's read models (repeatable)",
    )
    rebuild.add_argument("--quiet", action="store_true", help="no progress bar")
    rebuild.set_defaults(handler=_handler("rebuild:run_rebuild"), reads_store=True)
