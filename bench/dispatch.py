"""Dispatch's own cost per report: the process in the stack, and its handler in process.

    uv run python bench/dispatch.py [--parts stack,handler] [--stores sqlite,postgres]
                                    [--rate 20] [--seconds 15] [--paced-floor 60]  # the stack
                                    [--members 300] [--reports 600] [--batch 10]  # the handler

**The stack** (issue 16's row: dispatch CPU per report): for each store the whole stack runs as
`casework up` runs it (nats-server, relay, intake, dispatch, mediation: separate processes, as
`bench/e2e.py` starts them), enough staff are put on the roster that every report is assigned at
once (`e2e.put_staff_on_the_roster`), and routine repairs are reported to the intake at `--rate`
for `--seconds`, open-loop (`e2e.offered_load`). The dispatch process's CPU (user + system,
`/proc/<pid>/stat`) is read before the load and again once every report is assigned and
dispatch's durable consumer has nothing pending or unacknowledged, and divided by the reports
assigned: everything the process did for them (the NATS consumer, the hop to a worker thread,
the contract parsed, the decision and the writes, the board and the roster followed, its timers).
Its idle CPU (the same process, no load, for a few seconds before) is printed beside it, per
second and over the load's length. Baseline, same run: the library floor, `report_repair` +
`assign` one pair after another in this process on a fresh store of the same kind, process CPU
per pair (as `bench/intake.py` measures it; issue 16's definition); and beside it the same floor
with one pair every 1/rate seconds (`--paced-floor` pairs, the pauses not counted), which pays
what a service at that pace pays (caches gone cold between pairs). On a quiet machine the first
runs far faster than the second (1.1 against 2.2 ms on the 2-core box); on a loaded one, much
less so: both are printed, neither hidden.

**The handler** (`--parts handler`), in one process, on a fresh store: N property staff join
dispatch's roster (all covering the compound, always on duty, up to 20 pieces of work each).
Then routine repairs are reported one after another (not timed), and each is handled as
dispatch's consumer handles it (with the board as the service's runtime gives it): its
`Reported` event (the decision, `Assigned` + `WorkTaken`, the tracking record: one
transaction), then its `DeadlinesSet` and the `Assigned` the relay brings back (nothing to do,
but messages to acknowledge, each with its tracking record). A report's time is its three
messages together: what one report costs dispatch. No HTTP, no NATS: this is the consumer's
handler against the store, as the consumer runs it: messages whose handler writes nothing have
their positions recorded together, one transaction per `--batch` messages (the consumer's fetch
batch; the transaction's time counts to the report whose message ended the batch).

Baselines, measured in the same run on the same kind of store:

- *a commit per message*: the same reports handled as the consumer did before it recorded the
  positions of messages that change nothing together (`handle_tracked`: each message its own
  transaction), on its own fresh store with the same roster, run first;

and once the reports are done (so the members carry the histories the run gave them):

- *replay every candidate*: what a decision cost before dispatch followed the roster in memory
  (`Dispatch.decide` loaded each covering member from the store, a replay of its whole history)
  — the loads and the rule only, no write;
- the library floor: `Casework.report_repair` is not timed; `Casework.assign` alone is, on a
  fresh case, one after another (the write an assignment needs, with no rule and no consumer).

CPU per report, in process: the process CPU (`time.process_time`, not wall clock, so that other
work on a shared machine shows less) of the batched run's reports, mean, beside the library
floor's CPU per `report_repair` + `assign` pair measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import e2e  # the stack's load and roster, as bench/e2e.py makes them
import report  # before the folder leaves sys.path (below)

# Run as a script, this file's folder comes first on sys.path, and this file is named like the
# service's package: take the folder off so `import dispatch` finds the service.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from casework import Actor, Role  # noqa: E402
from casework.contracts import CasePlace, to_contract  # noqa: E402
from casework.messaging.consumer import handle_deferring, handle_tracked, position  # noqa: E402
from dispatch.application import Dispatch, work_for_case  # noqa: E402
from dispatch.board import Board  # noqa: E402
from dispatch.domain.member import member_id  # noqa: E402
from dispatch.domain.roster import ROSTER_ID  # noqa: E402
from dispatch.domain.rule import Candidate, decide  # noqa: E402
from dispatch.feeds import handler  # noqa: E402
from eventsourcing.persistence import Tracking  # noqa: E402

DURABLE = "dispatch"
IDLE_SECONDS = 3.0
"""How long the dispatch process's idle CPU is read before the load."""
SETTLE_SECONDS = 60.0
"""How long after the last `Assigned` to wait for dispatch's consumer to have nothing pending."""

