"""Shared test fixtures: a fixed start time, a fake clock, one actor per role, a SQLite-backed app.

Time in these tests is always explicit: the domain is told `at`, the application asks a
`FakeClock`. Nothing here reads the wall clock, so every test replays the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.domain import Actor, Role

BEIJING = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=BEIJING)
"""09:00 Beijing time on a Tuesday: when every test's first report is made."""

FLAT = "jiayu-xx/wanxin-intl/b12/0302"
"""Where the resident lives: community / compound / building / unit."""

COMPOUND = "jiayu-xx/wanxin-intl"


@pytest.fixture
def t0() -> datetime:
    return T0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def resident() -> Actor:
    return Actor("resident-0302", Role.RESIDENT)


@pytest.fixture
def neighbour() -> Actor:
    return Actor("resident-0402", Role.RESIDENT)


@pytest.fixture
def staff() -> Actor:
    return Actor("staff-li", Role.PROPERTY_STAFF)


@pytest.fixture
def manager() -> Actor:
    return Actor("manager-wang", Role.PROPERTY_MANAGER)


@pytest.fixture
def volunteer() -> Actor:
    return Actor("volunteer-zhao", Role.VOLUNTEER)


@pytest.fixture
def leader() -> Actor:
    return Actor("leader-b12", Role.BUILDING_LEADER)


@pytest.fixture
def secretary() -> Actor:
    return Actor("secretary-chen", Role.PARTY_SECRETARY)


@pytest.fixture
def officer() -> Actor:
    return Actor("officer-sun", Role.COMMUNITY_OFFICER)


@pytest.fixture
def county_rep() -> Actor:
    return Actor("housing-bureau:zhou", Role.COUNTY_REPRESENTATIVE)


@pytest.fixture
def auditor() -> Actor:
    return Actor("auditor-qian", Role.AUDITOR)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return "sqlite:///" + str(tmp_path / "c.db")


@pytest.fixture
def app(store_url: str, clock: FakeClock) -> Iterator[Casework]:
    application = Casework(store_url, clock=clock)
    yield application
    application.close()
