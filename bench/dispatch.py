"""Dispatch's own cost per report: decisions per second with N members covering the place.

    uv run python bench/dispatch.py [--members 300] [--reports 600] [--stores sqlite,postgres]
                                    [--batch 10]

In one process, on a fresh store: N property staff join dispatch's roster (all covering the
compound, always on duty, up to 20 pieces of work each). Then routine repairs are reported one
after another (not timed), and each is handled as dispatch's consumer handles it: its
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

CPU per report: the process CPU (`time.process_time`, not wall clock, so that other work on a
shared machine shows less) of the batched run's reports, mean, beside the library floor's CPU
per `report_repair` + `assign` pair measured in the same run (the issue 16 ratio).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import report  # before the folder leaves sys.path (below)

# Run as a script, this file's folder comes first on sys.path, and this file is named like the
# service's package: take the folder off so `import dispatch` finds the service.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from casework import Actor, Role  # noqa: E402
from casework.contracts import CasePlace, to_contract  # noqa: E402
from casework.messaging.consumer import handle_deferring, handle_tracked, position  # noqa: E402
from dispatch.application import Dispatch, work_for_case  # noqa: E402
from dispatch.domain.member import member_id  # noqa: E402
from dispatch.domain.roster import ROSTER_ID  # noqa: E402
from dispatch.domain.rule import Candidate, decide  # noqa: E402
from dispatch.feeds import handler  # noqa: E402
from eventsourcing.persistence import Tracking  # noqa: E402

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


@contextlib.contextmanager
def store_for(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'casework.sqlite'}"
        return
    from casework.testing.postgres import fresh_database, throwaway_postgres

    with throwaway_postgres() as pg, fresh_database(pg) as url:
        yield url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=300)
    parser.add_argument("--reports", type=int, default=600)
    parser.add_argument("--sample", type=int, default=50, help="decisions in each baseline")
    parser.add_argument("--stores", default="sqlite,postgres")
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
    with report.json_mode(args.json):
        figures = measure(args)
    report.emit(figures, args.json, "dispatch beside its baselines of the same run")
    return 0


def measure(args: argparse.Namespace) -> list[report.Figure]:
    """Run the bench for each store; print the table; the figures beside their baselines."""
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
