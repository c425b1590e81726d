"""Fixtures: the dispatch application on a real store with a fake clock.

`app` runs a test on SQLite and on PostgreSQL (`store_url` from casework.testing.postgres, which
the root conftest registers); `lite` on SQLite only, for rules rather than storage.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from casework.clock import FakeClock
from dispatch.application import Dispatch
from dispatch.testing import T0


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cases.db'}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def app(store_url: str, clock: FakeClock) -> Iterator[Dispatch]:
    application = Dispatch(store_url, clock=clock)
    yield application
    application.close()


@pytest.fixture
def lite(sqlite_url: str, clock: FakeClock) -> Iterator[Dispatch]:
    """SQLite only, for the tests about rules rather than storage."""
    application = Dispatch(sqlite_url, clock=clock)
    yield application
    application.close()
