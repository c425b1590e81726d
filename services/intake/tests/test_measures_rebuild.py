"""Rebuilding the intake's read models from the store (what `casework rebuild` runs): the result
equals what the live feed built, events recorded while it runs are not lost, other feeds'
positions survive, and a reader holding the file open sees the old tables or the new, whole."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from casework import Actor, Casework, Role
from casework.clock import FakeClock
from casework.projections.sqlite import Scope
from casework.testing.stories import every_story
from intake.feeds import StoreFeed
from intake.measures import rebuild as rebuild_module
from intake.measures.model import MeasuresModel
from intake.measures.rebuild import rebuild
from intake.read_model import CaseIndex
from intake.testing import FLAT, T0

STAFF = Actor("staff-li", Role.PROPERTY_STAFF)


def story_store(tmp_path: Path) -> tuple[Casework, FakeClock]:
    clock = FakeClock(T0)
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=clock)
    every_story(app, clock)
    return app, clock


def test_a_rebuild_equals_what_the_live_feed_built_and_reports_its_progress(
    tmp_path: Path,
) -> None:
    app, _ = story_store(tmp_path)
    index, measures = CaseIndex(tmp_path / "live.db"), MeasuresModel(tmp_path / "live.db")
    StoreFeed(app, index, also=[measures]).catch_up()
    seen: list[tuple[int, int]] = []
    report = rebuild(
        app, tmp_path / "rebuilt.db", progress=lambda at, of: seen.append((at, of)), batch=7
    )
    total = app.recorder.max_notification_id()
    assert total is not None
    assert report.events == total  # every notification of this store is a case event
    assert report.position == total
    assert report.read_models == ("measures", "case index")
    assert report.events_per_second > 0
    assert seen[-1] == (total, total)
    assert [at for at, _ in seen] == sorted(at for at, _ in seen)
    assert len(seen) >= total // 7
    again_index = CaseIndex(tmp_path / "rebuilt.db")
    again = MeasuresModel(tmp_path / "rebuilt.db")
    assert again.records() == measures.records()
    assert again_index.list(Scope(everything=True)) == index.list(Scope(everything=True))
    assert again.position("store") == again_index.position("store") == total
    assert not list(tmp_path.glob(".*rebuild*"))  # the scratch file is gone
    for closing in (again, again_index, measures, index, app):
        closing.close()


def test_events_recorded_during_a_rebuild_are_in_its_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = story_store(tmp_path)
    late = app.report_repair(STAFF, FLAT, "a report during the rebuild", "lighting")
    before_swap = app.recorder.max_notification_id() or 0
    swap = rebuild_module._swap_in

    def store_moves_on_before_the_swap(*args: Any) -> tuple[int, int]:
        app.acknowledge(late, STAFF)  # recorded after the replay read the log, before the swap
        return swap(*args)

    monkeypatch.setattr(rebuild_module, "_swap_in", store_moves_on_before_the_swap)
    report = rebuild(app, tmp_path / "intake.db", batch=5)
    assert report.position == before_swap + 1
    assert report.events == before_swap + 1
    rows = {c.case_id: c for c in MeasuresModel(tmp_path / "intake.db").records()[0]}
    assert rows[str(late)].first_response_at is not None
    app.close()


def test_a_rebuild_keeps_other_feeds_positions_and_a_reader_sees_the_new_tables(
    tmp_path: Path,
) -> None:
    app, _ = story_store(tmp_path)
    reader = MeasuresModel(tmp_path / "intake.db")  # a running intake's connection
    reader.apply([], "intake-case-index", 41)  # the NATS durable's position
    assert reader.records() == ([], [])
    rebuild(app, tmp_path / "intake.db")
    cases, tasks = reader.records()
    assert len(cases) == 5
    assert [t.assignee_id for t in tasks].count("volunteer-wang") == 2
    assert reader.position("intake-case-index") == 41
    assert reader.position("store") == app.recorder.max_notification_id()
    # and the model keeps being fed on top, idempotently
    assert reader.apply([]) == 0
    reader.close()
    app.close()


def test_rebuilding_an_empty_store_gives_empty_read_models(tmp_path: Path) -> None:
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=FakeClock(T0))
    report = rebuild(app, tmp_path / "var" / "intake.db")
    assert (report.events, report.position) == (0, 0)
    assert MeasuresModel(tmp_path / "var" / "intake.db").records() == ([], [])
    app.close()