COMPOUND = "jiayu-xx/wanxin-intl"
BUILDINGS = 62
MANAGER = Actor("manager-bench", Role.PROPERTY_MANAGER)
SKILLS = ["electrical", "plumbing", "appliances", "general_repairs"]
MAX_LOAD = 20


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


@dataclass
class Series:
    name: str
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu: list[float] = field(default_factory=list)
    """Process CPU seconds of each, beside `latencies`."""

    def cpu_ms(self) -> float:
        return 1000 * sum(self.cpu) / len(self.cpu) if self.cpu else float("nan")

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else float("nan")

    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    def row(self) -> str:
        ms = [x * 1000 for x in self.latencies]
        rate = len(ms) / self.seconds if self.seconds else float("nan")
        p50 = statistics.median(ms) if ms else float("nan")
        return (
            f"| {self.name} | {len(ms):,} | {rate:,.1f} | {p50:,.2f} "
            f"| {percentile(ms, 0.95):,.2f} | {percentile(ms, 0.99):,.2f} |"
        )


@contextlib.contextmanager
def timed(series: Series) -> Iterator[None]:
    t0, c0 = time.perf_counter(), time.process_time()
    yield
    elapsed = time.perf_counter() - t0
    series.latencies.append(elapsed)
    series.cpu.append(time.process_time() - c0)
    series.seconds += elapsed


class Consumption:
    """Messages handled as dispatch's consumer handles them: the handler inside a tracking block;
    positions of messages it wrote nothing for recorded together every `batch` messages (with
    `batch` 0, every message is its own transaction, as before)."""

    def __init__(self, app: Dispatch, batch: int) -> None:
        self.app = app
        self.batch = batch
        self.sequence = 0
        self.unrecorded: list[Tracking] = []

    def consume(self, event: object, place: CasePlace) -> None:
        self.sequence += 1
        contract = to_contract(event, place)
        tracking = position("dispatch", "CASEWORK", self.sequence)
        if not self.batch:
            handle_tracked(self.app.casework, handler(self.app), contract, tracking)
            return
        _, unrecorded = handle_deferring(
            self.app.casework, handler(self.app), contract, tracking, position_alone=False
        )
        if unrecorded:
            self.unrecorded.append(tracking)
        if self.sequence % self.batch == 0:
            self.flush()

    def flush(self) -> None:
        self.app.casework.record_positions(self.unrecorded)
        self.unrecorded.clear()


def address(n: int) -> str:
    return f"{COMPOUND}/b{n % BUILDINGS + 1}/{n // BUILDINGS + 101:04d}"


