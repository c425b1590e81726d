"""Report → `Assigned` through the whole stack, at a fixed offered load.

    uv run python bench/e2e.py [--rate 20] [--seconds 5] [--stores sqlite,postgres]
    uv run python bench/e2e.py --rate 100 --seconds 60        # the figures in docs/BENCHMARKS.md
    uv run python bench/e2e.py --stores sqlite --json         # one JSON object per figure

For each store, the whole stack runs as `casework up` runs it (nats-server, relay, intake,
dispatch, mediation: separate processes, free loopback ports, a temp var dir; PostgreSQL is a
throwaway cluster with fsync off, as the test fixture starts it). Property staff are put on
dispatch's roster through its API. Then routine repairs are reported to the intake's
`POST /cases` (each with its own `Idempotency-Key`, never retried), open-loop: report n is due at
start + n/rate whatever the answers do, and every time is counted from when its report was due
(no coordinated omission). A core NATS subscription to `casework.repair.assigned.>` sees each
`Assigned` the relay publishes; a repair's time is from its report being due to its `Assigned`
being seen, i.e. everything a user waits for: the intake's request, the store, the relay,
JetStream, dispatch's consumer and decision, the store and the relay again.

Baselines measured in the same run, on the same store:

- the intake's `POST /cases` latency under the same load (the first leg alone);
- the library floor: `Casework.report_repair` then `Casework.assign` called in one process, one
  pair after another (no HTTP, no NATS, no consumer) — what the two writes cost by themselves.

Prints one markdown table, then each store's p50 and p99 beside the library floor's of the same
run (bench/report.py; `--json` for JSON lines); docs/BENCHMARKS.md keeps the figures with the
machine they ran on.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import nats
import report
from casework import Actor, Casework, Role
from casework_stack.client import Api, Cast
from casework_stack.stack import Stack, StackConfig
from casework_stack.topology import Ports, sqlite_store

COMMUNITY = "jiayu-xx"
COMPOUND = f"{COMMUNITY}/wanxin-intl"
BUILDINGS = 62
DRAIN_SECONDS = 60.0
"""How long after the last report to wait for the last assignments."""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


@dataclass
class Series:
    """Latencies (seconds) of one measured thing, and how many of the attempts succeeded."""

    name: str
    attempted: int
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def ms(self, share: float) -> float:
        """The latency at `share` (0.5: the median) in ms."""
        ms = [x * 1000 for x in self.latencies]
        if share == 0.5:
            return statistics.median(ms) if ms else float("nan")
        return percentile(ms, share)

    def row(self) -> str:
        ms = [x * 1000 for x in self.latencies]
        done = len(ms)
        rate = done / self.seconds if self.seconds else float("nan")
        p50 = statistics.median(ms) if ms else float("nan")
        return (
            f"| {self.name} | {self.attempted:,} | {done:,} | {rate:,.1f} | {p50:,.1f} "
            f"| {percentile(ms, 0.95):,.1f} | {percentile(ms, 0.99):,.1f} |"
        )


@dataclass
class Refusals:
    """Every report that got no 201, counted by what it got instead, so none is lost silently.

    A kind is `HTTP <status> <code>` (the body's `code`) or the client's exception class (a
    timeout, a refused connection: the bench's side). `stored_anyway` counts cases that were
    assigned although no 201 named them: an answer lost (the intake stored the report and the
    bench never heard); a refused report must store nothing.
    """

    kinds: Counter[str] = field(default_factory=Counter)
    example: dict[str, str] = field(default_factory=dict)
    stored_anyway: int = 0

    def count(self, kind: str, detail: str) -> None:
        self.kinds[kind] += 1
        self.example.setdefault(kind, detail[:300])

    @property
    def total(self) -> int:
        return sum(self.kinds.values())

    def lines(self) -> list[str]:
        said = [f"{n} × {kind}: {self.example[kind]}" for kind, n in self.kinds.most_common()]
        if self.stored_anyway:
            said.append(f"{self.stored_anyway} assigned without a 201 (answers lost)")
        return said


def refusal_kind(response: httpx.Response) -> str:
    try:
        code = response.json().get("code", "")
    except ValueError:
        code = ""
    return f"HTTP {response.status_code} {code}".rstrip()


# ----------------------------------------------------------------- the stack


MAX_LOAD = 20
"""The most work a roster member may hold at once (dispatch's upper bound)."""


def put_staff_on_the_roster(api: Api, cast: Cast, reports: int) -> int:
    """Enough property staff on dispatch's roster that every report can be assigned at once.

    Nobody finishes work during the run, so each member holds up to `MAX_LOAD` repairs; with
    fewer members the rest would wait in dispatch's queue, and the run would measure the queue.
    """
    manager = cast.person("manager-bench", "property_manager", COMPOUND)
    members = reports // MAX_LOAD + 2
    for n in range(members):
        api.post(
            "dispatch",
            "/roster/members",
            manager,
            {
                "actor_id": f"staff-bench-{n:03d}",
                "role": "property_staff",
                "skills": ["electrical", "plumbing", "appliances", "general_repairs"],
                "places": [COMPOUND],
                "max_load": MAX_LOAD,
            },
        )
    return members


async def offered_load(
    stack: Stack, reporter_token: str, rate: float, seconds: float
) -> tuple[Series, Series, Refusals]:
    """POST latencies, report→Assigned latencies and the refusals of one open-loop run."""
    total = int(rate * seconds)
    intake_url = stack.config.url("intake")
    due_of: dict[str, float] = {}
    seen: dict[str, float] = {}
    all_assigned = asyncio.Event()
    posted = Series("intake `POST /cases`", total)
    assigned = Series("report → `Assigned` seen on NATS", total)
    refused = Refusals()

    nc = await nats.connect(stack.config.nats.split(","), **stack.nats_options())

    async def on_assigned(msg: nats.aio.msg.Msg) -> None:
        case_id = json.loads(msg.data)["case_id"]
        seen.setdefault(case_id, time.perf_counter())
        if len(seen) >= total:
            all_assigned.set()

    await nc.subscribe("casework.repair.assigned.>", cb=on_assigned)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    headers = {"Authorization": f"Bearer {reporter_token}"}
    async with httpx.AsyncClient(
        base_url=intake_url, headers=headers, limits=limits, timeout=120
    ) as client:

        async def report(n: int, due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            body = {
                "kind": "repair",
                "category": "lighting",
                "address": f"{COMPOUND}/b{n % BUILDINGS + 1}/{n // BUILDINGS + 101:04d}",
                "description": f"corridor light {n} is out",
                "channel": "app",
                "reporter": {"id": f"resident-bench-{n}", "role": "resident"},
            }
            key = {"Idempotency-Key": str(uuid.uuid4())}  # one per report; never retried here
            try:
                response = await client.post("/cases", json=body, headers=key)
            except httpx.HTTPError as error:
                refused.count(type(error).__name__, f"{error!r} after {n / rate:.2f} s of load")
                return
            if response.status_code == 201:
                posted.latencies.append(time.perf_counter() - due)
                due_of[response.json()["case_id"]] = due
            else:
                refused.count(refusal_kind(response), response.text)

        start = time.perf_counter() + 0.5
        await asyncio.gather(*(report(n, start + n / rate) for n in range(total)))
        posted.seconds = time.perf_counter() - start
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_assigned.wait(), DRAIN_SECONDS)
    await nc.drain()
    assigned.latencies = [seen[c] - due for c, due in due_of.items() if c in seen]
    refused.stored_anyway = sum(1 for c in seen if c not in due_of)
    last = max(seen.values(), default=start)
    assigned.seconds = last - start
    return posted, assigned, refused


# ------------------------------------------------------------------ baseline


def library_floor(store: str, pairs: int) -> Series:
    """report_repair + assign, one pair after another, in this process."""
    series = Series("library floor: `report_repair` + `assign`, in process", pairs)
    staff = Actor("staff-floor", Role.PROPERTY_STAFF)
    began = time.perf_counter()
    with Casework(store) as app:
        for n in range(pairs):
            t0 = time.perf_counter()
            case = app.report_repair(
                Actor(f"resident-floor-{n}", Role.RESIDENT),
                f"{COMPOUND}/b{n % BUILDINGS + 1}/{n // BUILDINGS + 101:04d}",
                f"corridor light {n} is out",
                "lighting",
            )
            app.assign(case, staff, staff, "on duty")
            series.latencies.append(time.perf_counter() - t0)
    series.seconds = time.perf_counter() - began
    return series


# ---------------------------------------------------------------------- main


@contextlib.contextmanager
def store_for(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield sqlite_store(tmp)
        return
    from casework.testing.postgres import fresh_database, throwaway_postgres

    with throwaway_postgres() as pg, fresh_database(pg, pool_size=20, max_overflow=20) as url:
        yield url


def run_store(
    kind: str, rate: float, seconds: float, floor_pairs: int
) -> tuple[list[Series], Refusals]:
    with tempfile.TemporaryDirectory(prefix=f"casework-bench-e2e-{kind}-") as tmp:
        var = Path(tmp) / "var"
        with store_for(kind, var) as store:
            config = StackConfig(
                var_dir=var,
                store=store,
                ports=Ports.free(),
                env={"INTAKE_LOG_LEVEL": "WARNING", "DISPATCH_LOG_LEVEL": "WARNING"},
                hermetic=True,
            )
            print(f"[{kind}] starting the stack", file=sys.stderr)
            with Stack(config) as stack:
                urls = {e.name: e.address for e in stack.endpoints() if e.pid is not None}
                api = Api({k: v for k, v in urls.items() if v.startswith("http")})
                cast = Cast(var / "tokens.json")
                members = put_staff_on_the_roster(api, cast, int(rate * seconds))
                print(f"[{kind}] {members} staff on the roster", file=sys.stderr)
                desk = cast.person("staff-bench-desk", "property_staff", COMPOUND)
                api.close()
                print(f"[{kind}] {rate:g} reports/s for {seconds:g} s", file=sys.stderr)
                posted, assigned, refused = asyncio.run(
                    offered_load(stack, desk.token, rate, seconds)
                )
                for line in refused.lines():
                    print(f"[{kind}] no 201: {line}", file=sys.stderr)
            floor_store = store if kind != "sqlite" else sqlite_store(Path(tmp) / "floor")
            print(f"[{kind}] library floor, {floor_pairs} pairs", file=sys.stderr)
            floor = library_floor(floor_store, floor_pairs)
    for series in (assigned, posted, floor):
        series.name = f"{kind}: {series.name}"
    return [assigned, posted, floor], refused


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="offered reports per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long the load lasts")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--floor-pairs", type=int, default=300)
    report.add_json_flag(parser)
    args = parser.parse_args()
    rows: list[Series] = []
    figures: list[report.Figure] = []
    refusals: dict[str, Refusals] = {}
    with report.json_mode(args.json):
        for kind in args.stores.split(","):
            (assigned, posted, floor), refusals[kind] = run_store(
                kind, args.rate, args.seconds, args.floor_pairs
            )
            rows.extend((assigned, posted, floor))
            for series in (assigned, posted):
                for share, label in ((0.5, "p50"), (0.99, "p99")):
                    figures.append(
                        report.Figure(
                            f"{series.name} {label} (baseline: the library floor's {label})",
                            series.ms(share),
                            "ms",
                            floor.ms(share),
                        )
                    )
            figures.append(
                report.Figure(
                    f"{assigned.name}: done of attempted",
                    len(assigned.latencies),
                    "reports",
                    assigned.attempted,
                )
            )
            refused = refusals[kind]
            figures.append(
                report.Figure(
                    f"{kind}: reports answered other than 201, of attempted",
                    refused.total,
                    "reports",
                    posted.attempted,
                )
            )
            figures.append(
                report.Figure(
                    f"{kind}: assigned without a 201 (answers lost)",
                    refused.stored_anyway,
                    "reports",
                )
            )
    if args.json:
        report.emit(figures, as_json=True)
        return 0
    print(
        f"offered load: {args.rate:g} routine repairs/s for {args.seconds:g} s "
        f"({int(args.rate * args.seconds):,} reports); {os.cpu_count()} CPUs\n"
    )
    print("| what | attempted | done | done/s | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for series in rows:
        print(series.row())
    for kind, refused in refusals.items():
        said = "; ".join(refused.lines()) or "none"
        print(f"\n{kind}: reports without a 201: {said}")
    report.emit(figures, as_json=False, title="latencies beside the library floor's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
