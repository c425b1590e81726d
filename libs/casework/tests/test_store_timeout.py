"""`CASEWORK_STORE_TIMEOUT`: with PostgreSQL down, a store operation gives up within about that
long (it used to wait 30 s ten times over), and works again once PostgreSQL is back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from casework import Actor, Casework, Role, ValidationError
from casework.outages import POOL_RECONNECT_TIMEOUT
from casework.postgres import FailFastProcessRecorder
from casework.settings import (
    DEFAULT_SQLITE_LOCK_TIMEOUT,
    DEFAULT_STORE_TIMEOUT,
    SQLITE_LOCK_TIMEOUT_ENV,
    STORE_TIMEOUT_ENV,
    persistence_env,
)
from casework.testing.postgres_outage import StoppablePostgres, stoppable_postgres  # noqa: F401
from eventsourcing.persistence import OperationalError
from eventsourcing.utils import resolve_topic

RESIDENT = Actor("r-0302", Role.RESIDENT)
FLAT = "jiayu-xx/wanxin-intl/b12/0302"


def test_the_store_timeout_is_a_setting_with_a_default_and_a_url_override(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(STORE_TIMEOUT_ENV, raising=False)
    monkeypatch.delenv("POSTGRES_CONNECT_TIMEOUT", raising=False)
    env = persistence_env("postgresql://h/db")
    assert env["POSTGRES_CONNECT_TIMEOUT"] == str(DEFAULT_STORE_TIMEOUT)
    assert env["POSTGRES_PRE_PING"] == "y"
    assert issubclass(resolve_topic(env["PROCESS_RECORDER_TOPIC"]), FailFastProcessRecorder)
    monkeypatch.setenv("POSTGRES_CONNECT_TIMEOUT", "4")  # eventsourcing's own key still works
    assert persistence_env("postgresql://h/db")["POSTGRES_CONNECT_TIMEOUT"] == "4"
    monkeypatch.setenv(STORE_TIMEOUT_ENV, "7")  # ours wins
    assert persistence_env("postgresql://h/db")["POSTGRES_CONNECT_TIMEOUT"] == "7"
    assert persistence_env("postgresql://h/db?timeout=3")["POSTGRES_CONNECT_TIMEOUT"] == "3"


@pytest.mark.parametrize("given", ["0", "-1", "2.5", "soon"])
def test_a_store_timeout_that_is_not_a_whole_number_of_seconds_is_refused(
    given: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POSTGRES_CONNECT_TIMEOUT", raising=False)
    monkeypatch.setenv(STORE_TIMEOUT_ENV, given)
    with pytest.raises(ValidationError, match=f"{STORE_TIMEOUT_ENV} must be a whole number"):
        persistence_env("postgresql://h/db")
    monkeypatch.delenv(STORE_TIMEOUT_ENV)
    with pytest.raises(ValidationError, match="CASEWORK_STORE timeout must be a whole number"):
        persistence_env(f"postgresql://h/db?timeout={given}")


def test_sqlite_waits_for_a_lock_as_long_as_its_own_setting_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CASEWORK_STORE_TIMEOUT bounds PostgreSQL; SQLite's lock wait has its own setting."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    monkeypatch.delenv(SQLITE_LOCK_TIMEOUT_ENV, raising=False)
    assert persistence_env(url)["SQLITE_LOCK_TIMEOUT"] == str(DEFAULT_SQLITE_LOCK_TIMEOUT)
    monkeypatch.setenv(SQLITE_LOCK_TIMEOUT_ENV, "3")
    assert persistence_env(url)["SQLITE_LOCK_TIMEOUT"] == "3"
    monkeypatch.setenv(SQLITE_LOCK_TIMEOUT_ENV, "0.5")
    with pytest.raises(ValidationError, match=f"{SQLITE_LOCK_TIMEOUT_ENV} must be a whole"):
        persistence_env(url)


@pytest.mark.postgres
def test_with_postgresql_down_an_operation_fails_within_the_timeout_and_then_recovers(
    stoppable_postgres: StoppablePostgres,  # noqa: F811
) -> None:
    pg = stoppable_postgres
    pg.server.create_database("cases")
    app = Casework(pg.server.url("cases", timeout=1))
    try:
        assert isinstance(app.recorder, FailFastProcessRecorder)
        case_id = app.report_repair(RESIDENT, FLAT, "the corridor light is dead", "lighting")
        one_report = app.recorder.max_notification_id()
        pg.stop()
        for operation in (
            lambda: app.repository.get(case_id),
            lambda: app.report_repair(RESIDENT, FLAT, "the tap drips", "plumbing"),
            app.recorder.max_notification_id,
        ):
            started = time.monotonic()
            with pytest.raises(OperationalError):
                operation()
            # One pool timeout (1 s) and a quick retry, not eventsourcing's 10 x 30 s.
            assert time.monotonic() - started < 5
        pg.start()
        # The pool tries its lost connections again on a doubling delay of its own, given up
        # after POOL_RECONNECT_TIMEOUT (`casework.outages.quick_reconnects`): the first call
        # after the restart waits for that attempt, measured 0.01-0.99 s of its 1 s pool
        # timeout (1.27 s once under load): it may time out, and a part's own backoff calls
        # again. Within that bound the store answers.
        deadline = time.monotonic() + POOL_RECONNECT_TIMEOUT + 3
        while True:
            try:
                assert app.repository.get(case_id).id == case_id
                break
            except OperationalError:
                assert time.monotonic() < deadline, "the store did not answer after its restart"
                time.sleep(0.2)
        app.report_repair(RESIDENT, FLAT, "the tap drips", "plumbing")
        # Nothing lost, nothing doubled: the refused report left nothing behind.
        assert app.recorder.max_notification_id() == 2 * (one_report or 0)
    finally:
        app.close()
