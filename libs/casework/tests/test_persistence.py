"""The case file survives the store: the same behaviour on a SQLite file and on PostgreSQL.

Each test runs twice through the `store_url` fixture (casework.testing.postgres): once on a fresh
SQLite file, once on a fresh database of a real PostgreSQL. "Reload" means a second `Casework`
on the same URL, sharing nothing in memory with the first, as another process would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

import psycopg
import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.domain import (
    Actor,
    Dispute,
    LeakEmergency,
    NotPermittedError,
    Repair,
    Role,
    Status,
    Tier,
    ValidationError,
)
from casework.domain.errors import CaseNotFoundError
from casework.settings import persistence_env
from casework.testing import postgres as postgres_plugin
from casework.testing.postgres import STORE_PARAMS, empty_store_url
from hypothesis import given
from hypothesis import strategies as st

pytest_plugins = ["pytester"]  # to run the postgres fixtures themselves in an inner session

CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 24, 9, 0, tzinfo=CST)

RESIDENT = Actor("resident-li", Role.RESIDENT)
NEIGHBOUR = Actor("resident-zhao", Role.RESIDENT)
STAFF = Actor("staff-wang", Role.PROPERTY_STAFF)
MANAGER = Actor("manager-chen", Role.PROPERTY_MANAGER)
VOLUNTEER = Actor("volunteer-liu", Role.VOLUNTEER)
SECRETARY = Actor("secretary-sun", Role.PARTY_SECRETARY)
OFFICER = Actor("officer-zhou", Role.COMMUNITY_OFFICER)
AUDITOR = Actor("auditor-qian", Role.AUDITOR)

Story = Callable[[Casework, FakeClock], UUID]


def _tick(clock: FakeClock, minutes: int = 7) -> None:
    clock.advance(timedelta(minutes=minutes))


def repair_story(app: Casework, clock: FakeClock) -> UUID:
    """A dead corridor light fixed by a party-member volunteer, confirmed and rated."""
    case_id = app.report_repair(
        RESIDENT, "jiayu-xx/wanxin-intl/b12/0302", "楼道灯不亮 corridor light dead", "lighting"
    )
    for command in (
        lambda: app.acknowledge(case_id, STAFF, "收到"),
        lambda: app.assign(case_id, MANAGER, VOLUNTEER, "electrician, lives in b12"),
        lambda: app.start_work(case_id, VOLUNTEER),
        lambda: app.finish_work(case_id, VOLUNTEER, "replaced the bulb and the switch"),
        lambda: app.resolve(case_id, STAFF, "light works"),
        lambda: app.confirm_resolution(case_id, RESIDENT),
        lambda: app.rate_satisfaction(case_id, RESIDENT, 5, "很快"),
        lambda: app.record_return_visit(case_id, STAFF, "called back: light fine"),
        lambda: app.close_case(case_id, MANAGER, "done"),
    ):
        _tick(clock)
        command()
    return case_id


def leak_story(app: Casework, clock: FakeClock) -> UUID:
    """The article's leak: water under the door of a flat being renovated; a valve left open."""
    case_id = app.report_leak(
        NEIGHBOUR,
        "jiayu-xx/jiating/b3/0501",
        "对门房屋渗水 water seeping under the door opposite",
        "0502",
        source_unoccupied=True,
        reaches_other_flat=True,
    )
    for command in (
        lambda: app.attempt_owner_contact(case_id, STAFF, "phone", "no_answer"),
        lambda: app.attempt_owner_contact(case_id, STAFF, "phone", "reached", "coming now"),
        lambda: app.stop_water(case_id, STAFF, "owner_closed_valve", "owner arrived"),
        lambda: app.record_cause(
            case_id, STAFF, "renovation worker left a valve open", "wet floor", ["0501"]
        ),
        lambda: app.resolve(case_id, STAFF, "water stopped, floor dried"),
    ):
        _tick(clock, 3)
        command()
    return case_id


