"""The measures agree with the case files, whatever happened to the cases and however the events
arrived: fed one by one, in odd batches, twice over, or replayed by a rebuild, the read model
holds the same rows, and the measures computed from them are what the aggregates themselves say.
Rules that hold for every input (rates within [0, 1], shares summing to one, windows adding up)
are checked on arbitrary rows."""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework import Actor, Casework, CaseworkError, Role
from casework.clock import FakeClock
from casework.contracts import CaseEvent
from casework.domain.case import SETTLED, Status
from casework.kinds import kind_names
from casework.messaging.store_contracts import StoreContracts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from intake.feeds import StoreFeed
from intake.measures.definitions import (
    TIERS,
    VolunteerRecord,
    board_mark,
    compute,
)
from intake.measures.model import CaseRecord, MeasuresModel, TaskRecord, from_us, to_us
from intake.measures.rebuild import MEASURES, backfill, rebuild
from intake.read_model import CaseIndex, GapError
from intake.testing import COMPOUND, FLAT, T0

RESIDENT = Actor("r-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
MANAGER = Actor("mgr-chen", Role.PROPERTY_MANAGER)
VOLUNTEERS = [Actor("vol-wang", Role.VOLUNTEER), Actor("vol-zhou", Role.VOLUNTEER)]

COMMANDS = [
    "acknowledge",
    "assign_staff",
    "assign_volunteer",
    "decline",
    "start",
    "finish",
    "escalate",
    "contact",
    "stop_water",
    "cause",
    "convene",
    "agree",
    "resolve",
    "confirm",
    "reopen",
    "rate",
    "close",
]


def run(app: Casework, case_id: UUID, command: str, pick: int) -> None:
    """One command on a case; `pick` chooses among volunteers and scores."""
    case = app.get_case(case_id)
    worker = case.assignee or STAFF
    volunteer = VOLUNTEERS[pick % len(VOLUNTEERS)]
    actions: dict[str, Callable[[], object]] = {
        "acknowledge": lambda: app.acknowledge(case_id, STAFF),
        "assign_staff": lambda: app.assign(case_id, STAFF, STAFF, "on duty"),
        "assign_volunteer": lambda: app.assign(case_id, STAFF, volunteer, "lives nearby"),
        "decline": lambda: app.decline_assignment(case_id, worker, "away"),
        "start": lambda: app.start_work(case_id, worker),
        "finish": lambda: app.finish_work(case_id, worker, "done"),
        "escalate": lambda: app.escalate(case_id, MANAGER, "outside our powers"),
        "contact": lambda: app.attempt_owner_contact(case_id, STAFF, "phone", "reached"),
        "stop_water": lambda: app.stop_water(case_id, worker, "staff_closed_valve"),
        "cause": lambda: app.record_cause(case_id, STAFF, "valve left open", "", []),
        "convene": lambda: app.convene_mediation(
            case_id, MANAGER, "roundtable", T0, "office", [{"id": "r-0302", "role": "resident"}]
        ),
        "resolve": lambda: app.resolve(case_id, MANAGER, "settled"),
        "confirm": lambda: app.confirm_resolution(case_id, RESIDENT),
        "reopen": lambda: app.reopen(case_id, RESIDENT, "not fixed"),
        "rate": lambda: app.rate_satisfaction(case_id, RESIDENT, 1 + pick % 5),
        "close": lambda: app.close_case(case_id, MANAGER),
    }
    if command == "agree":
        meetings = getattr(case, "meetings", {})
        if meetings:
            app.reach_agreement(case_id, MANAGER, next(iter(meetings)), ["a"], [])
        return
    actions[command]()


def open_case(app: Casework, kind: str) -> UUID:
    if kind == "repair":
        return app.report_repair(RESIDENT, FLAT, "light out", "lighting")
    if kind == "leak":
        return app.report_leak(RESIDENT, FLAT, "water", "0301")
    return app.report_dispute(RESIDENT, COMPOUND, "parking", "parking")


Plan = list[tuple[int, str, int, int]]
plans = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.sampled_from(COMMANDS),
        st.integers(0, 9),
        st.sampled_from([0, 1, 7, 20, 90, 300, 2000]),
    ),
    max_size=30,
)


