"""Reports per second and p50/p99 latency of `POST /cases` at a fixed offered load.

    uv run python bench/intake.py [--rate 50] [--seconds 10] [--stores sqlite,postgres]
                                  [--floor 200] [--paced-floor 100] [--rounds 1]

Three servers, each a real process on a free port, measured in the same run with the same load:
the intake (`casework-intake --port P`) on a SQLite file, the intake on PostgreSQL (a throwaway
cluster, as the test fixture starts it, fsync off), and a bare FastAPI endpoint that validates
the same `CaseCreate` body and answers 201 with no store, no triage and no auth: the floor.

The load is open-loop: requests are sent on a fixed schedule (`--rate` per second) whatever the
answers do, and each latency is counted from when its request was due, so a server that falls
behind shows it in p99 instead of slowing the load down (no coordinated omission). Each report
is a routine repair at a different flat, so no report joins another as a duplicate. Each report
carries its own `Idempotency-Key`, as a client that may retry sends it (so its cost is in the
numbers); the load never retries, which would hide a slow server behind a second send.

CPU per report: the intake process's own CPU (user + system, from `/proc/<pid>/stat`) over the
load, divided by the reports it answered, beside the library floor measured in this process in
the same run on a fresh store of the same kind: `Casework.report_repair` + `Casework.assign`,
`--floor` pairs one after another, process CPU per pair. CPU, not wall clock, so that other work
on a shared machine shows less in the ratio. Beside it, the share of the main thread, where the
event loop runs (HTTP, the middleware, async endpoints): the rest is the intake's worker threads
(the report thread, the store feed) or the bare server's threadpool. The ratio is against that
floor (issue 16's definition). A second floor, `--paced-floor` pairs at the load's rate (one
pair every 1/rate seconds, as the intake gets its reports), is printed beside it: the same work
costs more CPU after a pause than back to back (caches gone cold on a busy box), and the intake
is measured after such pauses, so the paced floor is the like-for-like one; both are shown,
neither hidden.

Beside both floors, the intake's CPU per report is also put beside the bare server's CPU per
request under the same load in the same round: both pay HTTP at the same pace, so that ratio
moves least with the box's quick and slow moments (which move the back-to-back floor by a
third between runs). `--rounds N` measures everything N times, one round after another, and
prints each CPU ratio's median over the rounds (issue 16 reads its rows as three runs' median).

Every report answered other than 201 is counted by what it got (status and error code, or the
client's exception), printed after the tables and as a `--json` figure: never lost silently.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import report  # before the folder leaves sys.path (below)

# Run as a script, this file's folder comes first on sys.path, and this file is named like the
# service's package: take the folder off so `import intake` finds the service.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from fastapi import FastAPI  # noqa: E402
from intake.schemas import CaseCreate  # noqa: E402

COMPOUND = "jiayu-xx/wanxin-intl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def bare_app() -> object:
    """The floor: the intake's own request model validated, 201, nothing else."""
    app = FastAPI()

    @app.post("/cases", status_code=201)
    def report(body: CaseCreate) -> dict[str, str]:
        return {"kind": body.kind or "repair", "address": body.address}

    return app


@contextlib.contextmanager
def server(command: list[str], env: dict[str, str], port: int) -> Iterator[tuple[str, int]]:
    """A server process (its address and pid), stopped by its pid on the way out."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"{command[0]} exited: {log.read().decode()[-2000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not start on port {port}")
                time.sleep(0.1)
            yield url, process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def intake_token(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "intake.main", "token", "--actor", "staff-bench",
         "--role", "property_staff", "--place", COMPOUND],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


@dataclass
class Result:
    name: str
    sent: int
    ok: int
    seconds: float
    latencies: list[float]
    cpu: float = float("nan")
    """The server's CPU seconds over the load."""
    loop_cpu: float = float("nan")
    """Of it, the main thread's: the event loop (HTTP, the middleware, async endpoints)."""
    floor: float | None = None
    """The library floor's CPU seconds per `report_repair` + `assign`, same run, same store."""
    paced_floor: float | None = None
    """The same, one pair every 1/rate seconds (`--paced-floor`)."""
    refused: Counter[str] = field(default_factory=Counter)
    """Reports answered other than 201, by status and code (or the client's exception)."""

    def cpu_ms(self) -> float:
        return self.cpu * 1000 / max(self.ok, 1)

    def loop_ms(self) -> float:
        return self.loop_cpu * 1000 / max(self.ok, 1)

    def ms(self, share: float) -> float:
        ms = sorted(x * 1000 for x in self.latencies) or [float("nan")]
        return statistics.median(ms) if share == 0.5 else ms[min(len(ms) - 1, int(len(ms) * share))]

    def row(self) -> str:
        ms = sorted(x * 1000 for x in self.latencies) or [float("nan")]
        p50 = statistics.median(ms)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        return (
            f"| {self.name} | {self.sent} | {self.ok} | {self.ok / self.seconds:,.1f} "
            f"| {p50:,.1f} | {p99:,.1f} |"
        )