def dispute_story(app: Casework, clock: FakeClock) -> UUID:
    """A parking dispute that fails at the compound and is settled at the community."""
    case_id = app.report_dispute(
        RESIDENT,
        "jiayu-xx/wanxin-intl",
        "私占车位 a private lock on a shared parking space",
        "parking",
        ["resident-li", "resident-zhao"],
    )
    _tick(clock)
    app.acknowledge(case_id, SECRETARY)
    _tick(clock)
    first = app.convene_mediation(
        case_id,
        SECRETARY,
        "roundtable",
        clock() + timedelta(days=1),
        "compound office",
        [{"id": "resident-li", "role": "resident"}, {"id": "resident-zhao", "role": "resident"}],
    )
    clock.advance(timedelta(days=1))
    app.hold_round(case_id, SECRETARY, first, ["resident-li", "resident-zhao"], "failed")
    _tick(clock)
    app.escalate(case_id, SECRETARY, "the parties will not meet again at the compound")
    _tick(clock)
    second = app.convene_mediation(
        case_id,
        OFFICER,
        "deliberation_council",
        clock() + timedelta(days=2),
        "community hall",
        [{"id": "resident-li", "role": "resident"}, {"id": "resident-zhao", "role": "resident"}],
    )
    clock.advance(timedelta(days=2))
    app.hold_round(
        case_id,
        OFFICER,
        second,
        ["resident-li", "resident-zhao"],
        "agreed",
        options=["remove the lock", "rent the space"],
        tally={"remove the lock": 2, "rent the space": 0},
    )
    _tick(clock)
    app.reach_agreement(
        case_id,
        OFFICER,
        second,
        ["the lock is removed; the space is shared"],
        [{"who": "resident-zhao", "what": "remove the lock", "due": "2026-12-01"}],
    )
    _tick(clock)
    app.resolve(case_id, OFFICER, "agreement reached at the deliberation council")
    return case_id


