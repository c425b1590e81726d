"""Idempotency records on both stores: one claimant per key, the first answer kept and read
back, a different request under a key refused, failed claims freed, old records purged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from casework import Casework
from casework.domain.actors import Actor, Role
from casework.idempotency import IN_FLIGHT_LEASE, KEEP, Answer, IdempotencyRecords, records_for
from casework.privacy import privacy_for
from casework.privacy.people import erase
from casework.testing.postgres import STORE_PARAMS, empty_store_url
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite and PostgreSQL (this folder's conftest has a SQLite-only one)."""
    return empty_store_url(request.param, request, tmp_path)


@pytest.fixture
def app(store_url: str) -> Iterator[Casework]:
    application = Casework(store_url)
    yield application
    application.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


ANSWER = Answer(201, [("content-type", "application/json"), ("location", "/cases/c-1")], b"{}")


def test_a_finished_claim_is_replayed_with_its_answer_and_refused_for_another_request(
    app: Casework,
) -> None:
    records = records_for(app)
    assert records_for(app) is records  # one per application: one table check, one purge clock

    assert records.claim("r-1 POST /cases", "k-1", "body-a").outcome == "started"
    assert records.claim("r-1 POST /cases", "k-1", "body-a").outcome == "in_flight"
    records.finish("r-1 POST /cases", "k-1", ANSWER)

    replay = records.claim("r-1 POST /cases", "k-1", "body-a")
    assert (replay.outcome, replay.answer) == ("replay", ANSWER)
    assert records.claim("r-1 POST /cases", "k-1", "body-b").outcome == "mismatch"
    # The same key is another key for another caller or path.
    assert records.claim("r-2 POST /cases", "k-1", "body-b").outcome == "started"


def test_an_abandoned_claim_lets_a_retry_start_again(app: Casework) -> None:
    records = records_for(app)
    assert records.claim("s", "k", "f").outcome == "started"
    records.abandon("s", "k")
    assert records.claim("s", "k", "f").outcome == "started"
    records.finish("s", "k", ANSWER)
    records.abandon("s", "k")  # a finished answer is never forgotten by a late abandon
    assert records.claim("s", "k", "f").outcome == "replay"


def test_a_claim_whose_process_died_is_taken_over_after_its_lease(app: Casework) -> None:
    clock = Clock()
    records = IdempotencyRecords(
        app.recorder.datastore,  # type: ignore[attr-defined]
        privacy_for(app).keys,
        now=clock,
    )
    assert records.claim("s", "k", "f").outcome == "started"
    clock.now += IN_FLIGHT_LEASE - 1
    assert records.claim("s", "k", "f").outcome == "in_flight"
    clock.now += 2
    assert records.claim("s", "k", "f").outcome == "started"
    assert records.claim("s", "k", "f").outcome == "in_flight"


def test_records_are_kept_a_day_then_purged(app: Casework) -> None:
    clock = Clock()
    records = IdempotencyRecords(
        app.recorder.datastore,  # type: ignore[attr-defined]
        privacy_for(app).keys,
        now=clock,
    )
    records.claim("s", "old", "f")
    records.finish("s", "old", ANSWER)
    clock.now += KEEP - 60
    records.claim("s", "new", "f")
    records.finish("s", "new", ANSWER)
    assert records.purge() == 0
    clock.now += 120
    assert records.purge() == 1
    assert records.claim("s", "old", "f").outcome == "started"  # forgotten: a new request
    assert records.claim("s", "new", "f").outcome == "replay"


def test_of_many_simultaneous_claims_of_one_key_exactly_one_starts(app: Casework) -> None:
    records = records_for(app)
    records.claim("warm", "up", "f")  # the table exists before the race
    barrier = threading.Barrier(8)

    def claim(_: int) -> str:
        barrier.wait()
        return records.claim("r-1 POST /cases", "same", "f").outcome

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(claim, range(8)))
    assert sorted(outcomes) == ["in_flight"] * 7 + ["started"]


def test_two_applications_on_one_store_share_the_records(store_url: str) -> None:
    first, second = Casework(store_url), Casework(store_url)
    try:
        assert records_for(first).claim("s", "k", "f").outcome == "started"
        assert records_for(second).claim("s", "k", "f").outcome == "in_flight"
        records_for(first).finish("s", "k", ANSWER)
        assert records_for(second).claim("s", "k", "f").answer == ANSWER
    finally:
        first.close()
        second.close()


