"""What the transparency log costs, beside a bare scan of the events table, in one run.

    uv run python bench/audit.py [--cases 400] [--events 100000] [--store URL]

Two steps build the store (a fresh SQLite file unless `--store` names an empty one):
1. `--cases` repairs through the application (report, acknowledge, assign, add a note: about 6
   events each, one save per command): timed, this is the store's write rate;
2. copies of those cases until the log holds `--events` events, inserted in bulk straight into
   the recorder: each copy gets its own case id and its chain re-hashed for it, so it verifies
   like a real case. Not timed: it only makes a 100k-event log in seconds rather than minutes.

Then, each on the same store and each printed beside the bare scan (every notification read in
pages, nothing decoded: the floor any check over the whole log pays):
- the notary from nothing: every leaf appended (what keeps up with the writes) and a checkpoint;
- 100 more events through the application, then a checkpoint over the whole log: the notary's
  frontier hashes only those 100 (incremental), beside the root recomputed from every leaf (what
  incremental avoids);
- `verify` as today (every case's chain, case by case) and `verify --checkpoint` (the log against
  the signed root and every chain, in one pass), and the log check alone;
- one case's export with its inclusion proofs: the first builds the tree of the checkpoint's
  leaves, which is kept with the store's tables; the next export reuses it.

The four whole-store reads (the scan, `verify`, `verify --checkpoint`, the log check) are run
in turn for `--repeat` rounds (3) and each row is its best; the rest change the store or a
cache, so they run once.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import report
from casework.application import Casework
from casework.domain import Actor, Role
from casework.domain.chain import GENESIS, event_digest
from casework.transparency.chains import ChainWalk
from casework.transparency.exports import build_export
from casework.transparency.merkle import MerkleTree
from casework.transparency.notary import Notary
from casework.transparency.tables import tables_for
from casework.transparency.verify import check_store
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import StoredEvent

RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
VOLUNTEER = Actor("volunteer-zhao", Role.VOLUNTEER)
FIGURES: list[report.Figure] = []
"""Every row printed; the bare scan's (best of the rounds) is the others' baseline (report.py)."""


def fill(app: Casework, cases: int) -> list[UUID]:
    ids = []
    for n in range(cases):
        case_id = app.report_repair(RESIDENT, f"jiayu-xx/wanxin-intl/b12/{n:04d}", "灯", "lighting")
        app.acknowledge(case_id, STAFF, "ok")
        app.assign(case_id, STAFF, VOLUNTEER, "electrician")
        app.add_note(case_id, STAFF, "noted")
        ids.append(case_id)
    return ids


def copy_cases(app: Casework, templates: list[UUID], events: int, batch: int = 5000) -> int:
    """Copies of the template cases, each re-keyed and re-hashed, until the log holds `events`
    events; returns how many were inserted."""
    mapper = app.mapper
    stored = {t: list(app.recorder.select_events(t)) for t in templates}
    decoded = {t: [mapper.transcoder.decode(s.state) for s in rows] for t, rows in stored.items()}
    have, pending, n = count(app), [], 0
    inserted = 0
    while have + inserted + len(pending) < events:
        template = templates[n % len(templates)]
        n += 1
        case_id, previous = uuid4(), GENESIS
        for row, state in zip(stored[template], decoded[template], strict=True):
            state = {**state, "prev_hash": previous}
            state["hash"] = previous = event_digest(
                row.topic, case_id, row.originator_version, state
            )
            pending.append(
                StoredEvent(
                    case_id, row.originator_version, row.topic, mapper.transcoder.encode(state)
                )
            )
        if len(pending) >= batch:
            app.recorder.insert_events(pending)
            inserted, pending = inserted + len(pending), []
    if pending:
        app.recorder.insert_events(pending)
        inserted += len(pending)
    return inserted


def count(app: Casework) -> int:
    start, seen = 1, 0
    while page := app.recorder.select_notifications(start=start, limit=1000):
        seen += len(page)
        start = page[-1].id + 1
    return seen


def row(label: str, took: float, events: int, unit: str = "events") -> None:
    shown = f"{took * 1000:.1f} ms" if took < 0.1 else f"{took:.2f} s"
    rate = events / took
    rated = f"{rate:,.0f}" if rate >= 10 else f"{rate:.2f}"
    print(f"| {label} | {events:,} {unit} | {shown} | {rated} {unit}/s |")
    FIGURES.append(report.Figure(label, rate, f"{unit}/s"))


def timed(label: str, work: Callable[[], Any], events: int, unit: str = "events") -> Any:
    start = time.perf_counter()
    result = work()
    row(label, time.perf_counter() - start, events, unit)
    return result


def rounds(works: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Each work once per round, in turn, `repeat` rounds: the best time of each. Taking turns
    lets a slow spell of the shared box fall on every row alike."""
    best = dict.fromkeys(works, float("inf"))
    for _ in range(repeat):
        for label, work in works.items():
            start = time.perf_counter()
            work()
            best[label] = min(best[label], time.perf_counter() - start)
    return best


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cases", type=int, default=400, help="written through the application")
    parser.add_argument("--events", type=int, default=100_000, help="the log's size, with copies")
    parser.add_argument("--store", help="an empty store; default: a fresh SQLite file")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the read-only rows")
    report.add_json_flag(parser)
    args = parser.parse_args()
    with report.json_mode(args.json), tempfile.TemporaryDirectory() as folder:
        app = Casework(args.store or f"sqlite:///{Path(folder) / 'bench.db'}")
        print(f"load average before: {load()}\n")
        print("| what | over | took | rate |\n| --- | ---: | ---: | ---: |")
        start = time.perf_counter()
        ids = fill(app, args.cases)
        written = count(app)
        row(
            "store writes: repairs through the application (one save per command)",
            time.perf_counter() - start,
            written,
        )
        copy_cases(app, ids, args.events)
        events = count(app)
        key = Ed25519PrivateKey.generate()
        scan = "bare scan of the events table (pages of 1000, nothing decoded)"
        timed(scan, lambda: count(app), events)
        notary = Notary(app, key)
        timed(
            "notary from nothing: every leaf appended, then a checkpoint", notary.checkpoint, events
        )
        for case_id in ids[:25]:
            for _ in range(4):
                app.add_note(case_id, STAFF, "more")
        events += 100
        checkpoint = timed(
            f"notary: 100 more events, checkpoint over {events:,} (incremental)",
            notary.checkpoint,
            100,
        )
        tables = tables_for(app)
        rebuilt = timed(
            f"root recomputed from all {events:,} leaves (the non-incremental way)",
            lambda: MerkleTree(x.digest() for x in tables.leaves(checkpoint.size)).root(),
            events,
        )
        assert rebuilt == checkpoint.root
        walk = ChainWalk()
        check = check_store(app, checkpoint, key.public_key(), walk)
        assert check.ok, check.describe()
        assert all(r.ok for r in walk.results())
        best = rounds(
            {
                scan: lambda: count(app),
                "`verify` today (every chain, case by case)": lambda: list(app.verify_all()),
                "`verify --checkpoint` (the log and every chain, one pass)": lambda: check_store(
                    app, checkpoint, key.public_key(), ChainWalk()
                ),
                "the log check alone (leaves rebuilt from the events, root compared)": (
                    lambda: check_store(app, checkpoint, key.public_key())
                ),
            },
            args.repeat,
        )
        for label, took in best.items():
            row(f"{label}, best of {args.repeat} rounds", took, events)
        timed(
            "export of one case with its proofs (first: the signed tree built)",
            lambda: build_export(app, ids[0]),
            1,
            "export",
        )
        timed(
            "export of another case (the tree kept, as the intake does)",
            lambda: build_export(app, ids[1]),
            1,
            "export",
        )
        print(
            f"\n{args.cases} cases ({written:,} events) written through the application, "
            f"copied to {events:,} events; load average after: {load()}"
        )
        app.close()
    floor = [f for f in FIGURES if f.name.startswith("bare scan")][-1]
    figures = (
        report.Figure(f.name, f.value, f.unit, floor.value if f.unit == floor.unit else None)
        for f in FIGURES
        if f is not floor
    )
    report.emit(figures, args.json, f"ratios to the {floor.name}")


if __name__ == "__main__":
    main()