STORIES: dict[str, tuple[Story, type[Any], Status]] = {
    "repair": (repair_story, Repair, Status.CLOSED),
    "leak": (leak_story, LeakEmergency, Status.RESOLVED),
    "dispute": (dispute_story, Dispute, Status.RESOLVED),
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both stores (the package conftest's `store_url` is SQLite only)."""
    return empty_store_url(request.param, request, tmp_path)


@pytest.fixture
def open_app(store_url: str, clock: FakeClock) -> Iterator[Callable[[], Casework]]:
    """Opens a new `Casework` on the test's store each call; closes them all afterwards."""
    opened: list[Casework] = []

    def make() -> Casework:
        opened.append(Casework(store_url, clock=clock))
        return opened[-1]

    yield make
    for app in opened:
        app.close()


@pytest.mark.parametrize("kind", list(STORIES))
def test_each_kind_of_case_reads_back_the_same_in_a_new_application(
    kind: str, open_app: Callable[[], Casework], clock: FakeClock
) -> None:
    story, cls, status = STORIES[kind]
    writer = open_app()
    case_id = story(writer, clock)
    written = writer.get_case(case_id)
    writer.close()

    reader = open_app()
    case = reader.get_case(case_id)
    assert isinstance(case, cls)
    assert case.status is status
    assert case.snapshot() == written.snapshot()
    assert len(reader.history(case_id)) == written.version
    result = reader.verify(case_id)
    assert result.ok
    assert result.head == written.chain_head


@pytest.mark.parametrize("kind", list(STORIES))
def test_the_history_names_who_when_where_and_why_for_every_event(
    kind: str, open_app: Callable[[], Casework], clock: FakeClock
) -> None:
    story, _, _ = STORIES[kind]
    case_id = story(open_app(), clock)

    history = open_app().history(case_id)

    assert [e.version for e in history] == list(range(1, len(history) + 1))
    assert all(e.case_id == case_id for e in history)
    assert all(e.actor_id and e.actor_role and e.tier for e in history)
    times = [e.at for e in history]
    assert times == sorted(times)
    assert times[0] == START
    assert times[-1] == clock()
    assert all(t.tzinfo is not None for t in times)
    assert history[0].actor_id in {RESIDENT.id, NEIGHBOUR.id}
    assert all(e.hash and len(e.hash) == 64 for e in history)
    assert [e.prev_hash for e in history[1:]] == [e.hash for e in history[:-1]]


def test_an_escalation_is_stored_with_its_reason_and_both_tiers(
    open_app: Callable[[], Casework], clock: FakeClock
) -> None:
    case_id = dispute_story(open_app(), clock)

    history = open_app().history(case_id)

    (escalated,) = [e for e in history if e.event == "Escalated"]
    assert escalated.tier == Tier.COMPOUND.value
    assert escalated.details["to_tier"] == Tier.COMMUNITY.value
    assert escalated.details["automatic"] is False
    assert escalated.reason == "the parties will not meet again at the compound"
    assert escalated.actor_id == SECRETARY.id
    assert escalated.actor_role == SECRETARY.role.value
    (resolved,) = [e for e in history if e.event == "Resolved"]
    assert resolved.tier == Tier.COMMUNITY.value


@pytest.mark.parametrize("kind", list(STORIES))
def test_state_as_of_each_version_matches_the_state_the_writer_saw_then(
    kind: str, open_app: Callable[[], Casework], clock: FakeClock
) -> None:
    story, _, _ = STORIES[kind]
    writer = open_app()
    case_id = story(writer, clock)
    final = writer.get_case(case_id).version
    seen_by_writer = {
        v: writer.get_case(case_id, version=v).snapshot() for v in range(1, final + 1)
    }

    reader = open_app()
    for version, snapshot in seen_by_writer.items():
        assert reader.state_as_of(case_id, version=version).snapshot() == snapshot
    with pytest.raises(ValidationError, match="only"):
        reader.state_as_of(case_id, version=final + 1)


def test_state_as_of_a_time_is_the_case_after_the_last_event_at_or_before_it(
    open_app: Callable[[], Casework], clock: FakeClock
) -> None:
    case_id = repair_story(open_app(), clock)
    reader = open_app()
    history = reader.history(case_id)
    assigned = next(e for e in history if e.event == "Assigned")
    started = next(e for e in history if e.event == "WorkStarted")
    between = assigned.at + (started.at - assigned.at) / 2

    exactly = reader.state_as_of(case_id, at=assigned.at)
    during = reader.state_as_of(case_id, at=between.astimezone(UTC))  # any timezone will do
    clock.advance(timedelta(days=365))  # an as-of moment is never in the reader's future
    latest = reader.state_as_of(case_id, at=clock())

    assert exactly.version == assigned.version
    assert exactly.status is Status.ASSIGNED
    assert during.version == assigned.version
    assert latest.version == history[-1].version
    assert latest.status is Status.CLOSED
    with pytest.raises(ValidationError, match="did not exist yet"):
        reader.state_as_of(case_id, at=START - timedelta(seconds=1))
    with pytest.raises(ValidationError, match="timezone"):
        reader.state_as_of(case_id, at=datetime(2026, 11, 24, 10, 0))


def test_verify_all_checks_every_case_in_the_store_and_finds_them_intact(
    open_app: Callable[[], Casework], clock: FakeClock
) -> None:
    writer = open_app()
    ids = [story(writer, clock) for story, _, _ in STORIES.values()]
    extra = writer.report_repair(RESIDENT, "jiayu-xx/jiating/b1/0101", "door access card fails")

    results = list(open_app().verify_all())

    assert [r.case_id for r in results] == [*ids, extra]
    assert all(r.ok for r in results), [r.describe() for r in results if not r.ok]
    versions = [open_app().get_case(i).version for i in [*ids, extra]]
    assert [r.events for r in results] == versions


def test_a_refused_command_leaves_the_stored_case_as_it_was(
    open_app: Callable[[], Casework], clock: FakeClock
) -> None:
    app = open_app()
    case_id = app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b9/0101", "tap drips", "plumbing")
    before = app.history(case_id)

    with pytest.raises(NotPermittedError):
        app.acknowledge(case_id, AUDITOR)
    with pytest.raises(CaseNotFoundError):
        app.add_note(UUID(int=7), STAFF, "no such case")

    assert open_app().history(case_id) == before


def _tamper(
    store_url: str, table: str, case_id: UUID, version: int, old: bytes, new: bytes
) -> None:
    """Edit one stored event behind the library's back, with the store's own SQL."""
    where = "WHERE originator_id = {0} AND originator_version = {0}"
    if store_url.startswith("sqlite:///"):
        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as lite:
            key = (case_id.hex, version)
            (state,) = lite.execute(
                f"SELECT state FROM {table} {where.format('?')}", key
            ).fetchone()
            assert old in state
            lite.execute(
                f"UPDATE {table} SET state = ? {where.format('?')}", (state.replace(old, new), *key)
            )
        return
    with psycopg.connect(store_url.split("?")[0], autocommit=True) as pg:
        row = pg.execute(
            f"SELECT state FROM {table} {where.format('%s')}", (case_id, version)
        ).fetchone()
        assert row is not None
        assert old in row[0]
        pg.execute(
            f"UPDATE {table} SET state = %s {where.format('%s')}",
            (bytes(row[0]).replace(old, new), case_id, version),
        )


def test_an_event_edited_in_the_database_is_reported_by_verify_at_its_position(
    store_url: str, open_app: Callable[[], Casework], clock: FakeClock
) -> None:
    app = open_app()
    case_id = repair_story(app, clock)
    other = leak_story(app, clock)
    finished = next(e for e in app.history(case_id) if e.event == "WorkDone")

    table = app.recorder.events_table_name  # type: ignore[attr-defined]
    _tamper(store_url, table, case_id, finished.version, b"replaced the bulb", b"replaced the bulk")

    result = open_app().verify(case_id)
    assert not result.ok
    assert result.position == finished.version
    assert "altered" in result.problem
    by_case = {r.case_id: r for r in open_app().verify_all()}
    assert not by_case[case_id].ok
    assert by_case[other].ok


# --------------------------------------------------------------------- CASEWORK_STORE URLs


def test_a_relative_sqlite_url_names_a_file_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    env = persistence_env("sqlite:///var/data/cases.db")

    assert env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
    assert env["SQLITE_DBNAME"] == "var/data/cases.db"
    assert (tmp_path / "var" / "data").is_dir()  # the folder is made so the first run works


def test_an_absolute_sqlite_url_takes_four_slashes(tmp_path: Path) -> None:
    target = tmp_path / "store" / "cases.db"

    env = persistence_env(f"sqlite:///{target}")

    assert str(target).startswith("/")
    assert env["SQLITE_DBNAME"] == str(target)
    assert target.parent.is_dir()


def test_an_in_memory_sqlite_url_is_passed_through() -> None:
    assert persistence_env("sqlite:///:memory:")["SQLITE_DBNAME"] == ":memory:"


def test_a_full_postgresql_url_sets_every_connection_and_pool_setting() -> None:
    expected = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_HOST": "db.jiayu.example",
        "POSTGRES_PORT": "6543",
        "POSTGRES_USER": "case worker",
        "POSTGRES_PASSWORD": "p@ss:w/rd",
        "POSTGRES_DBNAME": "casework",
        "POSTGRES_POOL_SIZE": "25",
        "POSTGRES_MAX_OVERFLOW": "5",
        "POSTGRES_SCHEMA": "audit",
    }

    env = persistence_env(
        "postgresql://case%20worker:p%40ss%3Aw%2Frd@db.jiayu.example:6543/casework"
        "?pool_size=25&max_overflow=5&schema=audit"
    )

    assert {key: env.get(key) for key in expected} == expected


def test_a_short_postgres_url_gets_the_default_port_user_and_pool() -> None:
    env = persistence_env("postgres://localhost/casework")

    assert env["POSTGRES_PORT"] == "5432"
    assert env["POSTGRES_USER"] == "postgres"
    assert env["POSTGRES_PASSWORD"] == ""
    assert env["POSTGRES_POOL_SIZE"] == "5"
    assert "POSTGRES_SCHEMA" not in env


_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1)


