"""`verify`, `history` and loading a long case, each beside its floor and its former way, one run.

    uv run python bench/history.py [--cases 2000] [--long 999] [--repeat 5] [--clock cpu] [--json]

Writes `--cases` repairs (report, acknowledge, assign, add a note: 5 events each) and one long
case (report with its deadlines, acknowledge, `--long` notes: 1,002 events by default) to a
fresh SQLite file, then times, round after round (the variants take turns; the median round counts):
- `verify_all` (one pass over the log, digests from the stored text) beside its floor, a bare
  scan of the events table (`select_notifications` in pages of 1,000, nothing decoded), and
  beside the former way (a query per case, each event decoded by the transcoder, re-encoded and
  walked into the digest: `check_general`);
- the body of `casework history` on the long case (`read_case_file`: one read, the chain, the
  history, the state) beside its floor (`select_events` of that case) and the former body
  (verify, then history, then the state: three reads, no snapshots as before);
- a command's load of the long case (`get_case`) with snapshots every `CASEWORK_SNAPSHOT_EVERY`
  events (default 100) beside the same load with snapshots off, on the same store.
Each row prints its ratio to the floor it is measured against; with `--json` (bench/report.py)
one JSON object per row instead, `ratio` being the row's rate over the bare scan's (verify) or
its time over `select_events`' (history, loads).

The history body is read as `read_case_file` reads by default (personal values opened, from a
process that sealed them: their plaintexts are kept in memory); "auditor's view" is what
`casework history` shows by default, personal values as `[personal]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import report
from casework.application import Casework
from casework.audit import VerifyResult
from casework.domain import Actor, Role
from casework.domain.chain import GENESIS
from casework.stored_check import chain_problem, check_general

RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
VOLUNTEER = Actor("volunteer-zhao", Role.VOLUNTEER)


def fill(app: Casework, cases: int, long: int) -> UUID:
    """The repairs, then the long case (its id)."""
    for n in range(cases):
        case_id = app.report_repair(RESIDENT, f"jiayu-xx/wanxin-intl/b12/{n:04d}", "灯", "lighting")
        app.acknowledge(case_id, STAFF, "ok")
        app.assign(case_id, STAFF, VOLUNTEER, "electrician")
        app.add_note(case_id, STAFF, "noted")
    long_case = app.report_repair(
        RESIDENT, "jiayu-xx/wanxin-intl/b12/9999", "门禁坏了", "door_access"
    )
    app.acknowledge(long_case, STAFF, "ok")
    for n in range(long):
        app.add_note(long_case, STAFF, f"visit {n}: still broken")
    return long_case


def bare_scan(app: Casework) -> int:
    start, count = 1, 0
    while page := app.recorder.select_notifications(start=start, limit=1000):
        count += len(page)
        start = page[-1].id + 1
    return count


def former_verify(app: Casework, case_id: UUID) -> VerifyResult:
    """`verify` of one case as it was: its own query, every event through the transcoder."""
    stored = app.recorder.select_events(case_id)
    previous = GENESIS
    for position, event in enumerate(stored, start=1):
        checked = check_general(app.mapper, event)
        problem = (
            chain_problem(checked, previous) if event.originator_version == position else "gap"
        )
        if problem:
            return VerifyResult(case_id, False, len(stored), previous, position, problem)
        previous = checked[1]
    return VerifyResult(case_id, True, len(stored), previous)


def former_verify_all(app: Casework) -> list[VerifyResult]:
    return [former_verify(app, case_id) for case_id in app.case_ids()]


def former_history(app: Casework, case_id: UUID) -> Any:
    """The former body of `casework history`: verify, the history, then the state."""
    check = former_verify(app, case_id)
    entries = app.history(case_id)
    case = app.get_case(case_id)
    return check, entries, case.snapshot()


def history(app: Casework, case_id: UUID, personal: bool = True) -> Any:
    case_file = app.read_case_file(case_id, personal=personal)
    check = case_file.check()
    return check, case_file.history(), case_file.state().snapshot()


def rounds(
    variants: dict[str, Callable[[], Any]], repeat: int, clock: Callable[[], float]
) -> dict[str, float]:
    """Median seconds of each variant, the variants taking turns round after round. `clock`:
    wall clock, or (`--clock cpu`) this process's CPU time, user + system (the SQLite reads
    are in process), which a busy shared box disturbs far less."""
    took: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, work in variants.items():
            start = clock()
            work()
            took[name].append(clock() - start)
    return {name: statistics.median(times) for name, times in took.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--long", type=int, default=999, help="notes on the long case")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    report.add_json_flag(parser)
    args = parser.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    figures: list[report.Figure] = []
    with report.json_mode(args.json), tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        app = Casework(url)
        long_case = fill(app, args.cases, args.long)
        events = bare_scan(app)
        long_events = len(app.recorder.select_events(long_case))
        short_case = next(iter(app.case_ids()))
        unsnapshotted = Casework(url, env={"CASEWORK_SNAPSHOT_EVERY": "0"})
        assert [r.ok for r in app.verify_all()] == [r.ok for r in former_verify_all(app)]
        print(f"{args.cases + 1} cases, {events} events; the long case has {long_events}\n")

        verify = rounds(
            {
                "bare": lambda: bare_scan(app),
                "verify_all": lambda: list(app.verify_all()),
                "former": lambda: former_verify_all(app),
            },
            args.repeat,
            clock,
        )
        print("| what | took | rate | ratio to the bare scan (rate) |\n| --- | --- | --- | --- |")
        bare_rate = events / verify["bare"]
        for name, label in (
            ("bare", "bare scan of the events table (floor)"),
            ("verify_all", "`verify_all`, one pass"),
            ("former", "`verify_all` as it was (per case, transcoder)"),
        ):
            rate = events / verify[name]
            print(
                f"| {label} | {verify[name]:.3f} s | {rate:,.0f} events/s "
                f"| {verify['bare'] / verify[name]:.2f} |"
            )
            figures.append(report.Figure(label, rate, "events/s", bare_rate))

        reading = rounds(
            {
                "select": lambda: app.recorder.select_events(long_case),
                "history": lambda: history(app, long_case),
                "auditor": lambda: history(app, long_case, personal=False),
                "former": lambda: former_history(unsnapshotted, long_case),
                "load, snapshots": lambda: app.repository.get(long_case),
                "load, no snapshots": lambda: unsnapshotted.repository.get(long_case),
                "short, snapshots": lambda: [app.repository.get(short_case) for _ in range(100)],
                "short, no snapshots": lambda: [
                    unsnapshotted.repository.get(short_case) for _ in range(100)
                ],
            },
            args.repeat,
            clock,
        )
        print(
            f"\n| what ({long_events}-event case) | took | × `select_events` |\n| --- | --- | --- |"
        )
        for name, label in (
            ("select", "`select_events` of the case (floor)"),
            ("history", "`history` body, one read"),
            ("auditor", "`history` body, one read, auditor's view (`[personal]`)"),
            ("former", "`history` body as it was (three reads)"),
            ("load, no snapshots", "load for a command, snapshots off"),
            ("load, snapshots", "load for a command, snapshot + tail"),
        ):
            print(
                f"| {label} | {reading[name] * 1000:.1f} ms "
                f"| {reading[name] / reading['select']:.1f}× |"
            )
            figures.append(
                report.Figure(
                    f"{label} ({long_events}-event case)",
                    reading[name] * 1000,
                    "ms",
                    reading["select"] * 1000,
                )
            )
        on, off = reading["short, snapshots"] / 100, reading["short, no snapshots"] / 100
        print("\n| what (5-event case) | took | ratio to snapshots off |\n| --- | --- | --- |")
        print(f"| load for a command, snapshots off | {off * 1000:.2f} ms | 1.00 |")
        print(f"| load for a command, snapshots on | {on * 1000:.2f} ms | {on / off:.2f} |")
        figures.append(
            report.Figure("load for a command, 5-event case", on * 1000, "ms", off * 1000)
        )
        unsnapshotted.close()
        app.close()
    if args.json:
        report.emit(figures, as_json=True)


if __name__ == "__main__":
    main()
