"""Commands per second for a mixed case workload, ours beside bare eventsourcing, same run.

    uv run python bench/store.py [--cases 120] [--repeat 5]
                                 [--stores sqlite,sqlite-ram,postgres] [--durable] [--profile]
    uv run python bench/store.py --concurrent 20 [--cases 120] [--repeat 5] [--durable] [--json]

The workload: repairs (report, acknowledge, assign, start, finish, resolve), leaks (report, two
owner-contact attempts, stop the water, record the cause, resolve) and disputes (report,
acknowledge, convene, hold a round, reach an agreement, resolve), seven in ten cases repairs,
interleaved stage by stage across cases, one writer thread. Every command is one operation.

The baseline is what a bare eventsourcing application does for the same command: load the
aggregate from the store, trigger the same number of events with the same field values (minus
our hash chain), `Application.save`. A second baseline skips the load (save only, the aggregate
kept in memory): the floor of what storing those events costs. Both write exactly as many events
as ours; the script checks it. Each measurement gets a fresh store; the variants take turns,
round after round, and the best of `--repeat` rounds counts ("paired" compares the two within
each round instead, which is steadier when other work shares the machine). "CPU ms/op" is this
process's own CPU time per command: the library's cost, whatever the disk or the server does.

SQLite runs on a file beside the default store (`./var`, the real disk, fsync per commit), and
on /dev/shm (no disk at all: the harshest light on the library's own cost). PostgreSQL is a
throwaway cluster started here (as the test fixture does), with fsync off unless `--durable`;
`CASEWORK_TEST_POSTGRES` points it at a server of your own instead.

`--concurrent N` measures PostgreSQL under N writer threads instead (issue 16): the cases are
dealt out to the threads (no two threads share a case), each thread runs its cases' commands
stage by stage, and a pool of N connections serves each application. Ours with group commit
(`CASEWORK_GROUP_COMMIT=1`, docs/adr/018-group-commit.md) beside ours without it and beside bare
eventsourcing one save per command (the baseline: load, trigger, `Application.save`).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import report
from casework.application import Casework
from casework.domain import Actor, Role
from casework.group_commit import GroupCommitProcessRecorder
from casework.settings import persistence_env
from casework.testing.postgres import (
    TEST_POSTGRES_ENV,
    PostgresServer,
    PostgresUnavailableError,
    fresh_database,
    throwaway_postgres,
)
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate

RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
MANAGER = Actor("manager-wang", Role.PROPERTY_MANAGER)
VOLUNTEER = Actor("volunteer-zhao", Role.VOLUNTEER)
SECRETARY = Actor("secretary-chen", Role.PARTY_SECRETARY)

KIND_MIX = (("repair", 0.70), ("leak", 0.15), ("dispute", 0.15))
STAGES = 6

# --------------------------------------------------------------------------- the baseline


class PlainCase(Aggregate):
    """The same events as a case file, as plain eventsourcing: no hash chain, no rules."""

    @dataclass(frozen=True)
    class Event(Aggregate.Event):
        actor_id: str
        actor_role: str
        tier: str
        reason: str

    @dataclass(frozen=True)
    class Reported(Event, Aggregate.Created):
        kind: str
        address: str
        priority: str
        description: str
        channel: str
        details: dict[str, Any]

    @dataclass(frozen=True)
    class Happened(Event):
        what: str
        details: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            aggregate.last = self.what
            aggregate.details.update(self.details)

    def __init__(self) -> None:
        self.last = "Reported"
        self.details: dict[str, Any] = {}

    @classmethod
    def report(cls, actor: Actor, kind: str, tier: str, **fields: Any) -> PlainCase:
        now = datetime.now(UTC)
        details = fields.pop("details")
        case: PlainCase = cls._create(
            cls.Reported,
            id=uuid4(),
            timestamp=now,
            actor_id=actor.id,
            actor_role=actor.role.value,
            tier=tier,
            reason="",
            kind=kind,
            details=details,
            **fields,
        )
        case.happen(
            "DeadlinesSet",
            actor,
            tier,
            respond_by=(now + timedelta(hours=4)).isoformat(),
            settle_by=(now + timedelta(days=3)).isoformat(),
        )
        return case

    def happen(self, what: str, actor: Actor, tier: str, reason: str = "", **details: Any) -> None:
        self.trigger_event(
            self.Happened,
            timestamp=datetime.now(UTC),
            actor_id=actor.id,
            actor_role=actor.role.value,
            tier=tier,
            reason=reason,
            what=what,
            details=details,
        )


class PlainCases(Application[UUID]):
    """A bare eventsourcing application over `PlainCase`."""

    name = "plain"

    def __init__(self, store: str, *, load: bool = True) -> None:
        super().__init__(env=persistence_env(store))
        self.load = load
        self.kept: dict[UUID, PlainCase] = {}

    def report(self, actor: Actor, kind: str, tier: str, **fields: Any) -> UUID:
        case = PlainCase.report(actor, kind, tier, **fields)
        self.save(case)
        if not self.load:
            self.kept[case.id] = case
        return case.id

    def act(self, case_id: UUID, *events: tuple[str, Actor, str, dict[str, Any]]) -> None:
        """One command: load (unless `load=False`), trigger the events, save."""
        case: PlainCase = self.repository.get(case_id) if self.load else self.kept[case_id]
        for what, actor, tier, details in events:
            case.happen(what, actor, tier, **details)
        self.save(case)


# --------------------------------------------------------------------------- the workload

Step = Callable[[Any, dict[int, Any]], None]


def _later(days: int) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


def _ours(kind: str, n: int) -> list[Step]:
    """The six commands of one case through the Casework application."""
    flat = f"jiayu-xx/wanxin-intl/b{n % 62 + 1}/{n % 20 + 1:02d}02"
    if kind == "repair":
        return [
            lambda app, ids: ids.__setitem__(
                n, app.report_repair(RESIDENT, flat, f"水管漏水 pipe {n} leaking", "plumbing")
            ),
            lambda app, ids: app.acknowledge(ids[n], STAFF, "收到 on our way"),
            lambda app, ids: app.assign(ids[n], MANAGER, VOLUNTEER, "plumber, same building"),
            lambda app, ids: app.start_work(ids[n], VOLUNTEER),
            lambda app, ids: app.finish_work(ids[n], VOLUNTEER, "replaced the washer"),
            lambda app, ids: app.resolve(ids[n], STAFF, "no more drips"),
        ]
    if kind == "leak":
        return [
            lambda app, ids: ids.__setitem__(
                n,
                app.report_leak(
                    RESIDENT,
                    flat,
                    "对门房屋渗水 water under the door opposite",
                    "0402",
                    source_unoccupied=True,
                    reaches_other_flat=True,
                ),
            ),
            lambda app, ids: app.attempt_owner_contact(ids[n], STAFF, "phone", "no_answer"),
            lambda app, ids: app.attempt_owner_contact(ids[n], STAFF, "phone", "reached", "coming"),
            lambda app, ids: app.stop_water(ids[n], STAFF, "owner_closed_valve", "owner came"),
            lambda app, ids: app.record_cause(
                ids[n], STAFF, "worker left a valve open", "wet floor", ["0302"]
            ),
            lambda app, ids: app.resolve(ids[n], STAFF, "water stopped, floor dried"),
        ]
    parties = [
        {"id": "resident-0302", "role": "resident"},
        {"id": "resident-0402", "role": "resident"},
    ]
    return [
        lambda app, ids: ids.__setitem__(
            n,
            app.report_dispute(
                RESIDENT,
                "jiayu-xx/wanxin-intl",
                "充电难 no place to charge e-bikes",
                "ev_charging",
                ["resident-0302", "resident-0402"],
            ),
        ),
        lambda app, ids: app.acknowledge(ids[n], SECRETARY),
        lambda app, ids: ids.__setitem__(
            -n - 1,
            app.convene_mediation(
                ids[n], SECRETARY, "roundtable", _later(1), "compound office", parties
            ),
        ),
        lambda app, ids: app.hold_round(
            ids[n],
            SECRETARY,
            ids[-n - 1],
            ["resident-0302", "resident-0402"],
            "agreed",
            options=["site a", "site b", "site c"],
            tally={"site a": 5, "site b": 2, "site c": 1},
        ),
        lambda app, ids: app.reach_agreement(
            ids[n],
            SECRETARY,
            ids[-n - 1],
            ["a charging shed at site a"],
            [{"who": "property", "what": "build the shed", "due": _later(30).date().isoformat()}],
        ),
        lambda app, ids: app.resolve(ids[n], SECRETARY, "agreement reached"),
    ]


def _plain(kind: str, n: int) -> list[Step]:
    """The same six commands as bare eventsourcing: same events per save, same values."""
    flat = f"jiayu-xx/wanxin-intl/b{n % 62 + 1}/{n % 20 + 1:02d}02"
    b, c = "building", "compound"

    def report(tier: str, address: str, description: str, details: dict[str, Any]) -> Step:
        return lambda app, ids: ids.__setitem__(
            n,
            app.report(
                RESIDENT,
                kind,
                tier,
                address=address,
                priority="routine",
                description=description,
                channel="phone",
                details=details,
            ),
        )

    def act(*events: tuple[str, Actor, str, dict[str, Any]]) -> Step:
        return lambda app, ids: app.act(ids[n], *events)

    if kind == "repair":
        return [
            report(b, flat, f"水管漏水 pipe {n} leaking", {"category": "plumbing"}),
            act(("Acknowledged", STAFF, b, {"reason": "收到 on our way"})),
            act(
                (
                    "Assigned",
                    MANAGER,
                    b,
                    {
                        "reason": "plumber, same building",
                        "assignee_id": VOLUNTEER.id,
                        "assignee_role": VOLUNTEER.role.value,
                    },
                )
            ),
            act(("WorkStarted", VOLUNTEER, b, {})),
            act(("WorkDone", VOLUNTEER, b, {"summary": "replaced the washer"})),
            act(("Resolved", STAFF, b, {"summary": "no more drips"})),
        ]
    if kind == "leak":
        leak = {"source_unit": "0402", "source_unoccupied": True, "reaches_other_flat": True}
        return [
            report(b, flat, "对门房屋渗水 water under the door opposite", leak),
            act(("OwnerContactAttempted", STAFF, b, {"channel": "phone", "outcome": "no_answer"})),
            act(
                (
                    "OwnerContactAttempted",
                    STAFF,
                    b,
                    {"reason": "coming", "channel": "phone", "outcome": "reached"},
                ),
                ("OwnerReached", STAFF, b, {}),
            ),
            act(
                (
                    "WaterStopped",
                    STAFF,
                    b,
                    {"reason": "owner came", "method": "owner_closed_valve"},
                )
            ),
            act(
                (
                    "CauseRecorded",
                    STAFF,
                    b,
                    {
                        "cause": "worker left a valve open",
                        "damage": "wet floor",
                        "damaged_units": ["0302"],
                    },
                )
            ),
            act(("Resolved", STAFF, b, {"summary": "water stopped, floor dried"})),
        ]
    parties = [
        {"id": "resident-0302", "role": "resident"},
        {"id": "resident-0402", "role": "resident"},
    ]
    meeting = uuid4().hex[:12]
    return [
        report(
            c,
            "jiayu-xx/wanxin-intl",
            "充电难 no place to charge e-bikes",
            {"category": "ev_charging", "parties": ["resident-0302", "resident-0402"]},
        ),
        act(("Acknowledged", SECRETARY, c, {})),
        act(
            (
                "MediationConvened",
                SECRETARY,
                c,
                {
                    "meeting_id": meeting,
                    "form": "roundtable",
                    "scheduled_for": _later(1).isoformat(),
                    "place": "compound office",
                    "participants": parties,
                },
            )
        ),
        act(
            (
                "RoundHeld",
                SECRETARY,
                c,
                {
                    "meeting_id": meeting,
                    "round_no": 1,
                    "attendees": ["resident-0302", "resident-0402"],
                    "positions": {},
                    "proposals": [],
                    "options": ["site a", "site b", "site c"],
                    "tally": {"site a": 5, "site b": 2, "site c": 1},
                    "outcome": "agreed",
                },
            )
        ),
        act(
            (
                "AgreementReached",
                SECRETARY,
                c,
                {
                    "meeting_id": meeting,
                    "terms": ["a charging shed at site a"],
                    "commitments": [
                        {
                            "who": "property",
                            "what": "build the shed",
                            "due": _later(30).date().isoformat(),
                        }
                    ],
                },
            )
        ),
        act(("Resolved", SECRETARY, c, {"summary": "agreement reached"})),
    ]


def workload(cases: int, seed: int = 7) -> tuple[list[str], int]:
    """The kinds of the cases, and how many commands they make (six each)."""
    rng = random.Random(seed)
    kinds = [name for name, _ in KIND_MIX]
    weights = [weight for _, weight in KIND_MIX]
    chosen = rng.choices(kinds, weights, k=cases)
    return chosen, cases * STAGES


def _interleaved(kinds: list[str], make: Callable[[str, int], list[Step]]) -> list[Step]:
    """Stage by stage across cases: all reports, then all second commands, and so on."""
    per_case = [make(kind, n) for n, kind in enumerate(kinds)]
    return [steps[stage] for stage in range(STAGES) for steps in per_case]


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    seconds: float
    cpu: float
    ops: int
    events: int

    @property
    def rate(self) -> float:
        return self.ops / self.seconds

    @property
    def cpu_ms_per_op(self) -> float:
        """This process's CPU per command: what the library itself costs, whatever else runs."""
        return self.cpu / self.ops * 1000