@given(user=_names, password=_names, dbname=_names, port=st.integers(1, 65535))
def test_any_percent_encoded_user_password_and_database_name_read_back_unchanged(
    user: str, password: str, dbname: str, port: int
) -> None:
    url = f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@h:{port}/" + quote(
        dbname, safe=""
    )

    env = persistence_env(url)

    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == (user, password)
    assert (env["POSTGRES_DBNAME"], env["POSTGRES_PORT"]) == (dbname, str(port))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "must be sqlite:///path/to/file.db or postgresql://"),
        ("mysql://u@h/db", "not a 'mysql' URL"),
        ("sqlite://", "needs a file"),
        ("sqlite:///", "needs a file"),
        ("postgresql://h", "needs a database name"),
        ("postgresql://h:port/db", "bad port"),
        ("postgresql://h:70000/db", "bad port"),
        ("postgresql://h/db/extra", "one database name"),
        ("postgresql://h/db?pool_size=many", "pool_size must be a whole number"),
        ("postgresql://h/db?pool_size=0", "at least 1"),
        ("postgresql://h/db?max_overflow=-1", "max_overflow must be a whole number"),
        ("postgresql://h/db?sslmode=require", "unsupported parameters sslmode"),
    ],
)
def test_a_bad_store_url_is_refused_with_a_message_that_says_what_to_fix(
    url: str, message: str
) -> None:
    with pytest.raises(ValidationError, match="CASEWORK_STORE") as refused:
        persistence_env(url)

    assert message in str(refused.value)


