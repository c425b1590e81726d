"""`casework rebuild`: every read model rebuilt from the store, with a progress bar.

The read models (the intake's case index and measures, and whatever the other services keep)
are projections of the case events; the store is the truth. Rebuilding replays the store's
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


REBUILDERS: dict[str, Callable[[Casework, Path, ProgressCallback], Rebuilt]] = {
    "intake": rebuild_intake,
}
"""Every service that keeps read models, and how to rebuild them."""


def _bar(progress: Progress, name: str) -> ProgressCallback:
    def update(reached: int, total: int) -> None:
        progress.bar(f"{name:<10}", reached, total, "log entries")

    return update


def run_rebuild(args: argparse.Namespace) -> int:
    from casework.settings import store_url, var_dir

    chosen = args.only or sorted(REBUILDERS)
    progress = Progress(io.StringIO() if args.quiet else None)
    began = time.perf_counter()
    store = store_url()
    results: list[Rebuilt] = []
    with Casework(store) as app:
        for name in chosen:
            results.append(REBUILDERS[name](app, var_dir(), _bar(progress, name)))
    progress.done()
    seconds = time.perf_counter() - began
    events = sum(r.events for r in results)
    for r in results:
        rate = r.events / r.seconds if r.seconds > 0 else 0.0
        print(
            f"{r.service}: rebuilt {', '.join(r.read_models)} in {r.where}: "
            f"{r.events:,} events in {r.seconds:.2f} s ({rate:,.0f} events/s)"
        )
    total_rate = events / seconds if seconds > 0 else 0.0
    print(
        f"rebuild: {events:,} events replayed in {seconds:.2f} s, {total_rate:,.0f} events/s "
        f"(store {shown_store(store)})"
    )
    return 0
