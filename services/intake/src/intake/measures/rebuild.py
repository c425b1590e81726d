"""Rebuild the intake's read models (the measures, and the case index) from the store.

What `casework rebuild` calls, and what to run after changing a definition or losing the
intake's SQLite file. It reads the store's notification log from the start into a fresh SQLite
file beside the live one, then swaps the fresh tables in, in one transaction: a running intake
(or a dashboard) sees the old read model until the new one is whole, never half of one.

The swap also reads, in the same transaction, whatever the store recorded while the rebuild ran,
so the result holds every event stored before the swap. A running intake that follows NATS
therefore finds nothing missing: anything it applied before the swap is in the store and read
again; anything later arrives after the swap and is applied on top (idempotent per version).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from casework import Casework
from casework.contracts import CaseEvent
from casework.files import private_file
from casework.projections.skipped import count_skipped, event_name, skip_unreadable
from casework.projections.sqlite import Scope

from intake import read_model
from intake.feeds import STORE_SOURCE, StoreContracts
from intake.measures import model
from intake.read_model import CaseIndex

Progress = Callable[[int, int], None]
"""Called after each page: (notification id reached, the log's last id when the rebuild began)."""


@dataclass(frozen=True)
class ReadModelTables:
    """How to rebuild one read model: its schema, tables, positions table and apply step."""

    name: str
    schema: str
    tables: tuple[str, ...]
    positions: str
    apply: Callable[[sqlite3.Connection, CaseEvent], int]
    skipped: str
    """The table of the events it could not apply (`casework.projections.skipped`)."""
    rows: str
    """Its table with a row per case and the case's version."""


MEASURES = ReadModelTables(
    "measures",
    model.SCHEMA,
    model.TABLES,
    "measure_positions",
    model.apply_or_skip,
    model.MeasuresModel.SKIPPED_TABLE,
    "measure_cases",
)
CASE_INDEX = ReadModelTables(
    "case index",
    read_model.SCHEMA,
    read_model.TABLES,
    "positions",
    read_model.apply_or_skip,
    read_model.CaseIndex.SKIPPED_TABLE,
    "cases",
)
INTAKE_READ_MODELS = (MEASURES, CASE_INDEX)


@dataclass(frozen=True)
class RebuildReport:
    read_models: tuple[str, ...]
    events: int
    """Case events read from the log (every kind's), including those read during the swap."""
    position: int
    seconds: float
    skipped: int = 0
    """Events the read models could not apply and passed over (each read model's own count)."""

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def rebuild(
    app: Casework,
    db_path: Path,
    *,
    read_models: Sequence[ReadModelTables] = INTAKE_READ_MODELS,
    progress: Progress | None = None,
    batch: int = 1000,
) -> RebuildReport:
    """Replay the whole log into `read_models` and swap them into `db_path` atomically."""
    started = time.perf_counter()
    private_file(db_path)
    fresh_path = db_path.with_name(f".{db_path.name}.rebuild.db")
    fresh_path.unlink(missing_ok=True)
    total = app.recorder.max_notification_id() or 0
    fresh = sqlite3.connect(private_file(fresh_path), isolation_level=None)
    try:
        fresh.execute("pragma journal_mode=off")
        fresh.execute("pragma synchronous=off")
        for rm in read_models:
            _create(fresh, rm)
        fresh.execute("begin")
        events, position = _follow(app, fresh, read_models, 0, batch, progress, total)
        fresh.execute("commit")
    finally:
        fresh.close()
    try:
        more, position = _swap_in(app, db_path, fresh_path, read_models, position, batch)
    finally:
        fresh_path.unlink(missing_ok=True)
    if progress is not None:
        progress(position, max(total, position))
    live = sqlite3.connect(db_path)
    try:
        skipped = sum(count_skipped(live, rm.skipped) for rm in read_models)
    finally:
        live.close()
    return RebuildReport(
        tuple(rm.name for rm in read_models),
        events + more,
        position,
        time.perf_counter() - started,
        skipped,
    )


def _statements(schema: str) -> list[str]:
    return [s.strip() for s in schema.split(";") if s.strip()]


def _create(db: sqlite3.Connection, rm: ReadModelTables) -> None:
    for statement in _statements(rm.schema):
        db.execute(statement)


def _follow(
    app: Casework,
    db: sqlite3.Connection,
    read_models: Sequence[ReadModelTables],
    start: int,
    batch: int,
    progress: Progress | None,
    total: int,
) -> tuple[int, int]:
    """Apply the log after `start` on `db` (inside the caller's transaction)."""
    events = 0
    position = start
    contracts = StoreContracts(app)
    while True:
        page = app.recorder.select_notifications(
            start=position, limit=batch, inclusive_of_start=False
        )
        if not page:
            break
        for notification in page:
            try:
                event = contracts(app.mapper.to_domain_event(notification))
            except Exception as error:  # an event no reader can read: skipped, not a stop
                for rm in read_models:
                    skip_unreadable(
                        db,
                        rm.skipped,
                        rm.name,
                        rm.rows,
                        str(notification.originator_id),
                        notification.originator_version,
                        event_name(notification.topic),
                        error,
                    )
                continue
            if event is None:
                continue
            events += 1
            for rm in read_models:
                rm.apply(db, event)
        position = page[-1].id
        for rm in read_models:
            db.execute(
                f"insert into {rm.positions} values (?, ?) on conflict(source) do update "
                "set position = max(position, excluded.position)",
                (STORE_SOURCE, position),
            )
        if progress is not None:
            progress(position, max(total, position))
    return events, position


def _swap_in(
    app: Casework,
    db_path: Path,
    fresh_path: Path,
    read_models: Sequence[ReadModelTables],
    position: int,
    batch: int,
) -> tuple[int, int]:
    """Replace the live tables with the fresh ones and catch up, all in one transaction."""
    live = sqlite3.connect(db_path, isolation_level=None, timeout=30)
    try:
        live.execute("pragma journal_mode=wal")
        live.execute("attach database ? as fresh", (str(fresh_path),))
        live.execute("begin immediate")
        try:
            for rm in read_models:
                data = [t for t in rm.tables if t != rm.positions]
                for table in data:
                    live.execute(f"drop table if exists main.{table}")
                _create(live, rm)
                for table in data:
                    live.execute(f"insert into main.{table} select * from fresh.{table}")
                # the positions of other feeds (a NATS durable) stay: what they deliver again
                # is ignored per case version, and what they deliver next applies on top
                live.execute(f"delete from main.{rm.positions} where source = ?", (STORE_SOURCE,))
                live.execute(
                    f"insert into main.{rm.positions} values (?, ?)", (STORE_SOURCE, position)
                )
            more, position = _follow(app, live, read_models, position, batch, None, 0)
        except BaseException:
            live.execute("rollback")
            raise
        live.execute("commit")
        live.execute("detach database fresh")
    finally:
        live.close()
    return more, position


def backfill(
    app: Casework, db_path: Path, index: CaseIndex, measures: model.MeasuresModel
) -> RebuildReport | None:
    """Fill empty read models from the store before an intake fed over NATS starts consuming.

    Its durable consumer resumes where it stopped, so a read model added (an upgrade) or lost (a
    deleted `intake.db`) after that would never see the earlier events, and the next event of an
    old case would be refused as a gap. Rebuilding once from the store first closes that gap;
    what the consumer then delivers again is ignored per case version. A store-fed intake needs
    none of this: its feed starts from the lowest position among its read models.
    """
    held, _ = index.list(Scope(everything=True), limit=1)
    if held == 0:
        if not any(True for _ in app.case_ids(batch=100)):
            return None  # a new store: nothing to fill
        return rebuild(app, db_path)
    if measures.holds_cases():
        return None
    return rebuild(app, db_path, read_models=[MEASURES])