def test_a_refused_url_never_repeats_the_password() -> None:
    for url in ("postgresq://u:s3cret-pw@h/db", "postgresql://u:s3cret-pw@h:x/db"):
        with pytest.raises(ValidationError) as refused:
            persistence_env(url)
        assert "s3cret-pw" not in str(refused.value)


# --------------------------------------------------------------- the fixtures themselves

NEEDS_POSTGRES = """
def test_needs_postgres(postgres_url):
    assert postgres_url.startswith("postgresql://")
"""


@pytest.mark.parametrize(("ci", "outcome"), [("true", {"errors": 1}), ("", {"skipped": 1})])
def test_without_postgresql_binaries_a_test_is_skipped_but_fails_under_ci(
    ci: str, outcome: dict[str, int], pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_plugin, "find_bindir", lambda: None)
    monkeypatch.delenv(postgres_plugin.TEST_POSTGRES_ENV, raising=False)
    monkeypatch.setenv("CI", ci)
    pytester.makepyfile(NEEDS_POSTGRES)

    result = pytester.runpytest_inprocess("-p", "casework.testing.postgres", "-rs")

    result.assert_outcomes(**outcome)
    result.stdout.fnmatch_lines(["*no PostgreSQL binaries found*"])


@pytest.mark.postgres
def test_with_casework_test_postgres_set_each_test_gets_its_own_database_there_dropped_after(
    postgres_server: postgres_plugin.PostgresServer,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(postgres_plugin.TEST_POSTGRES_ENV, postgres_server.url("postgres"))
    seen = pytester.path / "seen.txt"
    pytester.makepyfile(
        f"""
        import pathlib
        import pytest

        @pytest.mark.parametrize("n", [1, 2])
        def test_uses_the_given_server(postgres_url, n):
            assert ":{postgres_server.port}/" in postgres_url
            with open({str(seen)!r}, "a") as seen:
                print(postgres_url.rsplit("/", 1)[1], file=seen)
        """
    )

    result = pytester.runpytest_inprocess("-p", "casework.testing.postgres")

    result.assert_outcomes(passed=2)
    names = seen.read_text().split()
    assert len(set(names)) == 2
    with postgres_server.connect() as conn:
        rows = conn.execute("SELECT datname FROM pg_database").fetchall()
    assert not set(names) & {name for (name,) in rows}


@pytest.mark.postgres
def test_a_throwaway_cluster_is_stopped_and_deleted_even_when_the_block_fails() -> None:
    if postgres_plugin.find_bindir() is None:
        postgres_plugin.unavailable("no PostgreSQL binaries to start a cluster from")
    seen: list[tuple[postgres_plugin.PostgresServer, Path]] = []

    def use_then_fail() -> None:
        with postgres_plugin.throwaway_postgres() as server, server.connect() as conn:
            row = conn.execute("SHOW data_directory").fetchone()
            assert row is not None
            seen.append((server, Path(row[0])))
            assert seen[0][1].is_dir()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        use_then_fail()

    ((server, data_dir),) = seen
    assert not data_dir.parent.exists()
    with pytest.raises(psycopg.OperationalError):
        server.connect().close()
