"""`casework rebuild`: every read model rebuilt from the store, with a progress bar.

The read models (the intake's case index and measures, mediation's worklist) are projections of
the case events; the store is the truth. Dispatch keeps no read model on disk: its board is
folded from the store's log in memory at every start. Rebuilding replays the store's
notification log from the start into fresh tables and swaps them in whole, so it is safe beside
running services: they see the old model until the new one is complete (each service's own
rebuild function guarantees that; see `intake.measures.rebuild`).

Each service's rebuild is listed in `REBUILDERS`: a name, where its data lives, and a function
`(app, var_dir, progress) -> Rebuilt`. The command reads the store named by `CASEWORK_STORE` and
the var dir named by `CASEWORK_VAR_DIR`, like every other Casework process.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casework.application import Casework

from casework_stack.progress import Progress
from casework_stack.stack import shown_store

ProgressCallback = Callable[[int, int], None]
"""(notification id reached, the log's last id when the rebuild began)."""


@dataclass(frozen=True)
class Rebuilt:
    service: str
    read_models: tuple[str, ...]
    events: int
    seconds: float
    where: str


def rebuild_intake(app: Casework, var_dir: Path, progress: ProgressCallback) -> Rebuilt:
    from intake.config import Settings
    from intake.measures.rebuild import rebuild

    db_path = Settings().db_path
    report = rebuild(app, db_path, progress=progress)
    return Rebuilt("intake", report.read_models, report.events, report.seconds, str(db_path))


def rebuild_mediation(app: Casework, var_dir: Path, progress: ProgressCallback) -> Rebuilt:
    """The mediators' worklist: a row per dispute, a function of the dispute's latest state."""
    from casework import Dispute
    from mediation.config import Settings
    from mediation.worklist import Worklist

    def refresh(worklist: Worklist, case: object) -> bool:
        return isinstance(case, Dispute) and worklist.refresh(case)

    live = Settings().db_path
    began = time.perf_counter()
    events = rebuild_state_model(app, live, Worklist, refresh, progress)
    return Rebuilt("mediation", ("worklist",), events, time.perf_counter() - began, str(live))


def rebuild_state_model(
    app: Casework,
    live: Path,
    open_model: Callable[[Path], Any],
    refresh: Callable[[Any, object], bool],
    progress: ProgressCallback,
) -> int:
    """Build a state-based read model afresh beside the live file, then swap its tables in.

    For read models whose rows are a function of each case's latest state (the service's own
    class makes and `refresh`es them): every case is loaded and refreshed into a new file, and
    then, in one transaction on the live file, every table of the new file replaces the live
    one's rows, so a running service's readers see the old model or the new one, never half.
    Returns how many events were replayed (the cases' versions added up).
    """
    fresh = live.with_name(f".{live.name}.rebuild.db")
    fresh.unlink(missing_ok=True)
    case_ids = list(app.case_ids())
    events = 0
    model = open_model(fresh)
    try:
        for done, case_id in enumerate(case_ids, 1):
            case = app.get_case(case_id)
            events += case.version
            refresh(model, case)
            progress(done, len(case_ids))
    finally:
        model.close()
    open_model(live).close()  # the live file and its schema exist
    try:
        _swap_tables(live, fresh)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{fresh}{suffix}").unlink(missing_ok=True)
    progress(len(case_ids), len(case_ids))
    return events


def _swap_tables(live: Path, fresh: Path) -> None:
    import sqlite3

    db = sqlite3.connect(live, isolation_level=None, timeout=30)
    try:
        db.execute("attach database ? as fresh", (str(fresh),))
        tables = [
            row[0]
            for row in db.execute(
                "select name from fresh.sqlite_master where type = 'table' "
                "and name not like 'sqlite_%'"
            )
        ]
        db.execute("begin immediate")
        try:
            for table in tables:
                db.execute(f'delete from main."{table}"')
                db.execute(f'insert into main."{table}" select * from fresh."{table}"')
        except BaseException:
            db.execute("rollback")
            raise
        db.execute("commit")
        db.execute("detach database fresh")
    finally:
        db.close()


REBUILDERS: dict[str, tuple[Callable[[Casework, Path, ProgressCallback], Rebuilt], str]] = {
    "intake": (rebuild_intake, "log entries"),
    "mediation": (rebuild_mediation, "cases"),
}
"""Every service that keeps read models, and how to rebuild them."""


def _bar(progress: Progress, name: str, unit: str) -> ProgressCallback:
    def update(reached: int, total: int) -> None:
        progress.bar(f"{name:<10}", reached, total, unit)

    return update


def run_rebuild(args: argparse.Namespace) -> int:
    from casework.settings import store_url, var_dir

    chosen = args.only or sorted(REBUILDERS)
    progress = Progress(io.StringIO() if args.quiet else None)
    began = time.perf_counter()
    store = store_url()
    results: list[Rebuilt] = []
    with Casework(store, read_only=True) as app:  # reads the store, writes read models
        for name in chosen:
            rebuild, unit = REBUILDERS[name]
            results.append(rebuild(app, var_dir(), _bar(progress, name, unit)))
    progress.done()
    seconds = time.perf_counter() - began
    events = sum(r.events for r in results)
    for r in results:
        rate = r.events / r.seconds if r.seconds > 0 else 0.0
        print(
            f"{r.service}: rebuilt {', '.join(r.read_models)} in {r.where}: "
            f"{r.events:,} events in {r.seconds:.2f} s ({rate:,.0f} events/s)"
        )
    if not args.only:
        print(
            "dispatch: nothing to rebuild (its board lives in memory and is rebuilt from the "
            "store at every start)"
        )
    total_rate = events / seconds if seconds > 0 else 0.0
    print(
        f"rebuild: {events:,} events replayed in {seconds:.2f} s, {total_rate:,.0f} events/s "
        f"({len(results)} services' read models; store {shown_store(store)})"
    )
    return 0
