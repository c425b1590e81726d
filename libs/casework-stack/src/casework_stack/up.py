"""`casework up`: the whole stack in the foreground until Ctrl-C (or SIGTERM), then stopped cleanly.

Before starting, it checks that the fixed ports are free, so a second `casework up` says so at
once instead of leaving half a stack behind. While running it watches every child: if one dies,
it says which (with the end of its log) and starts it again after a delay, the rest running on
meanwhile. The delay is 1 s, doubling with each quick crash of the same child up to 30 s, and
back to 1 s once it ran a minute (`supervisor.Restarts`): a child that dies instantly again and
again does not spin, one that crashed once comes back at once. The first Ctrl-C (or SIGTERM)
stops everything in order (services, relay and notary, NATS), each with a grace period,
restarts due or not; a second one cuts the grace short. A failure while starting still stops
everything (exit 1).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from casework_stack import proxy
from casework_stack.commands import ports_from, services_from
from casework_stack.stack import Endpoint, Stack, StackConfig, shown_store
from casework_stack.supervisor import Child, ChildFailedError, Restarts

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def print_endpoints(endpoints: list[Endpoint], out: Any = None) -> None:
    out = out or sys.stdout
    for e in endpoints:
        pid = f"pid {e.pid}" if e.pid else ""
        log = f"log {e.log}" if e.log else ""
        print(f"  {e.name:<11} {e.address:<28} {pid:<10} {log}".rstrip(), file=out)


@contextmanager
def signals_to(handler: Any) -> Iterator[None]:
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_up(args: argparse.Namespace) -> int:
    try:
        config = StackConfig.from_environment(
            host=args.host,
            ports=ports_from(args),
            services=services_from(args),
            ready_timeout=args.ready_timeout,
            nats_nodes=args.nats_nodes,
            replicas=args.replicas,
        )
    except ValueError as error:
        print(f"casework up: {error}", file=sys.stderr)
        return 2
    if config.replicas > 1:
        try:
            proxy.find_nginx()
        except proxy.NginxMissingError as error:
            print(f"casework up: {error}", file=sys.stderr)
            return 2
    taken = config.taken_ports()
    if taken:
        print(
            f"casework up: in use already: {', '.join(taken)} (another `casework up`?); "
            "stop it, or choose other ports with --intake-port etc.",
            file=sys.stderr,
        )
        return 2
    print(f"casework up: store {shown_store(config.store)}; var dir {config.var_dir}")
    stack = Stack(config, on_step=lambda step: print(f"  … {step}", file=sys.stderr))
    try:
        with signals_to(_interrupt):  # a Ctrl-C while starting stops what has started
            stack.start()
    except ChildFailedError as error:
        print(f"casework up: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("casework up: interrupted while starting; everything stopped", file=sys.stderr)
        return 130
    print_endpoints(stack.endpoints())
    missing = [e.name for e in stack.endpoints() if e.pid is None and not e.name.startswith("nats")]
    if missing:
        print(f"  ({', '.join(missing)}: not started)")
    if config.nats_url is None:
        print(
            f"  NATS users: one per part, passwords in {config.credentials.folder} (0600); "
            "operators' commands (casework dlq …) run as NATS_USER=admin "
            f"NATS_PASSWORD_FILE={config.credentials.path('admin')}"
        )
    tokens = config.var_dir / "tokens.json"
    print(
        "  tokens: casework-token make --actor ID --role ROLE [--place PATH]  "
        f"(CASEWORK_VAR_DIR={config.var_dir}; file {tokens})"
    )
    print(f"ready in {stack.started_in:.1f} s; Ctrl-C stops everything", flush=True)
    return _run_until_stopped(stack)


def _run_until_stopped(stack: Stack) -> int:
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if stop.is_set():  # asked twice: cut the grace short
            stack.supervisor.grace = 0.5
        stop.set()

    code = 0
    restarts = Restarts()
    due: dict[str, tuple[Child, float]] = {}
    with signals_to(on_signal):
        while not stop.wait(0.2):
            now = time.monotonic()
            for dead in stack.supervisor.dead():
                if dead.name not in due:
                    delay = restarts.delay_for(dead, now)
                    due[dead.name] = (dead, now + delay)
                    print(f"casework up: {dead.describe_exit()}", file=sys.stderr)
                    print(
                        f"casework up: restarting {dead.name} in {delay:.0f} s "
                        f"(restart {restarts.counts[dead.name]})",
                        file=sys.stderr,
                        flush=True,
                    )
            for name, (dead, at) in list(due.items()):
                if now >= at and not stop.is_set():
                    del due[name]
                    child = stack.supervisor.restart(dead)
                    print(
                        f"casework up: restarted {name} (pid {child.pid})",
                        file=sys.stderr,
                        flush=True,
                    )
        if received:
            name = signal.Signals(received[0]).name
            print(
                f"casework up: {name}: stopping services, relay and notary, NATS",
                file=sys.stderr,
            )
        codes = stack.stop()
    unclean = {n: c for n, c in codes.items() if c not in (0, None, -signal.SIGTERM)}
    summary = ", ".join(f"{n} {c}" for n, c in codes.items())
    print(f"casework up: all stopped ({summary})", file=sys.stderr)
    if unclean and code == 0:
        print(f"casework up: exit codes: {unclean}", file=sys.stderr)
    return code
