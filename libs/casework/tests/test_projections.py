"""The services' read models filter by scope in SQL; the filter must agree with plain Python."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from casework.projections.sqlite import Scope, SqliteReadModel, compound_where
from hypothesis import given, settings
from hypothesis import strategies as st

SEGMENT = st.text(alphabet="ab%_\\/", min_size=1, max_size=3).filter(lambda s: "/" not in s)
ADDRESS = st.lists(SEGMENT, min_size=1, max_size=4).map("/".join)

SCHEMA = """
create table cases (case_id text primary key, address text, community text, compound text);
create table people (case_id text, actor_id text);
"""


def matching(db: sqlite3.Connection, scope: Scope) -> set[str]:
    where, args = scope.where("people")
    clause = " where " + " and ".join(where) if where else ""
    return {row[0] for row in db.execute(f"select case_id from cases{clause}", args)}


@settings(max_examples=150, deadline=None)
@given(addresses=st.lists(ADDRESS, min_size=1, max_size=8, unique=True), place=ADDRESS)
def test_a_place_scope_matches_exactly_the_addresses_at_or_below_it(
    addresses: list[str], place: str
) -> None:
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA)
    db.executemany(
        "insert into cases values (?, ?, '', '')", [(str(i), a) for i, a in enumerate(addresses)]
    )
    expected = {str(i) for i, a in enumerate(addresses) if a == place or a.startswith(place + "/")}
    assert matching(db, Scope(place=place)) == expected


def test_a_person_sees_their_own_cases_an_auditor_all_and_an_unplaced_actor_none() -> None:
    db = sqlite3.connect(":memory:")
    db.executescript(SCHEMA)
    db.executemany("insert into cases values (?, 'c/x/b1/0101', 'c', 'x')", [("1",), ("2",)])
    db.execute("insert into people values ('2', 'resident-0101')")
    assert matching(db, Scope(person="resident-0101")) == {"2"}
    assert matching(db, Scope(everything=True)) == {"1", "2"}
    assert matching(db, Scope()) == set()


def test_a_compound_is_named_by_its_id_or_by_community_and_id() -> None:
    assert compound_where("c/x") == ("community || '/' || compound = ?", "c/x")
    assert compound_where("x") == ("compound = ?", "x")


def test_a_transaction_that_fails_leaves_nothing_behind(tmp_path: Path) -> None:
    model = SqliteReadModel(tmp_path / "rm.db", "create table t (n integer);")
    try:
        with model.transaction() as db:
            db.execute("insert into t values (1)")
        try:
            with model.transaction() as db:
                db.execute("insert into t values (2)")
                raise RuntimeError("a fact that cannot be applied")
        except RuntimeError:
            pass
        with model.transaction() as db:
            assert db.execute("select n from t").fetchall() == [(1,)]
    finally:
        model.close()


def test_a_poller_survives_a_failing_poll_forgets_its_cache_and_goes_on() -> None:
    import threading

    from casework.projections.polling import Poller

    class Flaky(Poller):
        def __init__(self) -> None:
            super().__init__()
            self.calls = 0
            self.forgotten = 0
            self.third = threading.Event()

        def catch_up(self) -> int:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("the store went away for a moment")
            if self.calls >= 3:
                self.third.set()
            return 0

        def forget(self) -> None:
            self.forgotten += 1

    poller = Flaky()
    poller.start(0.01)
    try:
        assert poller.third.wait(5)
    finally:
        poller.stop()
    assert poller.forgotten == 1
    calls = poller.calls
    assert not poller._thread.is_alive()  # type: ignore[union-attr]
    assert poller.calls == calls