def play(app: Casework, clock: FakeClock, kinds: list[str], plan: Plan) -> list[UUID]:
    cases = []
    for kind in kinds:
        cases.append(open_case(app, kind))
        clock.advance(timedelta(minutes=3))
    for which, command, pick, minutes in plan:
        clock.advance(timedelta(minutes=minutes))
        with contextlib.suppress(CaseworkError):  # refused commands record nothing
            run(app, cases[which % len(cases)], command, pick)
    return cases


def all_events(app: Casework) -> list[CaseEvent]:
    """Every case event in the store, as the case feed hands it to the read models."""
    contract = StoreContracts(app)
    events = []
    for notification in app.recorder.select_notifications(start=1, limit=100_000):
        event = contract(app.mapper.to_domain_event(notification))
        if event is not None:
            events.append(event)
    return events


def _us(at: datetime | None) -> int | None:
    return None if at is None else to_us(at)


def expected(app: Casework, cases: list[UUID], now_us: int) -> dict[str, Any]:
    """The measures read straight off the aggregates: an oracle independent of the model."""
    open_by = {kind: dict.fromkeys(TIERS, 0) for kind in kind_names()}
    settled_by = dict.fromkeys(TIERS, 0)
    due = on_time = rated = satisfied = reopened = 0
    late = set()
    for case_id in cases:
        case = app.get_case(case_id)
        first = next(e for e in app.history(case_id) if e.event == "DeadlinesSet")
        first_respond_by = to_us(first.details["respond_by"])
        answered = case.acknowledged_at is not None
        if answered or now_us > first_respond_by:
            due += 1
            on_time += answered and to_us(case.acknowledged_at) <= first_respond_by  # type: ignore[arg-type]
        if case.satisfaction is not None:
            rated += 1
            satisfied += case.satisfaction >= 4
        reopened += case.reopen_count > 0
        if case.status in SETTLED:
            assert case.settled_tier is not None
            settled_by[case.settled_tier.value] += 1
            continue
        open_by[case.kind][case.tier.value] += 1
        assert case.respond_by is not None
        assert case.settle_by is not None
        owed = []
        # the ladder's own rule (`escalation_reason`'s first clause, at every tier, the top too)
        if case.awaits_response_at_tier() and now_us > to_us(case.respond_by):
            owed.append("respond")
        # `escalation_reason`'s second clause: a leak's water stopped or a dispute agreed is
        # settled in time at its tier
        if not case.settled_at_this_tier_in_time() and now_us > to_us(case.settle_by):
            owed.append("settle")
        if owed:
            late.add((str(case_id), tuple(owed)))
    return {
        "open_by_kind_tier": open_by,
        "settled_by_tier": settled_by,
        "response": (on_time, due),
        "satisfaction": (satisfied, rated),
        "reopened": reopened,
        "overdue": late,
    }


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kinds=st.lists(st.sampled_from(["repair", "leak", "dispute"]), min_size=1, max_size=4),
    plan=plans,
    cuts=st.lists(st.integers(1, 8), min_size=1, max_size=12),
    later=st.sampled_from([0, 60, 600, 6000]),
)
def test_measures_fed_in_any_batches_equal_a_rebuild_and_what_the_case_files_say(
    kinds: list[str], plan: Plan, cuts: list[int], later: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock(T0)
        app = Casework(f"sqlite:///{Path(tmp) / 'cases.db'}", clock=clock)
        live = MeasuresModel(Path(tmp) / "live.db")
        try:
            cases = play(app, clock, kinds, plan)
            events = all_events(app)
            # incremental: odd batch sizes, each batch delivered twice (a redelivery)
            start, turn = 0, 0
            while start < len(events):
                size = cuts[turn % len(cuts)]
                live.apply(events[start : start + size])
                live.apply(events[max(0, start - 2) : start + size])
                start, turn = start + size, turn + 1
            report = rebuild(app, Path(tmp) / "rebuilt.db", read_models=[MEASURES])
            assert report.events == len(events)
            rebuilt = MeasuresModel(Path(tmp) / "rebuilt.db")
            try:
                assert live.records() == rebuilt.records()
            finally:
                rebuilt.close()

            rows = {c.case_id: c for c in live.records()[0]}
            for case_id in cases:
                case, row = app.get_case(case_id), rows[str(case_id)]
                assert (row.tier, row.entry_tier, row.settled) == (
                    case.tier.value,
                    case.entry_tier.value,
                    case.status in SETTLED,
                )
                assert row.settled_tier == (case.settled_tier and case.settled_tier.value)
                assert (row.rating, row.reopened) == (case.satisfaction, case.reopen_count)
                assert row.first_response_at == _us(case.acknowledged_at)
                assert row.responded_at_tier == _us(case.responded_at_tier)
                assert row.agreed == (case.status is Status.AGREED)
                assert (row.respond_by, row.settle_by) == (
                    _us(case.respond_by),
                    _us(case.settle_by),
                )
                assert row.settled_at == _us(case.resolved_at)
                assert row.water_stopped_at == _us(getattr(case, "water_stopped_at", None))

            now = clock() + timedelta(minutes=later)
            measures = compute(*live.records(), now)
            want = expected(app, cases, to_us(now))
            assert measures.open_by_kind_tier == want["open_by_kind_tier"]
            assert {s.tier: s.count for s in measures.settled_by_tier} == want["settled_by_tier"]
            assert (measures.response.numerator, measures.response.denominator) == want["response"]
            satisfaction = (measures.satisfaction.numerator, measures.satisfaction.denominator)
            assert satisfaction == want["satisfaction"]
            assert measures.reopened == want["reopened"]
            assert {(o.case_id, tuple(o.overdue)) for o in measures.overdue} == want["overdue"]
            assert measures.cases == len(cases)
        finally:
            live.close()
            app.close()


def test_the_store_feed_keeps_the_measures_beside_the_case_index(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=clock)
    index = CaseIndex(tmp_path / "intake.db")
    measures = MeasuresModel(tmp_path / "intake.db")
    feed = StoreFeed(app, index, also=[measures], batch=3)
    case_id = app.report_repair(RESIDENT, FLAT, "light out", "lighting")
    feed.catch_up()
    app.assign(case_id, STAFF, VOLUNTEERS[0], "electrician")
    feed.catch_up()
    cases, tasks = measures.records()
    assert [(c.case_id, c.first_response_at) for c in cases] == [(str(case_id), to_us(T0))]
    assert [(t.assignee_id, t.done_at) for t in tasks] == [("vol-wang", None)]
    # a read model that is behind (e.g. new) is caught up from its own position
    fresh = MeasuresModel(tmp_path / "other.db")
    StoreFeed(app, index, also=[fresh]).catch_up()
    assert fresh.records() == measures.records()
    assert fresh.position("store") == measures.position("store") == index.position("store")
    for closing in (fresh, measures, index, app):
        closing.close()


def test_an_event_ahead_of_its_predecessor_is_refused(tmp_path: Path) -> None:
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=FakeClock(T0))
    model = MeasuresModel(tmp_path / "m.db")
    case_id = app.report_repair(RESIDENT, FLAT, "light out", "lighting")
    app.acknowledge(case_id, STAFF)
    reported, deadlines, acknowledged = all_events(app)
    model.apply([reported])
    with pytest.raises(GapError):
        model.apply([acknowledged])
    assert model.apply([reported, deadlines, acknowledged]) == 2
    model.close()
    app.close()