def run(store: str, members: int, reports: int, sample: int, batch: int) -> list[Series]:
    what = f"dispatch handles a report (its 3 messages), {members} members"
    if batch:
        handled = Series(f"{what}, positions of no-ops recorded per {batch} messages")
    else:
        handled = Series(f"baseline: {what}, a commit per message")
    replay = Series(f"baseline: replay every candidate + the rule, {members} members")
    floor = Series("baseline: library floor, `Casework.assign` alone")
    pair = Series("baseline: library floor, `report_repair` + `assign`")
    with Dispatch(store) as app:
        app.case_view = Board(app)  # as the service's runtime gives it its board
        consumption = Consumption(app, batch)
        for n in range(members):
            app.join(
                MANAGER,
                Actor(f"staff-bench-{n:03d}", Role.PROPERTY_STAFF),
                name=f"staff {n}",
                skills=SKILLS,
                places=[COMPOUND],
                availability=["daily 00:00-24:00"],
                max_load=MAX_LOAD,
            )
        resident = Actor("resident-bench", Role.RESIDENT)
        for n in range(reports):
            case = app.casework.report_repair(
                resident, address(n), f"corridor light {n} is out", "lighting"
            )
            reported = next(iter(app.casework.events.get(case)))
            place = CasePlace.of(reported)
            with timed(handled):
                consumption.consume(reported, place)
            # DeadlinesSet, and what dispatch recorded (Assigned), as the relay brings them
            for event in list(app.casework.events.get(case, gt=1)):
                t0, c0 = time.perf_counter(), time.process_time()
                consumption.consume(event, place)
                handled.latencies[-1] += time.perf_counter() - t0
                handled.cpu[-1] += time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        consumption.flush()
        handled.latencies[-1] += time.perf_counter() - t0
        handled.cpu[-1] += time.process_time() - c0
        handled.seconds = sum(handled.latencies)
        if not sample:
            return [handled]

        roster = app.casework.repository.get(ROSTER_ID)
        worker = Actor("staff-floor", Role.PROPERTY_STAFF)
        at = app.clock()
        for n in range(sample):
            with timed(pair):
                case = app.casework.report_repair(
                    resident, address(n), f"baseline light {n}", "lighting"
                )
            work = work_for_case(app.casework.get_case(case))
            with timed(replay):
                candidates = [
                    Candidate.of(app.casework.repository.get(member_id(actor_id)))
                    for actor_id in roster.covering(work.address)
                ]
                decide(work, candidates, at)
            with timed(floor):
                app.casework.assign(case, MANAGER, worker, "by hand, for the floor")
            pair.latencies[-1] += floor.latencies[-1]
            pair.cpu[-1] += floor.cpu[-1]
        pair.seconds = sum(pair.latencies)
    return [handled, replay, floor, pair]


# ------------------------------------------------------------ the stack


def cpu_seconds(pid: int) -> float:
    """A process's user + system CPU so far (Linux `/proc/<pid>/stat`, fields 14 and 15)."""
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple[float, float]:
    """A process's user and system CPU so far, apart."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def thread_cpu(pid: int) -> dict[int, float]:
    """Each thread's user + system CPU so far, by thread id (the main thread's id is `pid`)."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            found[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return found


def library_floor_cpu(store: str, pairs: int, rate: float | None = None) -> float:
    """CPU seconds per `report_repair` + `assign` in this process, on a fresh store: one pair
    after another (issue 16's floor), or (`rate`) one pair every 1/rate seconds, the pauses not
    counted: what the same library work costs when, like the service's, it comes at the load's
    pace (caches cold again after each pause), as `bench/intake.py --paced-floor` measures."""
    from casework import Casework

    resident = Actor("resident-floor", Role.RESIDENT)
    worker = Actor("staff-floor", Role.PROPERTY_STAFF)
    with Casework(store) as app:
        app.report_repair(resident, address(0), "warm-up", "lighting")
        spent = 0.0
        due = time.perf_counter()
        for n in range(pairs):
            if rate:
                due += 1 / rate
                time.sleep(max(0.0, due - time.perf_counter()))
            t0 = time.process_time()
            case = app.report_repair(resident, address(n), f"floor light {n}", "lighting")
            app.assign(case, MANAGER, worker, "by hand, for the floor")
            spent += time.process_time() - t0
        return spent / pairs


@dataclass
class StackRun:
    """What the dispatch process spent on one store's load, beside the floor of the run."""

    store: str
    attempted: int
    assigned: int
    members: int
    cpu: float
    """The dispatch process's CPU seconds from the load's start until it had settled."""
    system: float
    """Of `cpu`, in the kernel (system time)."""
    window: float
    """Wall-clock seconds of that."""
    idle: float
    """The dispatch process's CPU seconds per second with no load (just before)."""
    floor: float
    """CPU seconds per `report_repair` + `assign` pair in process, same run, same kind of store."""
    others: dict[str, float] = field(default_factory=dict)
    """The other processes' CPU seconds over the same window, by name."""
    latency_ms: float = float("nan")
    """Median time from a report's POST to its `Assigned` (what a fetch linger costs)."""
    main_thread: float = 0.0
    """Of `cpu`, the dispatch process's main thread's (the event loop: NATS, acks, HTTP)."""
    paced_floor: float | None = None
    """`floor`'s pairs one every 1/rate seconds (`--paced-floor`), else None."""

    def cpu_ms(self) -> float:
        return 1000 * self.cpu / max(self.assigned, 1)

    def idle_ms(self) -> float:
        """Of `cpu_ms`, what the process would have spent idle over the same window."""
        return 1000 * self.idle * self.window / max(self.assigned, 1)


