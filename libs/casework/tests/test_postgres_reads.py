"""`FailFastProcessRecorder.select_events` on a real PostgreSQL: its statement is composed once
per shape of the question (issue 16), and for every question it answers what eventsourcing's own
`select_events` answers, row for row, in order."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest
from casework.postgres import FailFastProcessRecorder
from casework.settings import persistence_env
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresFactory, PostgresProcessRecorder
from eventsourcing.utils import Environment
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.postgres

VERSIONS = 7


@pytest.fixture
def recorder(postgres_url: str) -> Iterator[tuple[FailFastProcessRecorder, UUID]]:
    """Ours on a fresh database, with one aggregate's seven events and another's three."""
    env = Environment("reads", persistence_env(postgres_url))
    env["PROCESS_RECORDER_TOPIC"] = "casework.postgres:FailFastProcessRecorder"
    factory = PostgresFactory(env)
    ours = factory.process_recorder()
    assert isinstance(ours, FailFastProcessRecorder)
    ours.create_table()
    asked, other = uuid4(), uuid4()
    for aggregate, count in ((asked, VERSIONS), (other, 3)):
        ours.insert_events(
            [
                StoredEvent(aggregate, v, "tests:Happened", f"{v}".encode())
                for v in range(1, count + 1)
            ]
        )
    try:
        yield ours, asked
    finally:
        factory.close()


version = st.none() | st.integers(min_value=0, max_value=VERSIONS + 1)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    gt=version,
    lte=version,
    desc=st.booleans(),
    limit=st.none() | st.integers(min_value=1, max_value=VERSIONS + 1),
)
def test_every_question_gets_eventsourcings_answer(
    recorder: tuple[FailFastProcessRecorder, UUID],
    gt: int | None,
    lte: int | None,
    desc: bool,
    limit: int | None,
) -> None:
    ours, asked = recorder
    question = {"gt": gt, "lte": lte, "desc": desc, "limit": limit}
    eventsourcings = PostgresProcessRecorder.select_events.__wrapped__  # without its retries
    theirs = eventsourcings(ours, asked, **question)
    assert ours.select_events(asked, **question) == theirs
    assert ours.select_events(str(asked), **question) == theirs
    expected = [
        v for v in range(1, VERSIONS + 1) if (gt is None or v > gt) and (lte is None or v <= lte)
    ]
    expected = (expected[::-1] if desc else expected)[:limit]
    assert [e.originator_version for e in theirs] == expected
