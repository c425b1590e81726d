"""Fixtures: the real intake app over a real store (SQLite, and PostgreSQL via `store_url`).

`desk` is the app under FastAPI's TestClient (lifespan included) with a fake clock, and a helper
that makes bearer tokens the way `casework-intake token` does (only hashes are kept).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from casework.clock import FakeClock
from casework.testing.nats import anyio_backend, nats_server, nats_url  # noqa: F401
from casework.testing.postgres import (  # noqa: F401
    STORE_PARAMS,
    empty_store_url,
    postgres_server,
    postgres_url,
)
from fastapi.testclient import TestClient
from intake.api.app import create_app
from intake.testing import T0, Desk, make_settings


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return empty_store_url(request.param, request, tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def desk(store_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Desk]:
    settings = make_settings(tmp_path, store_url)
    with TestClient(create_app(settings, clock=clock)) as client:
        yield Desk(client, clock, settings)


@pytest.fixture
def sqlite_desk(tmp_path: Path, clock: FakeClock) -> Iterator[Desk]:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}")
    with TestClient(create_app(settings, clock=clock)) as client:
        yield Desk(client, clock, settings)