async def settled(stack: e2e.Stack, timeout: float) -> bool:
    """Wait until dispatch's durable consumer has nothing undelivered or unacknowledged."""
    nc = await e2e.nats.connect(stack.config.nats.split(","), **stack.nats_options())
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = await js.consumer_info("CASEWORK", DURABLE)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return True
            await asyncio.sleep(0.1)
        return False
    finally:
        await nc.close()


def run_stack(
    kind: str,
    rate: float,
    seconds: float,
    floor_pairs: int,
    linger: float | None = None,
    paced_pairs: int = 0,
) -> StackRun:
    """One store: the floor (and `paced_pairs` of it at the load's rate), then the stack under
    the load (see the module docstring). `linger`: dispatch's consumer's
    (`DISPATCH_FETCH_LINGER_SECONDS`), else the service's default."""
    env = {"INTAKE_LOG_LEVEL": "WARNING", "DISPATCH_LOG_LEVEL": "WARNING"}
    if linger is not None:
        env["DISPATCH_FETCH_LINGER_SECONDS"] = str(linger)
        kind_label = f"{kind}, linger {linger * 1000:g} ms"
    else:
        kind_label = kind
    with tempfile.TemporaryDirectory(prefix=f"casework-bench-dispatch-stack-{kind}-") as tmp:
        with store_for(kind, Path(tmp) / "floor") as floor_store:
            print(f"[{kind}] library floor, {floor_pairs} pairs", file=sys.stderr)
            floor = library_floor_cpu(floor_store, floor_pairs)
        paced = None
        if paced_pairs:
            with store_for(kind, Path(tmp) / "paced-floor") as floor_store:
                print(f"[{kind}] library floor at {rate:g}/s, {paced_pairs} pairs", file=sys.stderr)
                paced = library_floor_cpu(floor_store, paced_pairs, rate)
        var = Path(tmp) / "var"
        with e2e.store_for(kind, var) as store:
            config = e2e.StackConfig(
                var_dir=var,
                store=store,
                ports=e2e.Ports.free(),
                env=env,
                hermetic=True,
            )
            print(f"[{kind}] starting the stack", file=sys.stderr)
            with e2e.Stack(config) as stack:
                endpoints = [e for e in stack.endpoints() if e.pid is not None]
                pids = {e.name: e.pid for e in endpoints if e.pid is not None}
                urls = {e.name: e.address for e in endpoints if e.address.startswith("http")}
                api = e2e.Api(urls)
                cast = e2e.Cast(var / "tokens.json")
                members = e2e.put_staff_on_the_roster(api, cast, int(rate * seconds))
                desk = cast.person("staff-bench-desk", "property_staff", e2e.COMPOUND)
                api.close()
                pid = pids["dispatch"]
                asyncio.run(settled(stack, SETTLE_SECONDS))
                c0 = cpu_seconds(pid)
                time.sleep(IDLE_SECONDS)
                idle = (cpu_seconds(pid) - c0) / IDLE_SECONDS
                print(
                    f"[{kind}] {members} staff; {rate:g} reports/s for {seconds:g} s",
                    file=sys.stderr,
                )
                before = {name: cpu_seconds(p) for name, p in pids.items()}
                _, system = cpu_split(pid)
                threads = thread_cpu(pid)
                t0 = time.perf_counter()
                profiler = profile(pid, os.environ.get("BENCH_DISPATCH_PROFILE"), seconds)
                _, assigned, refused = asyncio.run(
                    e2e.offered_load(stack, desk.token, rate, seconds)
                )
                if profiler is not None:
                    profiler.wait()
                if not asyncio.run(settled(stack, SETTLE_SECONDS)):
                    print(f"[{kind}] dispatch had not settled; CPU read anyway", file=sys.stderr)
                window = time.perf_counter() - t0
                spent = {name: cpu_seconds(p) - before[name] for name, p in pids.items()}
                system = cpu_split(pid)[1] - system
                main_thread = thread_cpu(pid).get(pid, 0.0) - threads.get(pid, 0.0)
                for line in refused.lines():
                    print(f"[{kind}] no 201: {line}", file=sys.stderr)
    cpu = spent.pop("dispatch")
    return StackRun(
        kind_label,
        int(rate * seconds),
        len(assigned.latencies),
        members,
        cpu,
        system,
        window,
        idle,
        floor,
        spent,
        assigned.ms(0.5),
        main_thread,
        paced,
    )


