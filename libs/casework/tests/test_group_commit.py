"""Group commit (`casework.group_commit`) on a real PostgreSQL: many saves, one transaction, and
still every save's own outcome.

What must hold whatever the interleaving: every save either committed exactly once or failed with
a clash (`IntegrityError`, a `ConcurrencyConflictError` once the command gave up), nothing
committed is lost, a clashing save fails alone (its tracking position with it), case files keep
versions 1..n and verify, and notification ids increase in commit order.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from uuid import UUID, uuid4

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.domain import Actor, Role
from casework.domain.errors import ConcurrencyConflictError, ValidationError
from casework.group_commit import GroupCommitProcessRecorder, _Save
from casework.settings import persistence_env
from eventsourcing.persistence import DataError, IntegrityError, StoredEvent, Tracking
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

START = datetime(2026, 12, 5, 9, 0, tzinfo=timezone(timedelta(hours=8)))
RESIDENT = Actor("resident-0302", Role.RESIDENT)
LEADER = Actor("leader-b12", Role.BUILDING_LEADER)
THREADS = 20


@pytest.fixture
def grouped(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Casework]]:
    """Opens applications with group commit on; closes them all afterwards."""
    monkeypatch.setenv("CASEWORK_GROUP_COMMIT", "1")
    opened: list[Casework] = []

    def open_app(max_attempts: int = 8) -> Casework:
        url = f"{postgres_url}?pool_size={THREADS}&max_overflow=2"
        app = Casework(url, clock=FakeClock(START), max_attempts=max_attempts)
        opened.append(app)
        return app

    yield open_app
    for app in opened:
        app.close()


def _recorder(app: Casework) -> GroupCommitProcessRecorder:
    recorder = app.process_recorder
    assert isinstance(recorder, GroupCommitProcessRecorder)
    return recorder


def _event(aggregate: UUID, version: int, tag: str = "") -> StoredEvent:
    return StoredEvent(aggregate, version, "tests:Happened", f"{aggregate}/{version}{tag}".encode())


def _stored(recorder: GroupCommitProcessRecorder) -> list[tuple[int, str, int, bytes]]:
    rows = recorder.select_notifications(start=None, limit=100_000)
    return [(n.id, str(n.originator_id), n.originator_version, n.state) for n in rows]


# ------------------------------------------------------------------ the setting


def test_the_setting_picks_the_recorder_on_postgresql_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "postgresql://u:p@127.0.0.1:5432/cases"
    monkeypatch.delenv("CASEWORK_GROUP_COMMIT", raising=False)  # on by default
    assert persistence_env(url)["PROCESS_RECORDER_TOPIC"].endswith(":GroupCommitProcessRecorder")
    monkeypatch.setenv("CASEWORK_GROUP_COMMIT", "1")
    assert persistence_env(url)["PROCESS_RECORDER_TOPIC"].endswith(":GroupCommitProcessRecorder")
    sqlite = persistence_env("sqlite:///var/x.db").get("PROCESS_RECORDER_TOPIC", "")
    assert "GroupCommit" not in sqlite  # SQLite's recorder is eventsourcing's (side writes added)
    monkeypatch.setenv("CASEWORK_GROUP_COMMIT", "0")
    assert persistence_env(url)["PROCESS_RECORDER_TOPIC"].endswith(":FailFastProcessRecorder")
    monkeypatch.setenv("CASEWORK_GROUP_COMMIT", "yes please")
    with pytest.raises(ValidationError, match="CASEWORK_GROUP_COMMIT must be 1"):
        persistence_env(url)


# ------------------------------------------------------------------ what shares a batch

_saves = st.lists(
    st.tuples(
        st.sets(st.integers(0, 5), min_size=1, max_size=3),
        st.one_of(st.none(), st.sampled_from(["intake", "dispatch"])),
        st.integers(1, 900),
    ),
    max_size=25,
)


@given(_saves)
def test_batches_never_share_an_aggregate_or_an_upstream_and_keep_each_ones_order(
    plan: list[tuple[set[int], str | None, int]],
) -> None:
    ids = [UUID(int=n + 1) for n in range(6)]
    queue = [
        _Save(
            [_event(ids[a], 1) for a in sorted(aggs)] * (size // len(aggs) or 1),
            Tracking(upstream, 1) if upstream else None,
        )
        for aggs, upstream, size in plan
    ]
    holder = SimpleNamespace(_waiting=list(queue))
    taken_in: dict[int, int] = {}
    round_ = 0
    while holder._waiting:
        batch = GroupCommitProcessRecorder._take(holder)  # type: ignore[arg-type]
        assert batch, "a leader must always make progress"
        aggregates: set[object] = set()
        upstreams: set[str] = set()
        for save in batch:
            assert aggregates.isdisjoint(save.aggregates)
            aggregates |= save.aggregates
            if save.tracking is not None:
                assert save.tracking.application_name not in upstreams
                upstreams.add(save.tracking.application_name)
            taken_in[id(save)] = round_
        round_ += 1
    assert len(taken_in) == len(queue)  # every save taken exactly once
    for i, earlier in enumerate(queue):  # an aggregate's (an upstream's) saves keep their order
        for later in queue[i + 1 :]:
            shares = not earlier.aggregates.isdisjoint(later.aggregates) or (
                earlier.tracking is not None
                and later.tracking is not None
                and earlier.tracking.application_name == later.tracking.application_name
            )
            if shares:
                assert taken_in[id(earlier)] < taken_in[id(later)]


# ------------------------------------------------------------------ one bad save in a batch


@pytest.mark.postgres
def test_a_batch_with_refused_saves_commits_the_others_and_their_positions(
    grouped: Callable[..., Casework],
) -> None:
    recorder = _recorder(grouped())
    taken = uuid4()
    recorder.insert_events([_event(taken, 1)])
    before = _stored(recorder)
    fresh = [uuid4() for _ in range(3)]
    good_one = _Save([_event(fresh[0], 1), _event(fresh[0], 2)], Tracking("intake", 7))
    bad = _Save([_event(fresh[1], 1), _event(taken, 1, "again")], Tracking("dispatch", 3))
    good_two = _Save([_event(fresh[2], 1)], None)
    too_big = _Save([_event(uuid4(), 2**63)], Tracking("mediation", 1))  # beyond bigint

    recorder._write([good_one, bad, good_two, too_big])

    assert isinstance(bad.error, IntegrityError)
    assert isinstance(too_big.error, DataError)
    assert too_big.ids is None
    assert bad.ids is None
    assert good_one.error is None
    assert good_two.error is None
    assert good_one.ids is not None
    assert good_two.ids is not None
    after = _stored(recorder)[len(before) :]
    expected = [(str(fresh[0]), 1), (str(fresh[0]), 2), (str(fresh[2]), 1)]
    assert [(o, v) for _, o, v, _ in after] == expected
    assert [i for i, *_ in after] == [*good_one.ids, *good_two.ids]
    assert recorder.has_tracking_id("intake", 7)
    assert not recorder.has_tracking_id("dispatch", 3)  # the clash took its position with it
    assert not recorder.has_tracking_id("mediation", 1)


# ------------------------------------------------------------------ threads on the recorder


@pytest.mark.postgres
def test_twenty_threads_saving_at_once_each_get_their_own_outcome_in_commit_order(
    grouped: Callable[..., Casework],
) -> None:
    """Each thread saves its own aggregate's versions one after another, and between them tries
    the next version of one shared aggregate, which every thread tries: exactly one wins each
    version (in a batch, or against the store), the rest clash, and nothing else is touched."""
    recorder = _recorder(grouped())
    shared = uuid4()
    rounds = 6
    barrier = threading.Barrier(THREADS)

    def run(n: int) -> tuple[UUID, list[int], dict[int, int]]:
        own = uuid4()
        ids: list[int] = []
        won: dict[int, int] = {}
        barrier.wait()
        for version in range(1, rounds + 1):
            got = recorder.insert_events([_event(own, version)])
            assert got is not None
            ids.extend(got)
            try:
                got = recorder.insert_events([_event(shared, version, f"by {n}")])
            except IntegrityError:
                continue
            assert got is not None
            won[version] = got[0]
            ids.extend(got)
        return own, ids, won

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(run, range(THREADS)))

    stored = _stored(recorder)
    by_id = {i: (o, v) for i, o, v, _ in stored}
    assert len(by_id) == len(stored)
    for own, ids, _ in results:
        assert ids == sorted(ids), "a thread's later save got an earlier notification id"
        assert [by_id[i] for i in ids if by_id[i][0] == str(own)] == [
            (str(own), v) for v in range(1, rounds + 1)
        ]
    winners = [v for _, _, won in results for v in won]
    assert sorted(winners) == list(range(1, rounds + 1)), "each shared version won exactly once"
    shared_rows = [(i, v, s) for i, o, v, s in stored if o == str(shared)]
    assert [v for _, v, _ in shared_rows] == list(range(1, rounds + 1))
    for i, v, state in shared_rows:
        (n,) = [n for n, (_, _, won) in enumerate(results) if won.get(v) == i]
        assert state.endswith(f"by {n}".encode())
    per_aggregate: dict[str, list[int]] = {}
    for _, o, v, _ in stored:
        per_aggregate.setdefault(o, []).append(v)
    assert all(vs == sorted(vs) for vs in per_aggregate.values())
    assert recorder.largest_batch > 1, "twenty threads never shared a transaction"
    assert recorder.batches < 2 * THREADS * rounds  # fewer transactions than saves


# ------------------------------------------------------------------ commands on overlapping cases


@pytest.mark.postgres
@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), cases=st.integers(2, 6))
def test_commands_on_overlapping_cases_commit_once_or_fail_with_a_conflict(
    grouped: Callable[..., Casework], seed: int, cases: int
) -> None:
    # few retries: some commands must give up, on purpose; closed at the end of each example
    # (each app holds a pool of twenty connections: examples must not pile them up)
    app = grouped(max_attempts=2)
    try:
        _race_on_overlapping_cases(app, seed, cases)
    finally:
        app.close()


def _race_on_overlapping_cases(app: Casework, seed: int, cases: int) -> None:
    case_ids = [
        app.report_repair(RESIDENT, f"jiayu-xx/b{n}/0302", "tap drips", "plumbing")
        for n in range(cases)
    ]
    firsts = {c: len(app.history(c)) for c in case_ids}
    plan = random.Random(seed)
    commands = [(plan.choice(case_ids), f"note {n}") for n in range(THREADS * 4)]
    barrier = threading.Barrier(THREADS)

    def run(mine: list[tuple[UUID, str]]) -> list[tuple[UUID, str, bool]]:
        barrier.wait()
        done = []
        for case_id, text in mine:
            try:
                app.add_note(case_id, LEADER, text)
            except ConcurrencyConflictError:
                done.append((case_id, text, False))
            else:
                done.append((case_id, text, True))
        return done

    with ThreadPoolExecutor(THREADS) as pool:
        dealt = pool.map(run, [commands[i::THREADS] for i in range(THREADS)])
        outcomes = [outcome for mine in dealt for outcome in mine]

    assert len(outcomes) == len(commands)
    reader = app
    for case_id in case_ids:
        history = reader.history(case_id)
        assert [e.version for e in history] == list(range(1, len(history) + 1))
        notes = [e.details["text"] for e in history[firsts[case_id] :]]
        accepted = [t for c, t, ok in outcomes if c == case_id and ok]
        assert sorted(notes) == sorted(accepted)  # each accepted once, no refused one
        result = reader.verify(case_id)
        assert result.ok, result.describe()
    stored = _stored(_recorder(reader))
    ids = [i for i, *_ in stored]
    assert ids == sorted(set(ids))
    versions: dict[str, list[int]] = {}
    for _, o, v, _ in stored:
        versions.setdefault(o, []).append(v)
    assert all(vs == sorted(vs) for vs in versions.values())  # a case's order is its id order