async def offered_load(url: str, token: str, rate: float, seconds: float, name: str) -> Result:
    headers = {"Authorization": f"Bearer {token}"}
    total = int(rate * seconds)
    latencies: list[float] = []
    ok = 0
    refused: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as c:

        async def one(n: int, due: float) -> None:
            nonlocal ok
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            body = {
                "kind": "repair",
                "category": "lighting",
                "address": f"{COMPOUND}/b{n % 62 + 1}/{n:04d}",
                "description": f"corridor light {n} is out",
                "channel": "app",
            }
            key = {"Idempotency-Key": str(uuid.uuid4())}  # one per report
            try:
                response = await c.post("/cases", json=body, headers=key)
            except httpx.HTTPError as error:
                refused[type(error).__name__] += 1
                return
            latencies.append(time.perf_counter() - due)
            if response.status_code == 201:
                ok += 1
            else:
                refused[refusal_kind(response)] += 1

        start = time.perf_counter() + 0.2
        await asyncio.gather(*(one(n, start + n / rate) for n in range(total)))
        elapsed = time.perf_counter() - start
    return Result(name, total, ok, elapsed, latencies, refused=refused)


def refusal_kind(response: httpx.Response) -> str:
    """`HTTP <status> <code>` (the error body's code, if any)."""
    try:
        code = response.json().get("code", "")
    except ValueError:
        code = ""
    return f"HTTP {response.status_code} {code}".rstrip()


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """A process's user + system CPU so far (Linux `/proc/<pid>/stat`, fields 14 and 15), or
    one of its threads' (`thread`: its id; the main thread's, where the event loop runs, is
    `pid`)."""
    where = f"/proc/{pid}" if thread is None else f"/proc/{pid}/task/{thread}"
    fields = Path(f"{where}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def library_floor(store: str, pairs: int, rate: float | None = None) -> float:
    """CPU seconds per `report_repair` + `assign` in this process, on a fresh store: one pair
    after another, or (`rate`) one pair every 1/rate seconds, the pauses not counted."""
    from casework import Actor, Casework, Role

    resident = Actor("resident-floor", Role.RESIDENT)
    manager = Actor("manager-floor", Role.PROPERTY_MANAGER)
    worker = Actor("staff-floor", Role.PROPERTY_STAFF)
    with Casework(store) as app:
        app.report_repair(resident, f"{COMPOUND}/b1/0001", "warm-up", "lighting")
        spent = 0.0
        due = time.perf_counter()
        for n in range(pairs):
            if rate:
                due += 1 / rate
                time.sleep(max(0.0, due - time.perf_counter()))
            t0 = time.process_time()
            case = app.report_repair(
                resident, f"{COMPOUND}/b{n % 62 + 1}/{n:04d}", f"floor light {n}", "lighting"
            )
            app.assign(case, manager, worker, "by hand, for the floor")
            spent += time.process_time() - t0
        return spent / pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="offered reports per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--floor", type=int, default=200, help="library floor pairs")
    parser.add_argument(
        "--paced-floor",
        type=int,
        default=100,
        help="library floor pairs at the load's rate (0: none)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure everything this many times, one round after another; each round's "
        "figures, then each CPU ratio's median over the rounds",
    )
    parser.add_argument("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    report.add_json_flag(parser)
    args = parser.parse_args()
    if args.bare_server:
        import uvicorn

        uvicorn.run(bare_app(), host="127.0.0.1", port=args.bare_server, log_level="warning")  # type: ignore[arg-type]
        return 0
    figures: list[report.Figure] = []
    ratios: dict[str, list[float]] = {}
    with report.json_mode(args.json):
        for n in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"\n## Round {n} of {args.rounds}\n")
            round_figures = figures_of(measure(args), f", round {n}" if args.rounds > 1 else "")
            figures += round_figures
            for figure in round_figures:
                if figure.unit == "ms CPU" and figure.ratio is not None:
                    ratios.setdefault(figure.name.replace(f", round {n}", ""), []).append(
                        figure.ratio
                    )
        if args.rounds > 1:
            print(f"\nCPU ratios over {args.rounds} rounds\n")
            print("| figure | each round | median |")
            print("|---|---|---:|")
            for name, each in ratios.items():
                shown = ", ".join(f"{r:.2f}" for r in each)
                print(f"| {name} | {shown} | {statistics.median(each):.2f} |")
    report.emit(figures, args.json, "the intake beside its baselines of the same run")
    return 0