def _run(app: Any, steps: list[Step], profile: cProfile.Profile | None = None) -> Run:
    ids: dict[int, Any] = {}
    if profile is not None:
        profile.enable()
    started, cpu_started = time.perf_counter(), time.process_time()
    for step in steps:
        step(app, ids)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if profile is not None:
        profile.disable()
    events = app.recorder.max_notification_id() or 0
    return Run(seconds, cpu, len(steps), events)


StoreFactory = Callable[[], contextlib.AbstractContextManager[str]]


def _once(
    make_app: Callable[[str], Any],
    steps: list[Step],
    fresh_store: StoreFactory,
    profile: cProfile.Profile | None = None,
) -> Run:
    with fresh_store() as url:
        app = make_app(url)
        try:
            return _run(app, steps, profile)
        finally:
            app.close()


def _best_interleaved(
    variants: dict[str, tuple[Callable[[str], Any], Callable[[], list[Step]]]],
    fresh_store: StoreFactory,
    repeat: int,
) -> tuple[dict[str, Run], dict[str, list[Run]]]:
    """Each variant once per round, rounds repeated: drift in the machine's load hits all alike.

    Returns the best run of each variant, and every run by round for paired comparisons.
    """
    best: dict[str, Run] = {}
    rounds: dict[str, list[Run]] = {name: [] for name in variants}
    for _ in range(repeat):
        for name, (make_app, steps_for) in variants.items():
            run = _once(make_app, steps_for(), fresh_store)
            rounds[name].append(run)
            if name not in best or run.rate > best[name].rate:
                best[name] = run
    return best, rounds