def test_a_tier_the_case_climbed_to_or_was_reopened_at_owes_its_own_response(
    tmp_path: Path,
) -> None:
    """Assigned at the building, then escalated: the compound has not answered, so once its
    `respond_by` passes the case is overdue to respond (as the scheduler would escalate it),
    while the response rate still reads the first response, made in time."""
    clock = FakeClock(T0)
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=clock)
    model = MeasuresModel(tmp_path / "m.db")
    case_id = app.report_repair(RESIDENT, FLAT, "light out", "lighting")
    app.assign(case_id, STAFF, STAFF, "on duty")
    clock.advance(timedelta(hours=1))
    app.escalate(case_id, MANAGER, "needs the compound's electrician")

    def measured(after: timedelta) -> tuple[set[tuple[str, ...]], tuple[int, int]]:
        model.apply(all_events(app))
        case = app.get_case(case_id)
        assert case.respond_by is not None
        m = compute(*model.records(), case.respond_by + after)
        return {tuple(o.overdue) for o in m.overdue}, (m.response.numerator, m.response.denominator)

    assert app.get_case(case_id).awaits_response_at_tier()
    assert measured(timedelta(0)) == (set(), (1, 1))  # "after" is strict
    assert measured(timedelta(minutes=1)) == ({("respond",)}, (1, 1))
    app.acknowledge(case_id, MANAGER)  # the compound answers
    assert measured(timedelta(minutes=1)) == (set(), (1, 1))

    app.start_work(case_id, STAFF)
    app.finish_work(case_id, STAFF, "replaced")
    app.resolve(case_id, MANAGER, "light works")
    clock.advance(timedelta(days=1))
    app.reopen(case_id, RESIDENT, "flickers again")  # fresh deadlines: a new response owed
    assert measured(timedelta(minutes=1)) == ({("respond",)}, (1, 1))
    app.acknowledge(case_id, STAFF)
    assert measured(timedelta(minutes=1)) == (set(), (1, 1))
    model.close()
    app.close()


