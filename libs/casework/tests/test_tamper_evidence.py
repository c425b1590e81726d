"""Tamper evidence against someone who edits the SQLite file directly.

Edits go straight into eventsourcing's `stored_events` table with `sqlite3`, the way an intruder or
a careless migration would, bypassing the library. `verify` must name the first broken event and
must never raise on what it finds there.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework.application import Casework
from casework.audit import Anchor
from casework.clock import FakeClock
from casework.domain import SYSTEM, Actor, Role
from casework.domain.chain import event_digest
from casework.domain.errors import TamperedError
from casework.stored_check import check_general, check_stored
from eventsourcing.persistence import StoredEvent
from hypothesis import example, given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8)))
TABLE = "stored_events"
RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
VOLUNTEER = Actor("volunteer-zhao", Role.VOLUNTEER)
SECRETARY = Actor("secretary-chen", Role.PARTY_SECRETARY)


@dataclass
class Store:
    app: Casework
    path: Path
    repair: UUID
    leak: UUID
    dispute: UUID

    def rows(self, case_id: UUID) -> list[tuple[int, str, bytes]]:
        with closing(sqlite3.connect(self.path)) as db:
            return db.execute(
                f"SELECT originator_version, topic, state FROM {TABLE} "
                "WHERE originator_id = ? ORDER BY originator_version",
                (case_id.hex,),
            ).fetchall()

    def execute(self, sql: str, *params: Any) -> None:
        with closing(sqlite3.connect(self.path)) as db, db:
            cursor = db.execute(sql.format(table=TABLE), params)
            assert cursor.rowcount == 1, "each tampering statement edits exactly one row"

    @contextmanager
    def state_replaced(self, case_id: UUID, version: int, state: bytes) -> Iterator[None]:
        original = self.rows(case_id)[version - 1][2]
        self.set_state(case_id, version, state)
        try:
            yield
        finally:
            self.set_state(case_id, version, original)

    def set_state(self, case_id: UUID, version: int, state: bytes) -> None:
        self.execute(
            "UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            state,
            case_id.hex,
            version,
        )

    def encode(self, state: dict[str, Any]) -> bytes:
        return self.app.mapper.transcoder.encode(state)

    def decode(self, raw: bytes) -> dict[str, Any]:
        decoded: dict[str, Any] = self.app.mapper.transcoder.decode(raw)
        return decoded


def tell_stories(path: Path) -> Store:
    clock = FakeClock(T0)
    app = Casework("sqlite:///" + str(path), clock=clock)
    repair = app.report_repair(
        RESIDENT, "jiayu-xx/wanxin-intl/b12/0302", "楼道灯不亮了", "lighting"
    )
    clock.advance(timedelta(minutes=3))
    app.acknowledge(repair, STAFF, "电话已接")
    app.assign(repair, STAFF, VOLUNTEER, "party member, electrician")
    clock.advance(timedelta(minutes=40))
    app.start_work(repair, VOLUNTEER)
    app.finish_work(repair, VOLUNTEER, "replaced the bulb")
    app.resolve(repair, STAFF, "light works")
    app.confirm_resolution(repair, RESIDENT)
    app.rate_satisfaction(repair, RESIDENT, 5, "很满意")

    leak = app.report_leak(
        RESIDENT, "jiayu-xx/wanxin-intl/b9/0401", "对门漏水", "0402", source_unoccupied=True
    )
    app.attempt_owner_contact(leak, STAFF, "phone", "no_answer")
    clock.advance(timedelta(minutes=16))
    app.escalate_if_due(leak, SYSTEM)
    app.stop_water(leak, STAFF, "riser_valve_shut")

    dispute = app.report_dispute(RESIDENT, "jiayu-xx/wanxin-intl", "充电难", "ev_charging")
    meeting = app.convene_mediation(dispute, SECRETARY, "opinion_collection", clock(), "hall", [])
    app.hold_round(
        dispute, SECRETARY, meeting, ["r1", "r2"], "progress", options=["a", "b"], tally={"a": 9}
    )
    return Store(app, path, repair, leak, dispute)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = tell_stories(tmp_path_factory.mktemp("tamper") / "c.db")
    yield store
    store.app.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    fresh = tell_stories(tmp_path / "c.db")
    yield fresh
    fresh.app.close()


def test_an_untouched_store_verifies_every_case(store: Store) -> None:
    results = list(store.app.verify_all())
    assert {r.case_id for r in results} == {store.repair, store.leak, store.dispute}
    assert all(r.ok for r in results), [r.describe() for r in results if not r.ok]
    assert [r.events for r in results] == [len(store.rows(r.case_id)) for r in results]


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_to_any_stored_event_is_caught_at_its_position(
    shared: Store, data: st.DataObject
) -> None:
    case_id = data.draw(st.sampled_from([shared.repair, shared.leak, shared.dispute]), "case")
    rows = shared.rows(case_id)
    version = data.draw(st.integers(1, len(rows)), label="version")
    state = rows[version - 1][2]
    index = data.draw(st.integers(0, len(state) - 1), label="byte")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != state[index]), label="new byte")
    tampered = state[:index] + bytes([byte]) + state[index + 1 :]

    with shared.state_replaced(case_id, version, tampered):
        result = shared.app.verify(case_id)

    assert not result.ok
    assert result.position == version, result.describe()
    assert result.problem
    assert shared.app.verify(case_id).ok


def test_a_removed_middle_event_is_reported_where_the_gap_is(store: Store) -> None:
    store.execute(
        "DELETE FROM {table} WHERE originator_id = ? AND originator_version = 4", store.repair.hex
    )
    result = store.app.verify(store.repair)
    assert (result.ok, result.position) == (False, 4)
    assert "expected version 4, found 5: an event was removed" in result.problem


def test_two_events_swapped_in_place_are_reported_at_the_first(store: Store) -> None:
    rows = store.rows(store.repair)
    store.set_state(store.repair, 3, rows[3][2])
    store.set_state(store.repair, 4, rows[2][2])
    result = store.app.verify(store.repair)
    assert (result.ok, result.position) == (False, 3)
    assert "altered" in result.problem


def test_an_event_renumbered_to_close_a_gap_is_reported(store: Store) -> None:
    store.execute(
        "DELETE FROM {table} WHERE originator_id = ? AND originator_version = 4", store.repair.hex
    )
    store.execute(
        "UPDATE {table} SET originator_version = 4 "
        "WHERE originator_id = ? AND originator_version = 5",
        store.repair.hex,
    )
    result = store.app.verify(store.repair)
    assert (result.ok, result.position) == (False, 4)


def test_a_last_event_moved_to_a_later_version_is_reported_as_a_removal(store: Store) -> None:
    last = len(store.rows(store.repair))
    store.execute(
        "UPDATE {table} SET originator_version = ? WHERE originator_id = ? "
        "AND originator_version = ?",
        last + 3,
        store.repair.hex,
        last,
    )
    result = store.app.verify(store.repair)
    assert (result.ok, result.position) == (False, last)
    assert "an event was removed" in result.problem


def test_a_forged_event_inserted_in_the_middle_is_caught_where_the_old_ones_were_moved(
    store: Store,
) -> None:
    rows = store.rows(store.repair)
    for version in range(len(rows), 3, -1):  # make room at version 4, top first
        store.execute(
            "UPDATE {table} SET originator_version = ? WHERE originator_id = ? "
            "AND originator_version = ?",
            version + 1,
            store.repair.hex,
            version,
        )
    forged = store.decode(rows[3][2])  # a copy of the old 4th event ...
    forged["reason"] = "assigned by the manager himself"  # ... with a new story
    forged["prev_hash"] = store.decode(rows[2][2])["hash"]
    forged["hash"] = event_digest(rows[3][1], store.repair, 4, forged)
    store.execute(
        "INSERT INTO {table} VALUES (?, ?, ?, ?)",
        store.repair.hex,
        4,
        rows[3][1],
        store.encode(forged),
    )
    result = store.app.verify(store.repair)
    assert (result.ok, result.position) == (False, 5)


def test_an_altered_last_event_is_caught(store: Store) -> None:
    rows = store.rows(store.repair)
    last = store.decode(rows[-1][2])
    assert last["score"] == 5
    last["score"] = 1
    store.set_state(store.repair, len(rows), store.encode(last))
    result = store.app.verify(store.repair)
    assert (result.ok, result.position) == (False, len(rows))
    assert result.problem == "content does not match its hash (altered)"


def test_an_undecodable_event_is_reported_as_tampered_not_raised(store: Store) -> None:
    store.set_state(store.leak, 2, b"\xff\xfe not json at all")
    result = store.app.verify(store.leak)
    assert (result.ok, result.position) == (False, 2)
    assert result.problem.startswith("stored state cannot be decoded")
    checked = {r.case_id: r.ok for r in store.app.verify_all()}
    assert checked == {store.repair: True, store.leak: False, store.dispute: True}


def test_an_event_that_decodes_to_something_else_than_a_record_is_reported(store: Store) -> None:
    store.set_state(store.leak, 1, b"[1,2,3]")
    result = store.app.verify(store.leak)
    assert (result.ok, result.position) == (False, 1)
    assert result.problem == "stored state is not an event record"


def test_an_event_rewritten_in_a_non_canonical_form_is_reported(store: Store) -> None:
    state = store.rows(store.dispute)[0][2]
    store.set_state(store.dispute, 1, state.replace(b'"reason":""', b'"reason": ""', 1))
    result = store.app.verify(store.dispute)
    assert (result.ok, result.position) == (False, 1)
    assert "canonical" in result.problem


@pytest.mark.parametrize(
    "topic",
    ["casework.domain.repair:Repair.Closed", "casework.domain.nowhere:Nothing.AtAll", ""],
    ids=["another-real-event", "unknown-topic", "empty"],
)
def test_an_altered_topic_is_caught_and_never_crashes(store: Store, topic: str) -> None:
    store.execute(
        "UPDATE {table} SET topic = ? WHERE originator_id = ? AND originator_version = 3",
        topic,
        store.repair.hex,
    )
    result = store.app.verify(store.repair)
    assert (result.ok, result.position) == (False, 3)
    assert result.problem == "content does not match its hash (altered)"


def test_removed_trailing_events_are_caught_only_against_an_anchor(store: Store) -> None:
    anchors = store.app.anchors()
    rows = store.rows(store.repair)
    for version in (len(rows), len(rows) - 1):
        store.execute(
            "DELETE FROM {table} WHERE originator_id = ? AND originator_version = ?",
            store.repair.hex,
            version,
        )
    # A shorter chain is still a consistent chain: without an anchor this cannot be seen.
    assert store.app.verify(store.repair).ok
    result = store.app.verify(store.repair, anchors[store.repair])
    assert (result.ok, result.position) == (False, len(rows) - 1)
    assert f"the anchor saw {len(rows)} events; only {len(rows) - 2} remain" in result.problem
    failed = [r.case_id for r in store.app.verify_all(anchors) if not r.ok]
    assert failed == [store.repair]


def test_a_case_deleted_whole_is_named_by_its_anchor_and_by_nothing_else(store: Store) -> None:
    anchors = store.app.anchors()
    with closing(sqlite3.connect(store.path)) as db, db:
        db.execute(f"DELETE FROM {TABLE} WHERE originator_id = ?", (store.dispute.hex,))
    # Gone from the notification log too: without anchors the store looks whole.
    assert all(r.ok for r in store.app.verify_all())
    assert store.dispute not in set(store.app.case_ids())
    results = {r.case_id: r for r in store.app.verify_all(anchors)}
    assert set(results) == set(anchors)
    gone = results[store.dispute]
    assert (gone.ok, gone.events, gone.position) == (False, 0, 1)
    assert "none remain (removed)" in gone.problem
    assert [r.case_id for r in results.values() if not r.ok] == [store.dispute]


def test_anchors_are_refused_for_a_store_that_does_not_verify(store: Store) -> None:
    store.execute(
        "DELETE FROM {table} WHERE originator_id = ? AND originator_version = ?",
        store.leak.hex,
        2,
    )
    with pytest.raises(TamperedError, match=f"case {store.leak}: TAMPERED at event 2"):
        store.app.anchors()


def test_a_fully_rechained_forgery_passes_the_chain_but_not_the_anchor(store: Store) -> None:
    anchors = store.app.anchors()
    rows = store.rows(store.repair)
    previous = store.decode(rows[1][2])["hash"]
    for version, topic, raw in rows[2:]:
        state = store.decode(raw)
        if version == 3:
            state["reason"] = "never received"
        state["prev_hash"] = previous
        state["hash"] = event_digest(topic, store.repair, version, state)
        previous = state["hash"]
        store.set_state(store.repair, version, store.encode(state))
    assert store.app.verify(store.repair).ok
    result = store.app.verify(store.repair, anchors[store.repair])
    assert (result.ok, result.position) == (False, len(rows))
    assert "rewritten" in result.problem


def test_an_anchor_from_an_earlier_moment_still_holds_after_new_events(store: Store) -> None:
    earlier = store.app.anchors()[store.leak]
    store.app.record_cause(store.leak, STAFF, "valve left open by the renovation worker")
    assert store.app.verify(store.leak, earlier).ok
    assert store.app.verify(store.leak, Anchor(earlier.version, "0" * 64)).position == (
        earlier.version
    )


# ---------------------------------------------------------------- the fast reading and the walk
# `verify`'s fast reading of stored events (`casework.stored_check`: canonical bytes and digest
# from the stored JSON text, deferring to the general path wherever it cannot vouch for its
# answer) must give the answers of the reading ADR 001 describes, and `verify_all`'s one pass
# over the log (`ChainWalk`) the answers of `verify` case by case, on the same tampered stores.


@pytest.fixture(scope="module")
def shared_paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = tell_stories(tmp_path_factory.mktemp("paths") / "c.db")
    yield store
    store.app.close()


def same(store: Store, stored: StoredEvent) -> None:
    fast = check_stored(store.app.mapper, stored)
    general = check_general(store.app.mapper, stored)
    assert (fast[0] is None, fast[1], fast[2]) == (general[0] is None, general[1], general[2])
    if fast[0] is not None and general[0] is not None:
        assert fast[0].get("hash") == general[0].get("hash")
        assert fast[0].get("prev_hash") == general[0].get("prev_hash")


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_reads_alike_on_both_paths_and_in_both_walks(
    shared_paths: Store, data: st.DataObject
) -> None:
    case_id = data.draw(
        st.sampled_from([shared_paths.repair, shared_paths.leak, shared_paths.dispute]), "case"
    )
    rows = shared_paths.rows(case_id)
    version = data.draw(st.integers(1, len(rows)), label="version")
    _, topic, state = rows[version - 1]
    index = data.draw(st.integers(0, len(state) - 1), label="byte")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != state[index]), label="new byte")
    tampered = state[:index] + bytes([byte]) + state[index + 1 :]

    same(shared_paths, StoredEvent(case_id, version, topic, state))
    same(shared_paths, StoredEvent(case_id, version, topic, tampered))
    with shared_paths.state_replaced(case_id, version, tampered):
        walked = list(shared_paths.app.verify_all())
        one_by_one = [shared_paths.app.verify(r.case_id) for r in walked]
    assert walked == one_by_one


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            b'"_type_":"datetime_iso","_data_":"2026-11-24T09:',
            b'"_type_":"datetime_iso","_data_":"2026-11-24 09:',
        ),
        (b"T09:", b"T9:"),
        (b'+08:00"}', b'+0800"}'),
        (b'{"_type_":"datetime_iso","_data_":', b'{"_type_":"decimal_str","_data_":'),
        (b'{"_type_":"datetime_iso","_data_":', b'{"_type_":"nothing_known","_data_":'),
        (b'{"_type_":"datetime_iso",', b'{"_type_" :"datetime_iso",'),
        (b'"resident-0302"', b'"resident-\\u00302"'),
        (b'"resident-0302"', b'"resident-\\u0030\\u0032"'),
        (b'"tier":', b'"hash":1,"tier":'),
        (b'"tier":', b'"originator_version":1,"tier":'),
        (b'"tier":', b'"when":{"_data_":"x","_type_":"uuid_hex"},"tier":'),
        (
            b'"tier":',
            b'"when":{"_type_":"uuid_hex","_data_":"0123456789ABCDEF0123456789abcdef"},"tier":',
        ),
        (
            b'"tier":',
            b'"when":{"_type_":"uuid_hex","_data_":"0123456789abcdef0123456789abcdef"},"tier":',
        ),
        (b'"tier":', b'"when":{"_type_":"uuid_hex","_data_":"x","more":1},"tier":'),
        (b'"tier":', b'"when":[1.5,1e16,-0.0,null,true],"tier":'),
    ],
)
def test_edits_near_the_typed_values_read_alike_on_both_paths(
    shared_paths: Store, old: bytes, new: bytes
) -> None:
    found = 0
    for case_id in (shared_paths.repair, shared_paths.leak, shared_paths.dispute):
        for version, topic, state in shared_paths.rows(case_id):
            if old in state:
                found += 1
                same(shared_paths, StoredEvent(case_id, version, topic, state.replace(old, new, 1)))
    assert found


@example(delete=4)
@settings(max_examples=10, deadline=None)
@given(delete=st.integers(1, 9))
def test_a_removed_event_reads_alike_in_both_walks_with_and_without_anchors(
    tmp_path_factory: pytest.TempPathFactory, delete: int
) -> None:
    store = tell_stories(tmp_path_factory.mktemp("removed") / "c.db")
    try:
        anchors = store.app.anchors()
        anchors[store.leak] = Anchor(anchors[store.leak].version, "0" * 64)
        store.execute(
            "DELETE FROM {table} WHERE originator_id = ? AND originator_version = ?",
            store.repair.hex,
            delete,
        )
        for given_anchors in ({}, anchors):
            walked = list(store.app.verify_all(given_anchors))
            one_by_one = [store.app.verify(r.case_id, given_anchors.get(r.case_id)) for r in walked]
            assert walked == one_by_one
            assert walked[0].case_id == store.repair
            assert not walked[0].ok or not given_anchors  # the last one: only an anchor sees it
    finally:
        store.app.close()


@pytest.mark.parametrize("key", [b"hash", b"prev_hash"])
@pytest.mark.parametrize(
    "typed",
    [
        b'{"_type_":"uuid_hex","_data_":"0123456789abcdef0123456789abcdef"}',
        b'{"_type_":"datetime_iso","_data_":"2026-11-24T09:00:00+08:00"}',
    ],
)
def test_a_hash_stored_as_a_typed_value_reads_alike_on_both_paths(
    shared_paths: Store, key: bytes, typed: bytes
) -> None:
    """A typed value is no hash to the general path (it decodes to a UUID or a time): the
    shortcuts must not read it as its plain text (the wording and the log's leaf would differ)."""
    case_id = shared_paths.repair
    _, topic, state = shared_paths.rows(case_id)[1]
    tampered = re.sub(b'"' + key + b'":"[0-9a-f]*"', b'"' + key + b'":' + typed, state, count=1)
    assert tampered != state
    same(shared_paths, StoredEvent(case_id, 2, topic, tampered))