def profile(pid: int, out: str | None, seconds: float) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the dispatch process during the load, when BENCH_DISPATCH_PROFILE names
    the output (a speedscope file; `--format raw` folded stacks if it ends in .txt)."""
    if not out:
        return None
    fmt = "raw" if out.endswith(".txt") else "speedscope"
    spy = Path.home() / ".local" / "bin" / "py-spy"
    command = [str(spy), "record", "-p", str(pid), "-d", str(int(seconds)), "-o", out]
    return subprocess.Popen(
        [
            *command,
            "-f",
            fmt,
            "-t",
            "-r",
            "200",
            *os.environ.get("BENCH_DISPATCH_PROFILE_ARGS", "").split(),
        ]
    )


def stack_table(runs: list[StackRun], rate: float, seconds: float) -> list[report.Figure]:
    """Print the stack's CPU table; its figures, each beside the floor of its run."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nthe stack: {rate:g} routine repairs/s for {seconds:g} s; {os.cpu_count()} CPUs, "
        f"load average after the run {load}\n"
    )
    print(
        "| store | assigned | staff | dispatch CPU ms/report | of which idle "
        "| library floor CPU ms/report | ratio | floor at the load's rate | ratio "
        "| report to assigned p50 ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    figures = []
    for r in runs:
        floor = r.floor * 1000
        paced = "— | —"
        if r.paced_floor:
            paced = f"{r.paced_floor * 1000:.2f} | {r.cpu_ms() / (r.paced_floor * 1000):.1f}×"
        print(
            f"| {r.store} | {r.assigned:,} of {r.attempted:,} | {r.members} | {r.cpu_ms():.2f} "
            f"| {r.idle_ms():.2f} | {floor:.2f} | {r.cpu_ms() / floor:.1f}× | {paced} "
            f"| {r.latency_ms:.0f} |"
        )
        figures.append(
            report.Figure(
                f"{r.store}: dispatch process CPU per report in the stack at {rate:g}/s "
                "(baseline: library floor, `report_repair` + `assign` CPU)",
                r.cpu_ms(),
                "ms CPU",
                floor,
            )
        )
        if r.paced_floor:
            figures.append(
                report.Figure(
                    f"{r.store}: dispatch process CPU per report in the stack at {rate:g}/s "
                    "(baseline: library floor at the load's rate)",
                    r.cpu_ms(),
                    "ms CPU",
                    r.paced_floor * 1000,
                )
            )
    for r in runs:
        others = ", ".join(f"{name} {s:.1f} s" for name, s in sorted(r.others.items()))
        print(
            f"\n{r.store}: over the {r.window:.1f} s window, dispatch {r.cpu:.1f} s of CPU "
            f"({r.system:.1f} s of it system, {r.main_thread:.1f} s the event loop's; "
            f"idle {r.idle * 1000:.0f} ms/s before the load); "
            f"{others}"
        )
    return figures


@contextlib.contextmanager
def store_for(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        tmp.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{tmp / 'casework.sqlite'}"
        return
    from casework.testing.postgres import fresh_database, throwaway_postgres

    with throwaway_postgres() as pg, fresh_database(pg) as url:
        yield url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parts",
        default="stack,handler",
        help="stack: the dispatch process under load in the whole stack (issue 16's row); "
        "handler: the consumer's handler in process",
    )
    parser.add_argument("--rate", type=float, default=20.0, help="the stack: reports per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="the stack: load's length")
    parser.add_argument("--floor", type=int, default=200, help="the stack: library floor pairs")
    parser.add_argument(
        "--paced-floor",
        type=int,
        default=60,
        help="the stack: library floor pairs at the load's rate (0: none)",
    )
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--reports", type=int, default=600)
    parser.add_argument("--sample", type=int, default=50, help="decisions in each baseline")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument(
        "--lingers",
        default="",
        help="the stack: dispatch's consumer's fetch linger, seconds, comma-separated; each "
        "store is run once per value, in turns, `--rounds` times (default: the service's own)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="the stack: rounds of --lingers")
    parser.add_argument(
        "--batch",
        type=int,
        default=10,
        help="messages per recording of no-op positions (the consumer's fetch batch)",
    )
    report.add_json_flag(parser)
    args = parser.parse_args()
    if args.reports > args.members * MAX_LOAD:
        parser.error(f"{args.members} members hold at most {args.members * MAX_LOAD} repairs")
    parts = set(args.parts.split(","))
    if parts - {"stack", "handler"}:
        parser.error(f"--parts takes stack and/or handler, not {args.parts}")
    figures: list[report.Figure] = []
    with report.json_mode(args.json):
        if "stack" in parts:
            lingers = [float(x) for x in args.lingers.split(",") if x] or [None]
            runs = [
                run_stack(kind, args.rate, args.seconds, args.floor, linger, args.paced_floor)
                for _ in range(args.rounds)
                for kind in args.stores.split(",")
                for linger in lingers
            ]
            figures += stack_table(runs, args.rate, args.seconds)
        if "handler" in parts:
            figures += measure(args)
    report.emit(figures, args.json, "dispatch beside its baselines of the same run")
    return 0


def measure(args: argparse.Namespace) -> list[report.Figure]:
    """The handler's part for each store; print the table; the figures beside their baselines."""
    rows: list[Series] = []
    cpu_rows: list[tuple[str, list[Series]]] = []
    figures: list[report.Figure] = []
    for kind in args.stores.split(","):
        prefix = f"casework-bench-dispatch-{kind}-"
        runs: list[list[Series]] = []
        for batch, sample in ((0, 0), (args.batch, args.sample)):
            with (
                tempfile.TemporaryDirectory(prefix=prefix) as tmp,
                store_for(kind, Path(tmp)) as store,
            ):
                print(
                    f"[{kind}] {args.members} members, {args.reports} reports, batch {batch}",
                    file=sys.stderr,
                )
                runs.append(run(store, args.members, args.reports, sample, batch))
        (per_message,), (batched, *baselines) = runs
        found = [batched, per_message, *baselines]
        cpu_rows.append((kind, [batched, *baselines]))
        for series in found:
            series.name = f"{kind}: {series.name}"
        rows.extend(found)
        figures.append(
            report.Figure(
                f"{batched.name} (baseline: a commit per message)",
                batched.rate,
                "reports/s",
                per_message.rate,
            )
        )
        for baseline in baselines:
            figures.append(
                report.Figure(
                    f"{batched.name}, p50 (baseline: {baseline.name.split(': ', 2)[-1]})",
                    batched.p50(),
                    "ms",
                    baseline.p50(),
                )
            )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{args.members} members, {args.reports} reports; {os.cpu_count()} CPUs, "
        f"load average after the run {load}\n"
    )
    print("| what | n | per s | p50 ms | p95 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for series in rows:
        print(series.row())
    print("\n| store | dispatch CPU ms/report | library floor CPU ms/report | ratio |")
    print("|---|---:|---:|---:|")
    for kind, (batched, *_, pair) in cpu_rows:
        ratio = batched.cpu_ms() / pair.cpu_ms()
        print(f"| {kind} | {batched.cpu_ms():.2f} | {pair.cpu_ms():.2f} | {ratio:.1f}× |")
        figures.append(
            report.Figure(
                f"{kind}: dispatch CPU per report (baseline: library floor, "
                "`report_repair` + `assign` CPU)",
                batched.cpu_ms(),
                "ms CPU",
                pair.cpu_ms(),
            )
        )
    return figures


if __name__ == "__main__":
    sys.exit(main())
