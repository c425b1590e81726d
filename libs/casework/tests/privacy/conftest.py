"""Every test here runs on both stores: the key table and the sealed events live beside the
events, in SQLite and in PostgreSQL alike (this folder's parent has a SQLite-only `store_url`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from casework.testing.postgres import STORE_PARAMS, empty_store_url


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return empty_store_url(request.param, request, tmp_path)