_bodies = st.binary(max_size=64)
_headers = st.lists(
    st.tuples(
        st.text("abcdefghij-", min_size=1, max_size=12),
        st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=30),
    ),
    max_size=4,
)


def test_any_answer_reads_back_exactly(tmp_path_factory: pytest.TempPathFactory) -> None:
    app = Casework(f"sqlite:///{tmp_path_factory.mktemp('idem') / 'cases.db'}")
    records = records_for(app)
    counter = iter(range(10**6))

    @settings(max_examples=40, deadline=None)
    @given(status=st.integers(200, 399), headers=_headers, body=_bodies)
    def reads_back(status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        key = f"k-{next(counter)}"
        answer = Answer(status, headers, body)
        assert records.claim("s", key, "f").outcome == "started"
        records.finish("s", key, answer)
        assert records.claim("s", key, "f").answer == answer

    try:
        reads_back()
    finally:
        app.close()


DPO = Actor("dpo-chen", Role.DATA_PROTECTION_OFFICER)


def stored_bytes(app: Casework) -> bytes:
    """Every byte the idempotency table holds, as the store (or a backup of it) has them."""
    records = records_for(app)
    with app.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
        cursor.execute(f"SELECT * FROM {records.table}")
        rows = cursor.fetchall()
    return b"\0".join(
        bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
        for row in rows
        for v in dict(row).values()
    )


def test_a_kept_body_is_sealed_and_not_replayed_after_an_erasure(app: Casework) -> None:
    records = records_for(app)
    description, phone = "water through the ceiling of flat 12B", "+86 138 0013 8000"
    body = json.dumps({"status": "open", "description": description, "phone": phone}).encode()
    headers = [("content-type", "application/json"), ("location", "/cases/c-1")]
    assert records.claim("r-1 POST /cases", "k-1", "f").outcome == "started"
    records.finish("r-1 POST /cases", "k-1", Answer(201, headers, body))
    kept = stored_bytes(app)
    assert b"/cases/c-1" in kept  # the row is there: status and headers in the clear
    for secret in (description, phone, "ceiling", "0013 8000", '"open"'):
        assert secret.encode() not in kept
    assert records.claim("r-1 POST /cases", "k-1", "f").answer == Answer(201, headers, body)

    erase(app, app.privacy, "r-0302", DPO, "asked")
    after = records.claim("r-1 POST /cases", "k-1", "f")
    assert (after.outcome, after.answer) == ("replay", Answer(201, headers, None))
    # Answers kept after the erasure are sealed under a new key and replayed whole.
    assert records.claim("r-1 POST /cases", "k-2", "f").outcome == "started"
    records.finish("r-1 POST /cases", "k-2", Answer(201, headers, body))
    assert records.claim("r-1 POST /cases", "k-2", "f").answer == Answer(201, headers, body)


def test_a_record_kept_with_its_effect_is_looked_up_as_a_claim_finds_it(app: Casework) -> None:
    """`look` (a read) answers as `claim` would for a key used already, None for a new one;
    a record `kept` in a save's transaction replays like one claimed and finished."""
    clock = Clock()
    records = IdempotencyRecords(
        app.recorder.datastore,  # type: ignore[attr-defined]
        privacy_for(app).keys,
        now=clock,
        beside_events=True,
    )
    scope = "r-1 POST /cases"
    assert records.look(scope, "new", "body-a") is None
    with app.together() as unit:
        unit.also(records.kept(scope, "k-1", "body-a", ANSWER))
    replay = records.look(scope, "k-1", "body-a")
    assert replay is not None
    assert (replay.outcome, replay.answer) == ("replay", ANSWER)
    assert records.claim(scope, "k-1", "body-a") == replay  # one record, two ways to it
    mismatch = records.look(scope, "k-1", "body-b")
    assert mismatch is not None
    assert mismatch.outcome == "mismatch"
    # A claim of the classic kind, still running: in flight; its process dead: forgotten.
    assert records.claim(scope, "k-2", "body-a").outcome == "started"
    running = records.look(scope, "k-2", "body-a")
    assert running is not None
    assert running.outcome == "in_flight"
    clock.now += IN_FLIGHT_LEASE + 1
    assert records.look(scope, "k-2", "body-a") is None
    assert records.claim(scope, "k-2", "body-a").outcome == "started"  # the row went
