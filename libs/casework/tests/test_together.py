"""`Casework.together` on both stores: the block's saves and its side writes are one commit,
or nothing is written (a side write meeting a unique key fails the events with it)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from casework import Casework
from casework.domain.actors import Actor, Role
from casework.idempotency import Answer, records_for
from casework.side_tables import writes_beside
from casework.testing.postgres import STORE_PARAMS, empty_store_url
from eventsourcing.persistence import IntegrityError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FLAT = "jiayu-xx/wanxin-intl/b12/0302"
RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
ANSWER = Answer(201, [("content-type", "application/json")], b'{"case_id": "c"}')


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return empty_store_url(request.param, request, tmp_path)


@pytest.fixture
def app(store_url: str) -> Iterator[Casework]:
    application = Casework(store_url)
    yield application
    application.close()


def _log(app: Casework) -> list[tuple[UUID, int]]:
    rows = app.recorder.select_notifications(start=None, limit=10_000)
    return [(n.originator_id, n.originator_version) for n in rows]


def _answer_of(app: Casework, scope: str, key: str) -> Any:
    claim = records_for(app).look(scope, key, "fp")
    return None if claim is None else (claim.outcome, claim.answer)


def _report_keeping(
    app: Casework, description: str, keep: Any, case_id: UUID | None = None
) -> None:
    with app.together() as unit:
        app.report_repair(RESIDENT, FLAT, description, "plumbing", case_id=case_id)
        unit.also(keep)


def test_a_report_its_note_and_a_kept_answer_are_one_commit(app: Casework) -> None:
    records = records_for(app)
    with app.together() as unit:
        case_id = app.report_repair(RESIDENT, FLAT, "the tap drips", "plumbing")
        app.add_note(case_id, STAFF, "report taken by phone")
        seen = app.get_case(case_id)  # the block's own, unsaved
        assert (seen.version, seen.note_count) == (app.get_case(case_id).version, 1)
        assert _log(app) == []  # nothing written inside the block
        unit.also(records.kept("r POST /cases", "k-1", "fp", ANSWER))
    assert [v for _, v in _log(app)] == list(range(1, seen.version + 1))
    assert app.get_case(case_id).note_count == 1
    assert _answer_of(app, "r POST /cases", "k-1") == ("replay", ANSWER)


def test_a_side_write_meeting_a_kept_key_leaves_nothing_of_the_block(app: Casework) -> None:
    records = records_for(app)
    with app.together() as unit:
        app.report_repair(RESIDENT, FLAT, "first", "plumbing")
        unit.also(records.kept("r POST /cases", "k-1", "fp", ANSWER))
    before = _log(app)
    other = Answer(201, [], b"another")
    with pytest.raises(IntegrityError):
        _report_keeping(app, "second", records.kept("r POST /cases", "k-1", "fp", other))
    assert _log(app) == before
    assert _answer_of(app, "r POST /cases", "k-1") == ("replay", ANSWER)


def test_a_taken_case_id_leaves_nothing_of_the_block_nor_its_side_write(app: Casework) -> None:
    records = records_for(app)
    case_id = uuid4()
    app.report_repair(RESIDENT, FLAT, "first", "plumbing", case_id=case_id)
    before = _log(app)
    with pytest.raises(IntegrityError):
        _report_keeping(app, "again", records.kept("r POST /cases", "k-2", "fp", ANSWER), case_id)
    assert _log(app) == before
    assert _answer_of(app, "r POST /cases", "k-2") is None


def test_a_block_that_raises_writes_nothing(app: Casework) -> None:
    records = records_for(app)

    def refused() -> None:
        with app.together() as unit:
            app.report_repair(RESIDENT, FLAT, "the tap drips", "plumbing")
            unit.also(records.kept("r POST /cases", "k-3", "fp", ANSWER))
            raise RuntimeError("refused after the work")

    with pytest.raises(RuntimeError, match="refused"):
        refused()
    assert _log(app) == []
    assert _answer_of(app, "r POST /cases", "k-3") is None


def test_side_writes_alone_are_committed_and_blocks_do_not_nest(app: Casework) -> None:
    records = records_for(app)
    with app.together() as unit:
        unit.also(records.kept("r POST /cases", "k-4", "fp", ANSWER))
    assert _log(app) == []
    assert _answer_of(app, "r POST /cases", "k-4") == ("replay", ANSWER)
    with app.together(), pytest.raises(RuntimeError, match="already open"), app.together():
        pass


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(notes=st.integers(0, 3), clash=st.booleans())
def test_what_a_block_commits_is_all_its_events_or_none(
    app: Casework, notes: int, clash: bool
) -> None:
    """Whatever the block saved, a clash on its side write leaves the log as it was; without one
    the log grows by exactly the block's events, in one run of notification ids."""
    records = records_for(app)
    key = uuid4().hex
    if clash:
        with app.together() as unit:
            unit.also(records.kept("r POST /cases", key, "fp", ANSWER))
    before = _log(app)
    try:
        with app.together() as unit:
            case_id = app.report_repair(RESIDENT, FLAT, "the tap drips", "plumbing")
            for n in range(notes):
                app.add_note(case_id, STAFF, f"note {n}")
            version = app.get_case(case_id).version
            unit.also(records.kept("r POST /cases", key, "fp", ANSWER))
    except IntegrityError:
        assert clash
        assert _log(app) == before
        return
    assert not clash
    added = _log(app)[len(before) :]
    assert added == [(case_id, v) for v in range(1, version + 1)]


