"""The `stoppable_postgres` fixture: a throwaway PostgreSQL of the test's own, to stop and start.

Outage drills need a real server going away and coming back; the session's `postgres_server` is
shared by every test and must never stop, so a drill makes its own cluster
(`casework.testing.postgres.restartable_postgres`, about a second to initdb and start), stopped
by pid and deleted however the test ends. `stop()` is PostgreSQL's fast shutdown (clients are
disconnected, nothing committed is lost); `start()` brings it back on the same port and data.

Import the fixture into a test module (or a conftest) to use it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from casework.testing.postgres import (
    PostgresCluster,
    find_bindir,
    restartable_postgres,
    unavailable,
)

StoppablePostgres = PostgresCluster


@pytest.fixture
def stoppable_postgres() -> Iterator[PostgresCluster]:
    """A running cluster of this test's own (`server` says where); skipped without binaries
    (failed under CI=true)."""
    if find_bindir() is None:
        unavailable("no PostgreSQL binaries found for an outage drill")
    with restartable_postgres() as cluster:  # created and running
        yield cluster
