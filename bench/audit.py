"""What the transparency log costs, beside a bare scan of the events table, in one run.

    uv run python bench/audit.py [--cases 2000] [--store sqlite:///path]

Writes `--cases` repairs (report, acknowledge, assign, add a note: about 5 events each) to a
fresh SQLite store (or the one given), then times, each on the same store:
- a bare scan: every notification read in pages, nothing decoded (the floor);
- `verify` of every case (the chains, as `casework verify` does);
- the notary from nothing: every leaf appended and a checkpoint signed;
- the notary over 100 more events (incremental: only those are hashed);
- the log check alone (leaves rebuilt from the events, the root compared), then with every
  chain walked in the same pass (what `casework verify --checkpoint` does);
- one case's export with its inclusion proofs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import report
from casework.application import Casework
from casework.domain import Actor, Role
from casework.transparency.chains import ChainWalk
from casework.transparency.exports import build_export
from casework.transparency.notary import Notary
from casework.transparency.verify import check_store
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
VOLUNTEER = Actor("volunteer-zhao", Role.VOLUNTEER)
FIGURES: list[report.Figure] = []
"""Every timed row; the first (the bare scan) is the others' baseline (bench/report.py)."""


def fill(app: Casework, cases: int) -> list[Any]:
    ids = []
    for n in range(cases):
        case_id = app.report_repair(RESIDENT, f"jiayu-xx/wanxin-intl/b12/{n:04d}", "灯", "lighting")
        app.acknowledge(case_id, STAFF, "ok")
        app.assign(case_id, STAFF, VOLUNTEER, "electrician")
        app.add_note(case_id, STAFF, "noted")
        ids.append(case_id)
    return ids


def timed(label: str, work: Callable[[], Any], events: int) -> Any:
    start = time.perf_counter()
    result = work()
    took = time.perf_counter() - start
    print(f"| {label} | {took:.2f} s | {events / took:,.0f} events/s |")
    FIGURES.append(report.Figure(label, events / took, "events/s"))
    return result


def bare_scan(app: Casework) -> int:
    start, count = 1, 0
    while page := app.recorder.select_notifications(start=start, limit=1000):
        count += len(page)
        start = page[-1].id + 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--store", help="default: a fresh SQLite file in a temporary folder")
    report.add_json_flag(parser)
    args = parser.parse_args()
    with report.json_mode(args.json), tempfile.TemporaryDirectory() as folder:
        app = Casework(args.store or f"sqlite:///{Path(folder) / 'bench.db'}")
        ids = fill(app, args.cases)
        events = bare_scan(app)
        key = Ed25519PrivateKey.generate()
        print(f"{args.cases} cases, {events} events\n")
        print("| what | took | rate |\n| --- | --- | --- |")
        timed("bare scan of the events table", lambda: bare_scan(app), events)
        timed("`verify` (every chain)", lambda: sum(1 for _ in app.verify_all()), events)
        notary = Notary(app, key)
        timed("notary from nothing + checkpoint", notary.checkpoint, events)
        for case_id in ids[:100]:
            app.add_note(case_id, STAFF, "more")
        checkpoint = timed("notary, 100 more events + checkpoint", notary.checkpoint, 100)
        check = timed(
            "`verify --checkpoint` (the log only)",
            lambda: check_store(app, checkpoint, key.public_key()),
            events + 100,
        )
        assert check.ok, check.describe()
        walk = ChainWalk()
        timed(
            "`verify --checkpoint` (the log and every chain, one pass)",
            lambda: check_store(app, checkpoint, key.public_key(), walk),
            events + 100,
        )
        assert all(r.ok for r in walk.results())
        exported = len(app.history(ids[0]))
        timed("export of one case with proofs", lambda: build_export(app, ids[0]), exported)
        app.close()

    floor, *rest = FIGURES
    figures = (report.Figure(f.name, f.value, f.unit, floor.value) for f in rest)
    report.emit(figures, args.json, f"ratios to the {floor.name}")


if __name__ == "__main__":
    main()