def test_an_agreed_dispute_is_not_overdue_to_settle_while_its_commitments_run(
    tmp_path: Path,
) -> None:
    """Agreed at the building: settled there in substance, as the ladder judges it (it will not
    climb), though it is resolved only once its commitments are kept."""
    clock = FakeClock(T0)
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=clock)
    model = MeasuresModel(tmp_path / "m.db")
    case_id = app.report_dispute(
        RESIDENT, FLAT, "drums after 22:00", "noise", ["r-0402"], tier="building"
    )
    meeting = app.convene_mediation(case_id, MANAGER, "building_talk", clock(), "hall", [])
    app.reach_agreement(
        case_id,
        MANAGER,
        meeting,
        ["no drums after 21:00"],
        [{"who": "r-0402", "what": "fit a mat", "due": "2028-01-01"}],  # within 2 years
    )
    case = app.get_case(case_id)
    assert case.settle_by is not None
    later = case.settle_by + timedelta(days=1)
    assert case.escalation_reason(later) is None
    model.apply(all_events(app))
    assert compute(*model.records(), later).overdue == []
    model.close()
    app.close()


def test_work_taken_off_a_volunteer_by_the_manager_is_not_held_against_them(
    tmp_path: Path,
) -> None:
    """退单 (the holder turning work down) counts on the board; the manager taking the work off
    someone who fell ill (`take_off`, recorded by the manager) does not."""
    clock = FakeClock(T0)
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=clock)
    model = MeasuresModel(tmp_path / "m.db")
    ill, unwilling = Actor("vol-ill", Role.VOLUNTEER), Actor("vol-no", Role.VOLUNTEER)
    first = app.report_repair(RESIDENT, FLAT, "light out", "lighting")
    app.assign(first, MANAGER, ill, "electrician nearby")
    case = app.get_case(first)
    case.take_off(MANAGER, clock(), "in hospital this week")
    app.save(case)
    second = app.report_repair(RESIDENT, FLAT, "tap drips", "plumbing")
    app.assign(second, MANAGER, unwilling, "plumber nearby")
    app.decline_assignment(second, unwilling, "not my trade")
    model.apply(all_events(app))
    lines = {v.volunteer_id: v for v in compute(*model.records(), clock()).volunteers}
    assert (lines["vol-ill"].tasks, lines["vol-ill"].declined) == (1, 0)
    assert (lines["vol-no"].tasks, lines["vol-no"].declined) == (1, 1)
    model.close()
    app.close()