def _sqlite_stores(root: Path) -> StoreFactory:
    counter = iter(range(1_000_000))

    @contextlib.contextmanager
    def fresh() -> Iterator[str]:
        path = root / f"bench-{next(counter)}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    return fresh


@contextlib.contextmanager
def _postgres(durable: bool) -> Iterator[PostgresServer]:
    external = os.environ.get(TEST_POSTGRES_ENV)
    if external:
        yield PostgresServer.from_url(external)
        return
    with throwaway_postgres(durable=durable) as server:
        yield server


@dataclass
class Row:
    store: str
    ours: Run
    baseline: Run
    save_only: Run
    paired: float
    """Median over rounds of (ours' time / baseline's time in the same round) - 1, in %."""
    unsealed: Run
    sealing: float
    """Median over rounds of (ours' time / ours-without-sealing's time, same round) - 1, in %."""
    sealing_cpu: float
    """Median over rounds of (ours' CPU ms/op - ours-without-sealing's, same round)."""
    overhead_cpu: float
    """Median over rounds of (ours-without-sealing's CPU ms/op - the baseline's, same round)."""

    def sealing_share_of_overhead(self) -> float:
        """What sealing adds, as a share of what the library cost before it (CPU per command)."""
        before = self.unsealed.cpu_ms_per_op - self.baseline.cpu_ms_per_op
        return (self.ours.cpu_ms_per_op - self.unsealed.cpu_ms_per_op) / before * 100

    def paired_sealing_share(self) -> float:
        """The same share from round-by-round differences: steadier on a shared machine, where
        the best runs of two variants may come from differently loaded moments."""
        return self.sealing_cpu / self.overhead_cpu * 100

    def overhead(self, against: Run) -> float:
        return (against.rate / self.ours.rate - 1) * 100


