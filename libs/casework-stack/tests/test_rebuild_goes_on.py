"""`casework rebuild` never aborts on one event: what it cannot apply it records, passes over
and counts in its summary (issue 10 §4: it once stopped with an OverflowError)."""

from __future__ import annotations

import argparse
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from casework import Actor, Casework, Dispute, FakeClock, Role
from casework.domain.repair import Repair
from casework.testing.unchecked import record_unchecked
from casework_stack.rebuild import run_rebuild
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8)))
RESIDENT = Actor("r-0302", Role.RESIDENT)
MANAGER = Actor("pm-wang", Role.PROPERTY_MANAGER)
COMPOUND = "jiayu-xx/wanxin-intl"


def skipped(db: Path, table: str) -> list[tuple[str, int, str]]:
    with sqlite3.connect(db) as connection:
        rows = connection.execute(f"select case_id, version, event from {table}").fetchall()
    return sorted((str(c), int(v), str(e)) for c, v, e in rows)


def test_rebuild_records_what_it_cannot_apply_and_goes_on_with_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'cases.db'}"
    app = Casework(store, clock=FakeClock(T0))
    absurd = app.report_dispute(RESIDENT, COMPOUND, "fees doubled", "fees")
    meeting = app.convene_mediation(
        absurd, MANAGER, "roundtable", T0 + timedelta(days=1), "hall", []
    )
    moved = record_unchecked(
        app,
        absurd,
        Dispute.MeetingRescheduled,
        timestamp=T0,
        actor_id=MANAGER.id,
        actor_role=MANAGER.role.value,
        meeting_id=meeting,
        scheduled_for=datetime.fromisoformat("0001-01-01T01:01:05+20:40"),
        place="hall",
    )
    broken = app.report_repair(RESIDENT, f"{COMPOUND}/b12/0302", "tap drips", "plumbing")
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=broken,
                originator_version=3,
                topic=get_topic(Repair.NoteAdded),
                state=b"{ not json",
            )
        ]
    )
    healthy = app.report_dispute(RESIDENT, COMPOUND, "cars on the green", "parking")
    app.close()
    var = tmp_path / "var"
    monkeypatch.setenv("CASEWORK_STORE", store)
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(var))

    assert run_rebuild(argparse.Namespace(only=None, quiet=True)) == 0

    summary = capsys.readouterr().out
    assert "intake: rebuilt" in summary
    assert "mediation: rebuilt worklist" in summary
    assert "2 events could not be applied and were passed over" in summary  # each service's
    assert summary.rstrip().endswith("4 events passed over")
    assert skipped(var / "mediation.db", "worklist_skipped") == sorted(
        [(str(absurd), moved, "Dispute"), (str(broken), 3, "Repair.NoteAdded")]
    )
    for table in ("case_index_skipped", "measure_skipped"):
        assert skipped(var / "intake.db", table) == [(str(broken), 3, "Repair.NoteAdded")]
    with sqlite3.connect(var / "mediation.db") as connection:
        rows = {r[0] for r in connection.execute("select case_id from disputes")}
    assert str(healthy) in rows  # behind both, rebuilt
    with sqlite3.connect(var / "intake.db") as connection:
        versions = dict(connection.execute("select case_id, version from cases").fetchall())
    assert versions[str(broken)] == 3  # moved on past the event it passed over
    assert versions[str(absurd)] == moved  # the intake's index could apply that one