def figures_of(results: list[Result], suffix: str) -> list[report.Figure]:
    """One round's figures (`suffix` names the round): latencies beside the bare server's, CPU
    per report beside the floors and beside the bare server's CPU per request, refusals."""
    bare, *intakes = results
    figures = [
        report.Figure(f"{r.name}, {label}{suffix}", r.ms(share), "ms", bare.ms(share))
        for r in intakes
        for share, label in ((0.5, "p50"), (0.99, "p99"))
    ]
    figures += [
        report.Figure(
            f"{r.name}, CPU per report (baseline: library floor, `report_repair` + `assign`)"
            + suffix,
            r.cpu_ms(),
            "ms CPU",
            r.floor * 1000,
        )
        for r in intakes
        if r.floor is not None
    ]
    figures += [
        report.Figure(
            f"{r.name}, CPU per report (baseline: library floor at the load's rate){suffix}",
            r.cpu_ms(),
            "ms CPU",
            r.paced_floor * 1000,
        )
        for r in intakes
        if r.paced_floor is not None
    ]
    figures += [
        report.Figure(
            f"{r.name}, CPU per report (baseline: {bare.name}'s CPU per request, same load)"
            + suffix,
            r.cpu_ms(),
            "ms CPU",
            bare.cpu_ms(),
        )
        for r in intakes
    ]
    figures += [
        report.Figure(
            f"{r.name}, answered other than 201{suffix}", r.sent - r.ok, "reports", r.sent
        )
        for r in results
    ]
    return figures


def measure(args: argparse.Namespace) -> list[Result]:
    """The bare server's run, then the intake's on each store; prints the table."""
    results: list[Result] = []
    floors: dict[str, float] = {}
    paced: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="casework-bench-intake-") as tmp:
        port = free_port()
        command = [sys.executable, __file__, "--bare-server", str(port)]
        with server(command, dict(os.environ), port) as (url, pid):
            cpu, loop = cpu_seconds(pid), cpu_seconds(pid, pid)
            results.append(
                asyncio.run(offered_load(url, "-", args.rate, args.seconds, "bare FastAPI"))
            )
            results[-1].cpu = cpu_seconds(pid) - cpu
            results[-1].loop_cpu = cpu_seconds(pid, pid) - loop
        for store in args.stores.split(","):
            with store_url(store, Path(tmp) / "floor") as url_of_floor:
                floors[store] = library_floor(url_of_floor, args.floor)
            if args.paced_floor:
                with store_url(store, Path(tmp) / "paced-floor") as url_of_floor:
                    paced[store] = library_floor(url_of_floor, args.paced_floor, args.rate)
            with store_url(store, Path(tmp)) as url_of_store:
                env = dict(os.environ)
                env.update(
                    CASEWORK_STORE=url_of_store,
                    CASEWORK_VAR_DIR=str(Path(tmp) / store),
                    INTAKE_LOG_LEVEL="WARNING",
                )
                token = intake_token(env)
                port = free_port()
                command = [sys.executable, "-m", "intake.main", "--port", str(port)]
                with server(command, env, port) as (url, pid):
                    cpu, loop = cpu_seconds(pid), cpu_seconds(pid, pid)
                    results.append(
                        asyncio.run(
                            offered_load(url, token, args.rate, args.seconds, f"intake, {store}")
                        )
                    )
                    results[-1].cpu = cpu_seconds(pid) - cpu
                    results[-1].loop_cpu = cpu_seconds(pid, pid) - loop
    print(f"offered load {args.rate:g} reports/s for {args.seconds:g} s\n")
    print("| server | sent | 201s | reports/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for result in results:
        print(result.row())
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nCPU per report ({os.cpu_count()} CPUs, load average after the run {load})\n")
    print(
        "| server | CPU ms/report | of which the event loop | library floor CPU ms/report "
        "| ratio | floor at the load's rate | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for result in results:
        store = result.name.rsplit(", ", 1)[-1]
        if store in floors:
            result.floor = floors[store]
            result.paced_floor = paced.get(store)
            per, floor = result.cpu_ms(), floors[store] * 1000
            at_rate = "— | —"
            if result.paced_floor:
                slow = result.paced_floor * 1000
                at_rate = f"{slow:.2f} | {per / slow:.1f}×"
            print(
                f"| {result.name} | {per:.2f} | {result.loop_ms():.2f} | {floor:.2f} "
                f"| {per / floor:.1f}× | {at_rate} |"
            )
        else:
            per, loop = result.cpu_ms(), result.loop_ms()
            print(f"| {result.name} | {per:.2f} | {loop:.2f} | — | — | — | — |")
    for result in results:
        said = "; ".join(f"{n} × {kind}" for kind, n in result.refused.most_common()) or "none"
        print(f"\n{result.name}: reports without a 201: {said}")
    return results


@contextlib.contextmanager
def store_url(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        tmp.mkdir(exist_ok=True)
        yield f"sqlite:///{tmp / 'bench-cases.db'}"
        return
    from casework.testing.postgres import fresh_database, throwaway_postgres

    with throwaway_postgres() as pg, fresh_database(pg, pool_size=20, max_overflow=20) as url:
        yield url


if __name__ == "__main__":
    sys.exit(main())