def bench_store(
    name: str, fresh_store: StoreFactory, kinds: list[str], repeat: int, profile: bool
) -> Row:
    def ours_steps() -> list[Step]:
        return _interleaved(kinds, _ours)

    def plain_steps() -> list[Step]:
        return _interleaved(kinds, _plain)

    variants: dict[str, tuple[Callable[[str], Any], Callable[[], list[Step]]]] = {
        "ours": (Casework, ours_steps),
        "unsealed": (Unsealed, ours_steps),
        "baseline": (PlainCases, plain_steps),
        "save_only": (lambda url: PlainCases(url, load=False), plain_steps),
    }
    # Warm up imports, caches and the server once, unmeasured.
    warm = kinds[: max(3, len(kinds) // 10)]
    _once(Casework, _interleaved(warm, _ours), fresh_store)
    _once(PlainCases, _interleaved(warm, _plain), fresh_store)

    best, rounds = _best_interleaved(variants, fresh_store, repeat)
    ours, baseline, save_only = best["ours"], best["baseline"], best["save_only"]
    unsealed = best["unsealed"]
    sealing = statistics.median(
        (o.seconds / u.seconds - 1) * 100
        for o, u in zip(rounds["ours"], rounds["unsealed"], strict=True)
    )
    paired = statistics.median(
        (o.seconds / b.seconds - 1) * 100
        for o, b in zip(rounds["ours"], rounds["baseline"], strict=True)
    )
    sealing_cpu = statistics.median(
        o.cpu_ms_per_op - u.cpu_ms_per_op
        for o, u in zip(rounds["ours"], rounds["unsealed"], strict=True)
    )
    overhead_cpu = statistics.median(
        u.cpu_ms_per_op - b.cpu_ms_per_op
        for u, b in zip(rounds["unsealed"], rounds["baseline"], strict=True)
    )
    for other in (baseline, save_only):
        if other.events != ours.events:
            raise SystemExit(
                f"{name}: baseline wrote {other.events} events, ours {ours.events}: not equivalent"
            )
    if profile:
        profiler = cProfile.Profile()
        _once(Casework, ours_steps(), fresh_store, profiler)
        print(f"\n--- profile of ours on {name} (cumulative, top 25) ---")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)
        print(f"--- profile of ours on {name} (own time, top 20) ---")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(20)
    return Row(
        name, ours, baseline, save_only, paired, unsealed, sealing, sealing_cpu, overhead_cpu
    )


class Unsealed(Casework):
    """Ours as it was before issue 11: the same commands, personal values stored in plaintext
    (no sealing as events are recorded, none at save); what sealing costs is ours minus this."""

    def storing_hook(self) -> Any:
        return None

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        return Application.save(self, *objs, **kwargs)


def _disk_dir() -> str:
    path = Path(os.environ.get("CASEWORK_VAR_DIR", "var"))
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def _print_table(columns: list[tuple[str, int]], rows: list[list[str]]) -> None:
    """A Markdown table, each column right-aligned to its width."""
    print("| " + " | ".join(f"{title:>{width}}" for title, width in columns) + " |")
    print("|" + "|".join("-" * (width + 2) for _, width in columns) + "|")
    for cells in rows:
        aligned = (f"{cell:>{width}}" for cell, (_, width) in zip(cells, columns, strict=True))
        print("| " + " | ".join(aligned) + " |")


# --------------------------------------------------------------------------- many writers


def _run_concurrent(app: Any, per_thread: list[list[Step]]) -> Run:
    """Every thread's steps at once, released together; wall-clock time until the last ends."""
    barrier = threading.Barrier(len(per_thread) + 1)
    failures: list[BaseException] = []

    def work(steps: list[Step]) -> None:
        ids: dict[int, Any] = {}
        barrier.wait()
        try:
            for step in steps:
                step(app, ids)
        except BaseException as error:  # reported below: a bench must not hide a failure
            failures.append(error)

    threads = [threading.Thread(target=work, args=(steps,)) for steps in per_thread]
    for thread in threads:
        thread.start()
    barrier.wait()
    started, cpu_started = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if failures:
        raise SystemExit(f"a writer thread failed: {failures[0]!r}")
    events = app.recorder.max_notification_id() or 0
    return Run(seconds, cpu, sum(len(steps) for steps in per_thread), events)


def _dealt(kinds: list[str], make: Callable[[str, int], list[Step]], n: int) -> list[list[Step]]:
    """The cases dealt out to `n` threads; each thread's cases interleaved stage by stage."""
    per_case = [make(kind, i) for i, kind in enumerate(kinds)]
    return [[steps[stage] for stage in range(STAGES) for steps in per_case[t::n]] for t in range(n)]


def _grouped(on: bool) -> Callable[[str], Casework]:
    def make(url: str) -> Casework:
        previous = os.environ.get("CASEWORK_GROUP_COMMIT")
        os.environ["CASEWORK_GROUP_COMMIT"] = "1" if on else "0"
        try:
            return Casework(url)
        finally:
            if previous is None:
                os.environ.pop("CASEWORK_GROUP_COMMIT", None)
            else:
                os.environ["CASEWORK_GROUP_COMMIT"] = previous

    return make


def bench_concurrent(
    server: PostgresServer, kinds: list[str], threads: int, repeat: int
) -> dict[str, tuple[Run, list[Run], float]]:
    """Best run of each variant, every run, and (grouped only) saves per transaction."""
    variants: dict[str, tuple[Callable[[str], Any], Callable[[str, int], list[Step]]]] = {
        "grouped": (_grouped(True), _ours),
        "ungrouped": (_grouped(False), _ours),
        "baseline": (PlainCases, _plain),
    }
    pool = {"pool_size": threads, "max_overflow": 2}

    def once(name: str) -> tuple[Run, float]:
        make_app, make_steps = variants[name]
        with fresh_database(server, **pool) as url:
            app = make_app(url)
            try:
                run = _run_concurrent(app, _dealt(kinds, make_steps, threads))
                recorder = app.recorder
                per_batch = (
                    run.ops / recorder.batches
                    if isinstance(recorder, GroupCommitProcessRecorder) and recorder.batches
                    else 1.0
                )
                return run, per_batch
            finally:
                app.close()

    for name in variants:  # warm up imports, caches and the server once, unmeasured
        with fresh_database(server, **pool) as url:
            app = variants[name][0](url)
            try:
                _run_concurrent(app, _dealt(kinds[: threads * 2], variants[name][1], threads))
            finally:
                app.close()
    results: dict[str, tuple[Run, list[Run], float]] = {}
    for _ in range(repeat):
        for name in variants:
            run, per_batch = once(name)
            best, runs, best_batch = results.get(name, (run, [], per_batch))
            if run.rate >= best.rate:
                best, best_batch = run, per_batch
            results[name] = (best, [*runs, run], best_batch)
    events = {name: best.events for name, (best, _, _) in results.items()}
    if len(set(events.values())) != 1:
        raise SystemExit(f"the variants wrote different numbers of events: {events}")
    return results


def main_concurrent(args: argparse.Namespace) -> int:
    """`--concurrent N`: the table (stderr with `--json`), then the figures beside the baseline."""
    kinds, ops = workload(args.cases)
    mix = ", ".join(f"{kinds.count(k)} {k}" for k, _ in KIND_MIX)
    label = "durable" if args.durable else "fsync off"
    with report.json_mode(args.json):
        print(f"machine: {machine()}")
        print(
            f"workload: {args.cases} cases ({mix}), {ops} commands per run on "
            f"{args.concurrent} threads, best of {args.repeat}"
        )
        try:
            with _postgres(args.durable) as server:
                results = bench_concurrent(server, kinds, args.concurrent, args.repeat)
        except PostgresUnavailableError as error:
            print(f"postgres: not measured: {error}", file=sys.stderr)
            return 1
        base = results["baseline"]
        rows = []
        for name in ("grouped", "ungrouped", "baseline"):
            best, runs, per_batch = results[name]
            paired = statistics.median(
                b.seconds / r.seconds for r, b in zip(runs, base[1], strict=True)
            )
            rows.append((name, best, paired, per_batch))
        print()
        _print_table(
            [
                ("postgres, " + label, 20),
                ("writers", 7),
                ("ops/s", 6),
                ("ops/s baseline", 14),
                ("ratio", 5),
                ("paired ratio", 12),
                ("CPU ms/op", 9),
                ("saves/transaction", 17),
            ],
            [
                [
                    name,
                    str(args.concurrent),
                    f"{best.rate:.0f}",
                    f"{base[0].rate:.0f}",
                    f"{best.rate / base[0].rate:.2f}",
                    f"{paired:.2f}",
                    f"{best.cpu_ms_per_op:.2f}",
                    f"{per_batch:.1f}",
                ]
                for name, best, paired, per_batch in rows
            ],
        )
        print(
            "\nratio: best ops/s over the baseline's best; paired: median over rounds of the"
            " baseline's time over this variant's, same round."
        )
    where = f"postgres ({label}), {args.concurrent} writer threads"
    base_name = "bare eventsourcing, one save per command"
    report.emit(
        [
            report.Figure(
                f"{where}: ops/s ours {name} (baseline: {base_name})",
                best.rate,
                "ops/s",
                base[0].rate,
            )
            for name, best, _, _ in rows
            if name != "baseline"
        ],
        args.json,
        "ours beside bare eventsourcing, same run",
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=120, help="cases per run (6 commands each)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement; best counts")
    parser.add_argument(
        "--stores",
        default="sqlite,sqlite-ram,postgres",
        help="comma-separated; sqlite-ram is a SQLite file on /dev/shm (no disk: pure CPU)",
    )
    parser.add_argument("--durable", action="store_true", help="PostgreSQL with fsync on")
    parser.add_argument("--profile", action="store_true", help="cProfile one run of ours")
    parser.add_argument(
        "--concurrent",
        type=int,
        default=0,
        metavar="N",
        help="PostgreSQL only: N writer threads; ours grouped, ungrouped, bare eventsourcing",
    )
    report.add_json_flag(parser)
    args = parser.parse_args(argv)
    if args.concurrent > 0:
        return main_concurrent(args)
    with report.json_mode(args.json):
        rows = measure(args)
    figures: list[report.Figure] = []
    for row in rows:
        base = "bare eventsourcing, same commands"
        figures += [
            report.Figure(
                f"{row.store}: ops/s (baseline: {base})", row.ours.rate, "ops/s", row.baseline.rate
            ),
            report.Figure(
                f"{row.store}: CPU per command (baseline: {base})",
                row.ours.cpu_ms_per_op,
                "ms",
                row.baseline.cpu_ms_per_op,
            ),
        ]
    report.emit(figures, args.json, "ours beside bare eventsourcing, same run")
    return 0


def measure(args: argparse.Namespace) -> list[Row]:
    """Every store's runs; prints the tables; the rows."""

    kinds, ops = workload(args.cases)
    mix = ", ".join(f"{kinds.count(k)} {k}" for k, _ in KIND_MIX)
    print(f"machine: {machine()}")
    print(f"workload: {args.cases} cases ({mix}), {ops} commands per run, best of {args.repeat}")
    rows: list[Row] = []
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    # The SQLite files go beside the default store's (./var), on the real disk, not on a tmpfs.
    with tempfile.TemporaryDirectory(prefix="casework-bench-", dir=_disk_dir()) as root:
        if "sqlite-ram" in stores and Path("/dev/shm").is_dir():
            with tempfile.TemporaryDirectory(prefix="casework-bench-", dir="/dev/shm") as ram:
                rows.append(
                    bench_store(
                        "sqlite on tmpfs",
                        _sqlite_stores(Path(ram)),
                        kinds,
                        args.repeat,
                        args.profile,
                    )
                )
        if "sqlite" in stores:
            rows.append(
                bench_store(
                    "sqlite on disk", _sqlite_stores(Path(root)), kinds, args.repeat, args.profile
                )
            )
        if "postgres" in stores:
            try:
                with _postgres(args.durable) as server:
                    label = "postgres" + (" (durable)" if args.durable else " (fsync off)")
                    rows.append(
                        bench_store(
                            label,
                            lambda: fresh_database(server),
                            kinds,
                            args.repeat,
                            args.profile,
                        )
                    )
            except PostgresUnavailableError as error:
                print(f"postgres: not measured: {error}", file=sys.stderr)

    print()
    columns = [
        ("store", 22),
        ("ops/s ours", 10),
        ("ops/s baseline", 14),
        ("overhead %", 10),
        ("paired overhead %", 17),
        ("CPU ms/op ours", 14),
        ("CPU ms/op baseline", 18),
        ("CPU overhead %", 14),
        ("ops/s save-only", 15),
        ("events", 6),
    ]
    _print_table(
        columns,
        [
            [
                row.store,
                f"{row.ours.rate:.0f}",
                f"{row.baseline.rate:.0f}",
                f"{row.overhead(row.baseline):.1f}",
                f"{row.paired:.1f}",
                f"{row.ours.cpu_ms_per_op:.2f}",
                f"{row.baseline.cpu_ms_per_op:.2f}",
                f"{(row.ours.cpu_ms_per_op / row.baseline.cpu_ms_per_op - 1) * 100:.1f}",
                f"{row.save_only.rate:.0f}",
                f"{row.ours.events}",
            ]
            for row in rows
        ],
    )
    print()
    _print_table(
        [
            ("store", 22),
            ("ops/s unsealed", 14),
            ("ops/s sealed", 12),
            ("CPU ms/op unsealed", 18),
            ("CPU ms/op sealed", 16),
            ("paired sealing cost %", 21),
            ("sealing / overhead %", 20),
            ("paired CPU ms sealing / overhead", 32),
            ("paired sealing / overhead %", 27),
        ],
        [
            [
                row.store,
                f"{row.unsealed.rate:.0f}",
                f"{row.ours.rate:.0f}",
                f"{row.unsealed.cpu_ms_per_op:.2f}",
                f"{row.ours.cpu_ms_per_op:.2f}",
                f"{row.sealing:.1f}",
                f"{row.sealing_share_of_overhead():.1f}",
                f"{row.sealing_cpu:.3f} / {row.overhead_cpu:.3f}",
                f"{row.paired_sealing_share():.1f}",
            ]
            for row in rows
        ],
    )
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
