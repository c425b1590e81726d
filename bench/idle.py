"""What each process of the stack costs doing nothing: its CPU a second, idle.

    uv run python bench/idle.py [--seconds 30] [--settle 5] [--stores sqlite,postgres] [--json]

The stack runs as `casework up` runs it (`bench/e2e.py`'s `Stack`: nats-server, the relay, the
notary, the intake, dispatch and mediation, separate processes) on a fresh store, and nobody
uses it. After `--settle` seconds, each process's CPU over `--seconds` is read from
`/proc/<pid>/task/*/schedstat` (every thread's time on a CPU, in nanoseconds: an idle process
spends too little for `/proc/<pid>/stat`'s hundredths of a second), per second of the window.

Baseline, in the same window: a bare FastAPI app (one route, nothing else) served by stock
`uvicorn.run` in a process of its own, as idle: what any Python web service costs doing
nothing. Where an idle service's CPU went before 9f76326..3e34c72 (issue 16): uvicorn's own
main loop woke ten times a second (1.8 ms/s; the services' `casework_web.quiet_server` turns
once a second), each NATS consumer's pull request expired and was renewed twice a second (now
every `request_expires`), dispatch's scheduler and calendar each read the log once a second
(now one step), the relay read the store ten times a second (now once, where inotify watches).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import e2e  # the stack, as bench/e2e.py starts it
import report

BARE = """
import sys, uvicorn
from fastapi import FastAPI
app = FastAPI()

@app.get("/ping")
def ping() -> dict[str, str]:
    return {"ok": "yes"}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def on_cpu_seconds(pid: int) -> float:
    """Every thread's time on a CPU so far (`/proc/<pid>/task/*/schedstat`, first field, ns)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def bare_server() -> Iterator[int]:
    """The baseline's process (its pid), serving once it answers; stopped by its pid."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", BARE, str(port)])
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError("the bare server exited")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the bare server did not start")
            time.sleep(0.1)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def measure(kind: str, seconds: float, settle: float) -> list[report.Figure]:
    with tempfile.TemporaryDirectory(prefix=f"casework-bench-idle-{kind}-") as tmp:
        var = Path(tmp) / "var"
        with e2e.store_for(kind, var) as store:
            config = e2e.StackConfig(
                var_dir=var, store=store, ports=e2e.Ports.free(), hermetic=True
            )
            print(f"[{kind}] starting the stack", file=sys.stderr)
            with e2e.Stack(config) as stack, bare_server() as bare:
                pids = {e.name: e.pid for e in stack.endpoints() if e.pid is not None}
                pids["bare uvicorn"] = bare
                time.sleep(settle)
                print(f"[{kind}] idle for {seconds:g} s", file=sys.stderr)
                before = {name: on_cpu_seconds(pid) for name, pid in pids.items()}
                t0 = time.monotonic()
                time.sleep(seconds)
                window = time.monotonic() - t0
                spent = {name: on_cpu_seconds(pid) - before[name] for name, pid in pids.items()}
    baseline = spent.pop("bare uvicorn") / window * 1000
    return [
        report.Figure(
            f"{kind}: {name} idle (baseline: a bare FastAPI app under stock uvicorn, idle)",
            cpu / window * 1000,
            "ms CPU/s",
            baseline,
        )
        for name, cpu in spent.items()
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="the idle window")
    parser.add_argument("--settle", type=float, default=5.0, help="idle before the window")
    parser.add_argument("--stores", default="sqlite")
    report.add_json_flag(parser)
    args = parser.parse_args()
    figures: list[report.Figure] = []
    with report.json_mode(args.json):
        for kind in args.stores.split(","):
            figures += measure(kind, args.seconds, args.settle)
    report.emit(figures, args.json, "idle CPU of each process beside a bare uvicorn app's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