@pytest.mark.postgres
def test_a_recorder_inserting_through_db_functions_is_refused_side_writes(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """eventsourcing's PostgreSQL recorder with `POSTGRES_ENABLE_DB_FUNCTIONS` inserts through a
    database function and would drop a side write silently: such a store takes none."""
    store_url = empty_store_url("postgres", request, tmp_path)
    monkeypatch.setenv("POSTGRES_ENABLE_DB_FUNCTIONS", "y")
    with Casework(store_url) as app:
        assert app.recorder.datastore.enable_db_functions  # type: ignore[attr-defined]
        assert not writes_beside(app.recorder)
        with pytest.raises(TypeError, match="takes no side writes"), app.together():
            pass


# ------------------------------------------------ a new person's data key, in the block's commit

PHONE = "call me on 13800138000, the tap drips"
"""A report whose description holds a phone number: sealed under the reporter's data key."""


def _key_rows(app: Casework, subject: str) -> int:
    keys: Any = app.privacy.keys
    keys._make_table()
    with keys.datastore.transaction(commit=False) as cursor:
        cursor.execute(
            f"SELECT COUNT(*) AS n FROM {keys.table} WHERE subject = {keys.mark}", (subject,)
        )
        row = cursor.fetchone()
    return int(row["n"])


def _commits(app: Casework, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the store's write transactions from now on (one item each)."""
    datastore = app.recorder.datastore
    transaction = datastore.transaction
    counted: list[int] = []

    def counting(commit: bool = False) -> Any:
        if commit:
            counted.append(1)
        return transaction(commit=commit)

    monkeypatch.setattr(datastore, "transaction", counting)
    return counted


def test_a_new_persons_first_report_and_their_data_key_are_one_commit(
    app: Casework, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    newcomer = Actor("resident-new-0101", Role.RESIDENT)
    app.privacy.keys._make_table()  # type: ignore[attr-defined]  # made once a process
    commits = _commits(app, monkeypatch)
    with app.together():
        case_id = app.report_repair(newcomer, FLAT, PHONE, "plumbing")
        assert commits == []  # the key was not committed ahead of the block's own commit
    assert len(commits) <= 1  # the block's (PostgreSQL's recorder writes without this call)
    assert _key_rows(app, newcomer.id) == 1
    with Casework(store_url) as fresh:  # another process: the key is in the store
        assert fresh.get_case(case_id).description == PHONE


def test_a_refused_block_stores_no_key_for_the_person_it_sealed_for(app: Casework) -> None:
    newcomer = Actor("resident-new-0102", Role.RESIDENT)

    class RefusedError(Exception):
        pass

    def refused_report() -> None:
        with app.together():
            app.report_repair(newcomer, FLAT, PHONE, "plumbing")
            raise RefusedError

    with pytest.raises(RefusedError):
        refused_report()
    assert _key_rows(app, newcomer.id) == 0
    assert _log(app) == []
    case_id = app.report_repair(newcomer, FLAT, PHONE, "plumbing")  # later, on its own
    assert _key_rows(app, newcomer.id) == 1
    assert app.get_case(case_id).description == PHONE


def test_a_block_that_fails_at_its_commit_stores_no_key_and_its_retry_makes_one(
    app: Casework,
) -> None:
    newcomer = Actor("resident-new-0103", Role.RESIDENT)
    records = records_for(app)
    claimed = records.kept("scope", "used", "fp", ANSWER)
    with app.together() as unit:
        unit.also(claimed)

    def report_meeting_the_used_key() -> None:
        with app.together() as unit:
            app.report_repair(newcomer, FLAT, PHONE, "plumbing")
            unit.also(records.kept("scope", "used", "fp", ANSWER))  # met: all refused

    with pytest.raises(IntegrityError):
        report_meeting_the_used_key()
    assert _key_rows(app, newcomer.id) == 0
    with app.together():
        case_id = app.report_repair(newcomer, FLAT, PHONE, "plumbing")
    assert _key_rows(app, newcomer.id) == 1
    assert app.get_case(case_id).description == PHONE


def test_two_writers_making_a_key_for_the_same_new_person_both_keep_theirs(
    store_url: str,
) -> None:
    """Two replicas, each its own process's key store: both blocks see no key, both write
    one; every case opens, and an erasure destroys both."""
    newcomer = Actor("resident-new-0104", Role.RESIDENT)
    both_sealed = threading.Barrier(2, timeout=10)

    def report(app: Casework, flat: str) -> UUID:
        with app.together():
            case_id = app.report_repair(newcomer, flat, PHONE, "plumbing")
            both_sealed.wait()  # each saw no key for them, each made one
        return case_id

    with Casework(store_url) as one, Casework(store_url) as two:
        with ThreadPoolExecutor(2) as pool:
            first_done = pool.submit(report, one, FLAT)
            second_done = pool.submit(report, two, FLAT[:-1] + "1")
            first, second = first_done.result(), second_done.result()
        assert _key_rows(one, newcomer.id) == 2
        with Casework(store_url) as fresh:
            assert fresh.get_case(first).description == PHONE
            assert fresh.get_case(second).description == PHONE


def _made_by_two_threads_at_once(
    monkeypatch: pytest.MonkeyPatch, cls: type, make: Callable[[], object]
) -> list[object]:
    """`make()` in two threads at once, each held once it has built a `cls` until the other
    has too: without a lock around the making, both build one (with it, the second waits and
    takes the first's). The hold is undone before returning."""
    both_made = threading.Barrier(2)
    made = cls.__init__

    def making(self: Any, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        # The other thread makes one too, unless it waits for this one (the lock held).
        with contextlib.suppress(threading.BrokenBarrierError):
            both_made.wait(timeout=1.0)

    monkeypatch.setattr(cls, "__init__", making)
    try:
        with ThreadPoolExecutor(2) as pool:
            return list(pool.map(lambda _: make(), range(2)))
    finally:
        monkeypatch.setattr(cls, "__init__", made)


def test_threads_sealing_their_first_values_at_once_share_one_privacy(
    app: Casework, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The application's `Privacy` (key cache, sealer, opener) is made once, however many
    threads ask for it first. Two made at once were two key caches: a block's new key, made by
    one and stored only at the block's commit, was unknown to the other, which sealed the sealed
    value again under a key of its own (it read back as a token) and cached the first key as
    missing. The threads are held where each has made one, so without the lock both do."""
    import casework.privacy as privacy

    assert "_casework_privacy" not in vars(app)  # made on first use, not yet
    got = _made_by_two_threads_at_once(
        monkeypatch, privacy.Privacy, lambda: privacy.privacy_for(app)
    )
    assert got[0] is got[1] is app.privacy
    ids = [uuid4(), uuid4()]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda i: _report_keeping(app, f"tap {i}", lambda c: None, i), ids))
    for case_id in ids:
        assert app.get_case(case_id).description == f"tap {case_id}"


def test_threads_asking_first_for_the_idempotency_records_share_one(
    app: Casework, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`records_for` makes one `IdempotencyRecords` per application however many threads ask
    first, as `privacy_for` makes one `Privacy` (held as there: without the lock both make one)."""
    import casework.idempotency as idempotency

    assert "_casework_idempotency" not in vars(app)
    got = _made_by_two_threads_at_once(
        monkeypatch, idempotency.IdempotencyRecords, lambda: idempotency.records_for(app)
    )
    assert got[0] is got[1] is idempotency.records_for(app)
