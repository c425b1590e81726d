"""Every log test runs on both stores (a SQLite file, a throwaway PostgreSQL database), over a
few real case files; `Intruder` edits the events table directly, as one with SQL access would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.domain import Actor, Role
from casework.domain.chain import event_digest
from casework.side_tables import dialect
from casework.testing.postgres import STORE_PARAMS, empty_store_url

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8)))
RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
VOLUNTEER = Actor("volunteer-zhao", Role.VOLUNTEER)


def tell(app: Casework, clock: FakeClock, cases: int = 3) -> list[UUID]:
    """`cases` repairs, their events interleaved in the log."""
    ids = [
        app.report_repair(RESIDENT, f"jiayu-xx/wanxin-intl/b12/03{n:02d}", "灯不亮", "lighting")
        for n in range(cases)
    ]
    clock.advance(timedelta(minutes=3))
    for case_id in ids:
        app.acknowledge(case_id, STAFF, "电话已接")
    for case_id in ids:
        app.assign(case_id, STAFF, VOLUNTEER, "electrician")
    return ids


class Intruder:
    """Edits the events table directly, bypassing the library, on either store."""

    def __init__(self, app: Casework) -> None:
        recorder: Any = app.recorder
        self.app = app
        self.datastore = recorder.datastore
        sql = dialect(self.datastore)
        self.table = sql.table(recorder.events_table_name)
        self.mark = sql.mark
        self.postgres = sql.postgres

    def _id(self, case_id: UUID) -> Any:
        return case_id if self.postgres else case_id.hex

    def _run(self, sql: str, params: tuple[Any, ...]) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(sql.format(t=self.table, m=self.mark), params)

    def row(self, case_id: UUID, version: int) -> tuple[str, bytes]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT topic, state FROM {self.table} WHERE originator_id = {self.mark} "
                f"AND originator_version = {self.mark}",
                (self._id(case_id), version),
            )
            row = cursor.fetchone()
        return row["topic"], bytes(row["state"])

    def delete(self, case_id: UUID, version: int | None = None) -> None:
        """One event (or the whole case)."""
        where = "" if version is None else " AND originator_version = {m}"
        params = (self._id(case_id),) if version is None else (self._id(case_id), version)
        self._run("DELETE FROM {t} WHERE originator_id = {m}" + where, params)

    def move_to_end(self, case_id: UUID, version: int) -> None:
        """Delete an event and insert it again unchanged: same chain, a later log position."""
        topic, state = self.row(case_id, version)
        self.delete(case_id, version)
        self._run(
            "INSERT INTO {t} (originator_id, originator_version, topic, state) "
            "VALUES ({m}, {m}, {m}, {m})",
            (self._id(case_id), version, topic, state),
        )

    def rewrite(self, case_id: UUID, version: int, reason: str) -> None:
        """Change an event's reason and re-hash it and every later event of its case, so the
        chain alone still verifies."""
        transcoder = self.app.mapper.transcoder
        previous: str | None = None
        while True:
            try:
                topic, raw = self.row(case_id, version)
            except TypeError:  # no such row: past the case's end
                return
            state = transcoder.decode(raw)
            if previous is None:
                state["reason"] = reason
            else:
                state["prev_hash"] = previous
            state["hash"] = event_digest(topic, case_id, version, state)
            previous = state["hash"]
            self._run(
                "UPDATE {t} SET state = {m} WHERE originator_id = {m} AND originator_version = {m}",
                (transcoder.encode(state), self._id(case_id), version),
            )
            version += 1


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return empty_store_url(request.param, request, tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def app(store_url: str, clock: FakeClock) -> Iterator[Casework]:
    application = Casework(store_url, clock=clock)
    yield application
    application.close()


@pytest.fixture
def cases(app: Casework, clock: FakeClock) -> list[UUID]:
    return tell(app, clock)


@pytest.fixture
def intruder(app: Casework) -> Intruder:
    return Intruder(app)
