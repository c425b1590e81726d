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
    skipped: int = 0
    """Events its read models could not apply and passed over (listed on its `/readyz`)."""


def rebuild_intake(app: Casework, var_dir: Path, progress: ProgressCallback) -> Rebuilt:
    from intake.config import Settings
    from intake.measures.rebuild import rebuild

    db_path = Settings().db_path
    report = rebuild(app, db_path, progress=progress)
    return Rebuilt(
        "intake", report.read_models, report.events, report.seconds, str(db_path), report.skipped
    )


def rebuild_mediation(app: Casework, var_dir: Path, progress: ProgressCallback) -> Rebuilt:
    """The mediators' worklist: a row per dispute, a function of the dispute's latest state."""
    from casework import Dispute
    from mediation.config import Settings
    from mediation.feeds import sealed_description
    from mediation.worklist import Worklist

    def refresh(worklist: Worklist, case: object) -> bool:
        # The description as stored (sealed), as the live feed keeps it (docs/adr/011).
        return isinstance(case, Dispute) and worklist.refresh(
            case, description=sealed_description(app, case.id)
        )

    live = Settings().db_path
    began = time.perf_counter()
    events, skipped = rebuild_state_model(app, live, Worklist, refresh, progress)
    return Rebuilt(
        "mediation", ("worklist",), events, time.perf_counter() - began, str(live), skipped
    )


def rebuild_state_model(
    app: Casework,
    live: Path,
    open_model: Callable[[Path], Any],
    refresh: Callable[[Any, object], bool],
    progress: ProgressCallback,
) -> tuple[int, int]:
    """Build a state-based read model afresh beside the live file, then swap its tables in.

    For read models whose rows are a function of each case's latest state (the service's own
    class makes and `refresh`es them): every case is loaded and refreshed into a new file, and
    then, in one transaction on the live file, every table of the new file replaces the live
    one's rows, so a running service's readers see the old model or the new one, never half.
    Returns how many events were replayed (the cases' versions added up) and how many the
    model passed over: a case that cannot be replayed is recorded as skipped at its first
    unreadable event (the model's `record_skipped`) and the rebuild goes on with the next.
    """
    fresh = live.with_name(f".{live.name}.rebuild.db")
    fresh.unlink(missing_ok=True)
    case_ids = list(app.case_ids())
    events = 0
    model = open_model(fresh)
    try:
        for done, case_id in enumerate(case_ids, 1):
            try:
                case = app.get_case(case_id)
            except Exception as error:  # one case's file, not the rebuild's: noted, passed over
                version, event = _first_unreadable(app, case_id)
                model.record_skipped(str(case_id), version, event, error)
            else:
                events += case.version
                refresh(model, case)
            progress(done, len(case_ids))
    finally:
        model.close()
    opened = open_model(live)  # the live file and its schema exist
    opened.close()
    try:
        _swap_tables(live, fresh)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{fresh}{suffix}").unlink(missing_ok=True)
    progress(len(case_ids), len(case_ids))
    counted = open_model(live)
    try:
        skipped = int(counted.skipped_count())
    finally:
        counted.close()
    return events, skipped


def _first_unreadable(app: Casework, case_id: Any) -> tuple[int, str]:
    """The version and event name of the first event of the case that does not decode (or
    else, replayed in order, does not apply), for the record of what was skipped."""
    from casework.projections.skipped import event_name

    case: Any = None
    for stored in app.recorder.select_events(case_id):
        try:
            event: Any = app.mapper.to_domain_event(stored)
            case = event.mutate(case)
        except Exception:
            return stored.originator_version, event_name(stored.topic)
    return 0, "?"


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
        passed = (
            f"; {r.skipped:,} events could not be applied and were passed over (see its "
            "/readyz and the log)"
            if r.skipped
            else ""
        )
        print(
            f"{r.service}: rebuilt {', '.join(r.read_models)} in {r.where}: "
            f"{r.events:,} events in {r.seconds:.2f} s ({rate:,.0f} events/s){passed}"
        )
    if not args.only:
        print(
            "dispatch: nothing to rebuild (its board lives in memory and is rebuilt from the "
            "store at every start)"
        )
    total_rate = events / seconds if seconds > 0 else 0.0
    skipped = sum(r.skipped for r in results)
    print(
        f"rebuild: {events:,} events replayed in {seconds:.2f} s, {total_rate:,.0f} events/s "
        f"({len(results)} services' read models; store {shown_store(store)}); "
        f"{skipped:,} events passed over"
    )
    return 0
