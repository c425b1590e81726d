"""Fixtures: the real mediation app over a real store (SQLite, and PostgreSQL via `store_url`),
fed from the store's log (`mediators`) or from a real nats-server (`nats_mediators`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from casework.clock import FakeClock
from casework.messaging.nats_server import NatsServer
from casework.testing.nats import anyio_backend, nats_server, nats_url  # noqa: F401
from casework.testing.postgres import (  # noqa: F401
    STORE_PARAMS,
    empty_store_url,
    postgres_server,
    postgres_url,
)
from fastapi.testclient import TestClient
from mediation.api import create_app
from mediation.testing import T0, Mediators, make_settings


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return empty_store_url(request.param, request, tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def mediators(store_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Mediators]:
    settings = make_settings(tmp_path, store_url)
    with TestClient(create_app(settings, clock=clock)) as client:
        yield Mediators(client, clock, settings)


@pytest.fixture
def nats_mediators(
    store_url: str, tmp_path: Path, clock: FakeClock, request: pytest.FixtureRequest
) -> Iterator[Mediators]:
    server: NatsServer = request.getfixturevalue("nats_server")
    settings = make_settings(tmp_path, store_url, NATS_URL=server.url)
    with TestClient(create_app(settings, clock=clock)) as client:
        yield Mediators(client, clock, settings)