def _old_measures_file(path: Path) -> None:
    """A file as an intake before SCHEMA_VERSION 2 left it: no `responded_at_tier`, no version."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(
            "create table measure_cases (case_id text primary key, version integer not null,"
            " kind text not null, first_response_at integer)"
        )
        db.execute("insert into measure_cases values ('c-1', 3, 'repair', 1)")
        db.execute("create table measure_positions (source text primary key, position integer)")
        db.execute("insert into measure_positions values ('store', 99)")
        db.execute("create table contacts (case_id text, phone text)")  # not the measures'
        db.execute("insert into contacts values ('c-1', '138')")


def test_an_older_measures_file_is_dropped_and_refilled_from_the_store(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=clock)
    case_id = app.report_repair(RESIDENT, FLAT, "light out", "lighting")
    app.acknowledge(case_id, STAFF)
    db_path = tmp_path / "intake.db"
    _old_measures_file(db_path)

    measures = MeasuresModel(db_path)
    assert not measures.holds_cases()
    assert measures.position("store") == 0  # so the store feed reads the log again
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        assert db.execute("select * from contacts").fetchall() == [("c-1", "138")]
    index = CaseIndex(db_path)
    StoreFeed(app, index, also=[measures]).catch_up()
    (row,), _ = measures.records()
    assert (row.case_id, row.responded_at_tier) == (str(case_id), to_us(T0))
    again = MeasuresModel(db_path)  # a file of the current version is kept as it is
    assert again.records() == measures.records()
    again.close()

    # fed over NATS: the durable resumes where it stopped, so `backfill` refills at start
    _old_measures_file(other := tmp_path / "nats.db")
    index2, measures2 = CaseIndex(other), MeasuresModel(other)
    StoreFeed(app, index2).catch_up()  # the case index alone is current
    assert backfill(app, other, index2, measures2) is not None
    assert measures2.records() == measures.records()
    for closing in (measures2, index2, index, app):
        closing.close()


# ------------------------------------------------------------- rules for every input

MINUTE = 60_000_000
moments = st.integers(0, 30 * 24 * 60).map(lambda m: to_us(T0) + m * MINUTE)


@st.composite
def case_records(draw: st.DrawFn, case_id: str) -> CaseRecord:
    reported = draw(moments)
    responded = draw(st.none() | st.integers(0, 5000).map(lambda m: reported + m * MINUTE))
    settled = draw(st.booleans())
    tier = draw(st.sampled_from(TIERS))
    return CaseRecord(
        case_id=case_id,
        kind=draw(st.sampled_from(kind_names())),
        priority=draw(st.sampled_from(["routine", "urgent", "emergency"])),
        address=f"{COMPOUND}/b1/0101",
        compound=COMPOUND,
        reported_at=reported,
        entry_tier=tier,
        tier=tier,
        first_respond_by=reported + draw(st.integers(10, 1440)) * MINUTE,
        respond_by=reported + draw(st.integers(10, 1440)) * MINUTE,
        settle_by=reported + draw(st.integers(30, 20000)) * MINUTE,
        first_response_at=responded,
        responded_at_tier=draw(st.none() | st.just(responded)) if responded else None,
        water_stopped_at=draw(st.none() | st.just(reported + MINUTE)),
        agreed=draw(st.booleans()),
        settled=settled,
        settled_at=reported + draw(st.integers(0, 9000)) * MINUTE if settled else None,
        settled_tier=tier if settled else None,
        rating=draw(st.none() | st.integers(1, 5)),
        reopened=draw(st.integers(0, 2)),
        escalations=0,
    )


@st.composite
def populations(draw: st.DrawFn) -> tuple[list[CaseRecord], list[TaskRecord]]:
    count = draw(st.integers(0, 12))
    cases = [draw(case_records(f"case-{n}")) for n in range(count)]
    tasks = []
    for case in cases:
        for task_no in range(1, draw(st.integers(0, 2)) + 1):
            done = draw(st.booleans())
            tasks.append(
                TaskRecord(
                    case_id=case.case_id,
                    task_no=task_no,
                    assignee_id=draw(st.sampled_from(["vol-a", "vol-b", "staff-li"])),
                    assignee_role=draw(st.sampled_from(["volunteer", "property_staff"])),
                    assigned_at=case.reported_at,
                    declined_at=None if done else draw(st.none() | st.just(case.reported_at)),
                    taken_off_at=None,
                    done_at=case.reported_at + MINUTE if done else None,
                    done_on_time=draw(st.booleans()) if done else None,
                    reopened_after_done=done and draw(st.booleans()),
                )
            )
    return cases, tasks


@settings(max_examples=200, deadline=None)
@given(population=populations(), now=moments)
def test_every_rate_lies_in_zero_to_one_and_the_counts_add_up(
    population: tuple[list[CaseRecord], list[TaskRecord]], now: int
) -> None:
    cases, tasks = population
    m = compute(cases, tasks, from_us(now))
    for rate in (m.response, m.resolution, m.satisfaction):
        assert 0 <= rate.numerator <= rate.denominator <= m.cases
        if rate.denominator:
            assert rate.value is not None
            assert 0.0 <= rate.value <= 1.0
        else:
            assert rate.value is None
    settled = sum(s.count for s in m.settled_by_tier)
    assert m.open + settled == m.cases
    assert sum(sum(tiers.values()) for tiers in m.open_by_kind_tier.values()) == m.open
    if settled:
        assert abs(sum(s.share or 0 for s in m.settled_by_tier) - 1) < 1e-9
    assert len(m.overdue) <= m.open
    assert m.resolution.numerator == settled
    for line in m.volunteers:
        assert line.done_on_time <= line.done <= line.tasks
        assert line.declined + line.done <= line.tasks
        assert line.ratings <= line.done


@settings(max_examples=150, deadline=None)
@given(population=populations(), split=moments, now=moments)
def test_two_adjacent_windows_add_up_to_their_union(
    population: tuple[list[CaseRecord], list[TaskRecord]], split: int, now: int
) -> None:
    cases, tasks = population
    at = from_us(now)
    whole = compute(cases, tasks, at)
    before = compute([c for c in cases if c.reported_at < split], tasks, at)
    after = compute([c for c in cases if c.reported_at >= split], tasks, at)
    assert before.cases + after.cases == whole.cases
    for name in ("response", "resolution", "satisfaction"):
        parts = [getattr(m, name) for m in (before, after)]
        total = getattr(whole, name)
        assert sum(p.numerator for p in parts) == total.numerator
        assert sum(p.denominator for p in parts) == total.denominator
    assert len(before.overdue) + len(after.overdue) == len(whole.overdue)
    assert before.reopened + after.reopened == whole.reopened
    board = {v.volunteer_id: v for v in whole.volunteers}
    for side in (before, after):
        for line in side.volunteers:
            assert line.tasks <= board[line.volunteer_id].tasks


@pytest.mark.parametrize(
    ("done", "on_time", "declined", "average", "reopened", "mark"),
    [
        (3, 3, 0, 4.7, 0, "red"),
        (5, 4, 1, None, 0, "red"),  # unrated, 80% on time
        (5, 3, 0, 5.0, 0, None),  # 60% on time: neither
        (2, 2, 0, 4.5, 1, None),  # the work came back: not red
        (4, 1, 0, 5.0, 0, "black"),  # 25% on time
        (3, 3, 0, 2.0, 0, "black"),  # residents unhappy
        (0, 0, 2, None, 0, "black"),  # turned down two, did none
        (0, 0, 1, None, 0, None),  # one refusal is not a record
        (1, 1, 2, 5.0, 0, "black"),  # more refused than done
    ],
)
def test_the_service_board_marks_red_and_black_by_its_thresholds(
    done: int, on_time: int, declined: int, average: float | None, reopened: int, mark: str | None
) -> None:
    record = VolunteerRecord(
        volunteer_id="vol-wang",
        tasks=done + declined,
        declined=declined,
        done=done,
        done_on_time=on_time,
        reopened=reopened,
        ratings=0 if average is None else 1,
        average_rating=average,
    )
    assert board_mark(record) == mark
