"""Recurring needs on the store (SQLite and PostgreSQL) and a fake clock: each occurrence's task is
raised once when it falls due — with two replicas racing, and after a restart (only the latest
missed occurrence, the others counted) — by `scheduler`, with why; pausing stops occurrences,
resuming owes none for the pause, retiring ends them. And the manager's API for it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework import FakeClock
from dispatch.api import create_app
from dispatch.application import Dispatch, Raised
from dispatch.board import Board
from dispatch.domain.demand import ServiceTask, occurrence_task_id
from dispatch.domain.recurrence import CST
from dispatch.runtime import Runtime
from dispatch.scheduler import Calendar
from dispatch.testing import FLAT, MANAGER, T0, VOLUNTEER_QIAN, Desk, make_settings, small_roster
from fastapi.testclient import TestClient

SATURDAY_9 = datetime.combine(date(2026, 11, 28), time(9), CST)
"""The first Saturday 09:00 after T0 (Tuesday 24 November 2026, 10:00)."""
WEEK = timedelta(days=7)
SECOND = timedelta(seconds=1)
SAT_9 = {"kind": "weekly", "weekdays": ["sat"], "time": "09:00"}


def replica(store_url: str, clock: FakeClock) -> tuple[Dispatch, Calendar]:
    app = Dispatch(store_url, clock=clock)
    return app, Calendar(app, Board(app))


def recurring_need(app: Dispatch, rule: dict[str, Any] | None = None, flat: str = FLAT) -> str:
    need = app.record_demand(
        MANAGER,
        resident_id="r-0302",
        address=flat,
        need="carrying",
        description="82; rice and water carried up",
        recurrence=rule or SAT_9,
    )
    return str(need.id)


def raised_occurrences(app: Dispatch, need_id: str) -> list[Any]:
    return [
        e for e in app.casework.events.get(UUID(need_id)) if type(e).__name__ == "OccurrenceRaised"
    ]


@pytest.fixture
def pair(store_url: str) -> Iterator[tuple[FakeClock, Dispatch, Calendar]]:
    clock = FakeClock(T0)
    app, calendar = replica(store_url, clock)
    small_roster(app)
    yield clock, app, calendar
    app.close()


def test_each_occurrence_is_raised_when_due_once_by_the_scheduler_and_sent_to_a_volunteer(
    pair: tuple[FakeClock, Dispatch, Calendar],
) -> None:
    clock, app, calendar = pair
    need_id = recurring_need(app)
    assert calendar.run_once() == []
    clock.set(SATURDAY_9 - SECOND)
    assert calendar.run_once() == []
    clock.set(SATURDAY_9)
    [raised] = calendar.run_once()
    assert (raised.occurrence, raised.missed, raised.outcome.assigned_to) == (
        SATURDAY_9,
        0,
        VOLUNTEER_QIAN.id,
    )
    assert calendar.run_once() == []  # ticked again at the same moment: nothing more
    task = app.task(raised.outcome.work_id)
    assert task.id == occurrence_task_id(need_id, SATURDAY_9)
    requested = next(iter(app.casework.events.get(task.id)))
    assert (requested.actor_id, requested.actor_role) == ("scheduler", "system")
    assert "2026-11-28 09:00 (UTC+8)" in requested.reason
    [fact] = raised_occurrences(app, need_id)
    assert (fact.actor_id, fact.actor_role, fact.occurrence, fact.missed) == (
        "scheduler",
        "system",
        SATURDAY_9,
        0,
    )
    assert fact.reason.startswith("recurs weekly on sat at 09:00 (UTC+8)")
    assert fact.timestamp == SATURDAY_9
    clock.set(SATURDAY_9 + WEEK + timedelta(minutes=3))
    [second] = calendar.run_once()
    assert second.occurrence == SATURDAY_9 + WEEK
    demand = app.demand(need_id)
    assert (demand.tasks_ordered, demand.last_occurrence) == (2, SATURDAY_9 + WEEK)
    assert demand.next_occurrence() == SATURDAY_9 + 2 * WEEK


def test_two_replicas_ticking_at_the_same_moment_raise_each_occurrence_once(
    store_url: str,
) -> None:
    clock = FakeClock(T0)
    (one, c1), (two, c2) = replica(store_url, clock), replica(store_url, clock)
    try:
        small_roster(one)
        needs = [recurring_need(one, flat=f"{FLAT[:-4]}{n:04d}") for n in range(1, 6)]
        clock.set(SATURDAY_9 + SECOND)
        barrier = threading.Barrier(2)
        results: dict[str, list[Raised]] = {}

        def tick(name: str, calendar: Calendar) -> None:
            barrier.wait()
            results[name] = calendar.run_once()

        threads = [
            threading.Thread(target=tick, args=("one", c1)),
            threading.Thread(target=tick, args=("two", c2)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        raised = results["one"] + results["two"]
        assert sorted(r.demand_id for r in raised) == sorted(needs)
        for need_id in needs:
            assert len(raised_occurrences(one, need_id)) == 1
            assert isinstance(one.task(occurrence_task_id(need_id, SATURDAY_9)), ServiceTask)
        # The volunteer's load counts each assigned task once (max_load 2: the rest wait).
        assigned = [r for r in raised if r.outcome.assigned_to is not None]
        assert len(one.member(VOLUNTEER_QIAN.id).holding) == len(assigned) == 2
        assert c1.run_once() == []
        assert c2.run_once() == []
    finally:
        one.close()
        two.close()


def test_after_a_restart_only_the_latest_missed_occurrence_is_raised_and_the_rest_counted(
    pair: tuple[FakeClock, Dispatch, Calendar], store_url: str
) -> None:
    clock, app, calendar = pair
    need_id = recurring_need(app)
    clock.set(SATURDAY_9)
    assert len(calendar.run_once()) == 1
    # Down for three weeks and a day: three Saturdays pass with nothing running.
    clock.set(SATURDAY_9 + 3 * WEEK + timedelta(days=1))
    restarted, after = replica(store_url, clock)
    try:
        [raised] = after.run_once()
        assert (raised.occurrence, raised.missed) == (SATURDAY_9 + 3 * WEEK, 2)
        assert after.run_once() == []
        facts = raised_occurrences(restarted, need_id)
        assert [f.occurrence for f in facts] == [SATURDAY_9, SATURDAY_9 + 3 * WEEK]
        assert "2 earlier occurrence(s) passed while dispatch was not running" in facts[-1].reason
        assert restarted.demand(need_id).tasks_ordered == 2
        clock.set(SATURDAY_9 + 4 * WEEK)
        assert [r.occurrence for r in after.run_once()] == [SATURDAY_9 + 4 * WEEK]
    finally:
        restarted.close()


def test_a_replica_starting_after_downtime_raises_the_latest_missed_occurrence_at_once(
    store_url: str, tmp_path: Path
) -> None:
    """Not on the first tick_seconds: the loops run their first round as they start."""
    clock = FakeClock(T0)
    app, _ = replica(store_url, clock)
    small_roster(app)
    need_id = recurring_need(app)
    app.close()
    clock.set(SATURDAY_9 + WEEK + timedelta(hours=2))  # two Saturdays passed while down
    runtime = Runtime.build(make_settings(tmp_path, store_url, DISPATCH_TICK_SECONDS=3600), clock)

    async def start_and_stop() -> None:
        await runtime.start()  # built with background=True: the loops run
        await asyncio.sleep(0)  # the loops enter their first round
        await runtime.close()  # waits for the round in flight, then stops

    asyncio.run(start_and_stop())
    reader = Dispatch(store_url, clock=clock)
    try:
        [fact] = raised_occurrences(reader, need_id)
        assert (fact.occurrence, fact.missed, fact.actor_id) == (SATURDAY_9 + WEEK, 1, "scheduler")
    finally:
        reader.close()


def test_paused_needs_raise_nothing_resumed_ones_owe_nothing_and_retired_ones_end(
    pair: tuple[FakeClock, Dispatch, Calendar],
) -> None:
    clock, app, calendar = pair
    need_id = recurring_need(app, {"kind": "every_n_days", "every_days": 2, "time": "16:30"})
    first = datetime.combine(T0.date(), time(16, 30), CST)  # starts today
    clock.set(first)
    assert [r.occurrence for r in calendar.run_once()] == [first]
    app.pause_demand(MANAGER, need_id, "in hospital")
    clock.set(first + timedelta(days=6))
    assert calendar.run_once() == []
    clock.set(first + timedelta(days=6, hours=1))
    app.resume_demand(MANAGER, need_id, "home again")
    assert calendar.run_once() == []  # the occurrences while paused are not owed
    clock.set(first + timedelta(days=8))
    assert [r.occurrence for r in calendar.run_once()] == [first + timedelta(days=8)]
    app.retire_demand(MANAGER, need_id, "moved in with family")
    clock.set(first + timedelta(days=30))
    assert calendar.run_once() == []
    names = [type(e).__name__ for e in app.casework.events.get(UUID(need_id))]
    assert names == [
        "Recorded",
        "RecurrenceSet",
        "OccurrenceRaised",
        "Paused",
        "Resumed",
        "OccurrenceRaised",
        "Retired",
    ]


# ------------------------------------------------------------------ the manager's API


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    clock = FakeClock(T0)
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}")
    with TestClient(create_app(settings, clock, background=False)) as client:
        d = Desk(client, clock, settings)
        small_roster(d.app)
        yield d


NEED = {
    "resident_id": "r-0302",
    "address": FLAT,
    "need": "carrying",
    "description": "82; rice and water carried up",
}


def test_the_manager_sets_pauses_and_resumes_a_recurrence_and_nonsense_is_a_clear_422(
    desk: Desk,
) -> None:
    manager = desk.auth(MANAGER)
    need = desk.post("/demands", manager, {**NEED, "recurrence": SAT_9}, status=201)
    assert need["recurrence"]["words"] == "weekly on sat at 09:00 (UTC+8), from 2026-11-24"
    assert datetime.fromisoformat(need["next_occurrence"]) == SATURDAY_9
    path = f"/demands/{need['id']}"
    changed = desk.client.put(
        f"{path}/recurrence",
        json={
            "recurrence": {"kind": "weekly", "weekdays": ["wed", "sat"], "time": "08:30"},
            "reason": "her daughter asked for Wednesdays too",
        },
        headers=manager,
    )
    assert changed.status_code == 200, changed.text
    assert datetime.fromisoformat(changed.json()["next_occurrence"]) == datetime(
        2026, 11, 25, 8, 30, tzinfo=CST
    )
    paused = desk.post(f"{path}/pause", manager, {"reason": "in hospital"})
    assert (paused["paused"], paused["next_occurrence"]) == (True, None)
    assert (
        desk.client.post(f"{path}/pause", json={"reason": "x"}, headers=manager).status_code == 409
    )
    desk.clock.set(SATURDAY_9 + SECOND)
    assert desk.runtime.calendar.run_once() == []
    resumed = desk.post(f"{path}/resume", manager, {"reason": "home again"})
    assert datetime.fromisoformat(resumed["next_occurrence"]) == datetime(
        2026, 12, 2, 8, 30, tzinfo=CST
    )
    desk.clock.set(datetime(2026, 12, 2, 8, 30, tzinfo=CST))
    [raised] = desk.runtime.calendar.run_once()
    assert raised.outcome.assigned_to == VOLUNTEER_QIAN.id
    shown = desk.get(path, manager)
    assert (shown["tasks_ordered"], shown["last_occurrence"]) == (1, "2026-12-02T08:30:00+08:00")
    tasks = desk.get("/tasks", desk.auth(VOLUNTEER_QIAN))["items"]
    assert [t["id"] for t in tasks] == [raised.outcome.work_id]
    history = desk.get(f"{path}/history", manager)
    assert history["intact"] is True
    assert [(e["event"], e["actor_id"], e["actor_role"]) for e in history["events"]] == [
        ("Recorded", "manager-wang", "property_manager"),
        ("RecurrenceSet", "manager-wang", "property_manager"),
        ("RecurrenceSet", "manager-wang", "property_manager"),
        ("Paused", "manager-wang", "property_manager"),
        ("Resumed", "manager-wang", "property_manager"),
        ("OccurrenceRaised", "scheduler", "system"),
    ]
    reasons = [e["reason"] for e in history["events"]]
    assert reasons[1] == "recurs weekly on sat at 09:00 (UTC+8), from 2026-11-24"
    assert reasons[2:5] == ["her daughter asked for Wednesdays too", "in hospital", "home again"]
    assert "the occurrence of 2026-12-02 08:30 (UTC+8) fell due" in reasons[5]
    events = history["events"]
    assert [e["prev_hash"] for e in events] == ["", *(e["hash"] for e in events[:-1])]
    assert {e["tier"] for e in events} == {""}  # a need is at no tier of a case

    nonsense = [
        {"kind": "weekly", "weekdays": [], "time": "09:00"},
        {"kind": "weekly", "weekdays": ["sat", "sat"], "time": "09:00"},
        {"kind": "weekly", "weekdays": ["sat"], "time": "24:00"},
        {"kind": "every_n_days", "every_days": 0, "time": "09:00"},
        {"kind": "every_n_days", "every_days": 3, "time": "09:00", "weekdays": ["sat"]},
        {"kind": "fortnightly", "time": "09:00"},
        {"kind": "weekly", "weekdays": ["sat"], "time": "09:00", "starts_on": "1999-01-01"},
    ]
    for rule in nonsense:
        answer = desk.client.post("/demands", json={**NEED, "recurrence": rule}, headers=manager)
        assert answer.status_code == 422, (rule, answer.text)
        assert answer.json()["message"], answer.text
    duplicate = desk.client.put(
        f"{path}/recurrence",
        json={"recurrence": {"kind": "weekly", "weekdays": ["sat", "sat"], "time": "09:00"}},
        headers=manager,
    )
    assert duplicate.status_code == 422
    assert "named twice" in duplicate.json()["message"]


def test_only_keepers_of_the_place_change_how_a_need_recurs(desk: Desk) -> None:
    need = desk.post("/demands", desk.auth(MANAGER), NEED, status=201)
    assert need["recurrence"] is None
    assert need["next_occurrence"] is None
    body = {"recurrence": SAT_9}
    auditor = desk.auth("auditor-x", "auditor")
    volunteer = desk.auth(VOLUNTEER_QIAN)
    url = f"/demands/{need['id']}/recurrence"
    assert desk.client.put(url, json=body, headers=auditor).status_code == 403
    assert desk.client.put(url, json=body, headers=volunteer).status_code == 404
    elsewhere = desk.auth("manager-li", "property_manager", "jiayu-xx/other-compound")
    assert desk.client.put(url, json=body, headers=elsewhere).status_code == 404
    assert (
        desk.client.post(
            f"/demands/{need['id']}/pause", json={"reason": "x"}, headers=desk.auth(MANAGER)
        ).status_code
        == 409
    )
