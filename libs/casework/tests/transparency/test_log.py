"""The notary's log over a real store, and `check_store` catching each kind of tampering."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest
from casework.application import Casework
from casework.domain import Actor, Role
from casework.domain.errors import ValidationError
from casework.domain.people import PersonFile
from casework.transparency.chains import ChainWalk
from casework.transparency.checkpoints import notary_key
from casework.transparency.leaves import Leaf
from casework.transparency.merkle import Frontier, MerkleTree
from casework.transparency.notary import Notary, cadence
from casework.transparency.tables import Head, HeadMovedError, tables_for
from casework.transparency.verify import check_checkpoints, check_store, stored_leaves
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY = Ed25519PrivateKey.generate()
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
DPO = Actor("dpo-wang", Role.DATA_PROTECTION_OFFICER)


def _notarised(app: Casework, every: int = 1000) -> Notary:
    notary = Notary(app, KEY, every=every)
    notary.catch_up()
    notary.checkpoint()
    return notary


def test_the_log_holds_every_case_event_in_notification_order(
    app: Casework, cases: list[UUID]
) -> None:
    _notarised(app)
    logged = tables_for(app).leaves()
    assert logged == list(stored_leaves(app))
    assert [leaf.case_id for leaf in logged if leaf.version == 1] == cases
    assert len(logged) == sum(len(app.history(c)) for c in cases)
    for leaf in logged:
        assert leaf.event_hash == app.history(leaf.case_id)[leaf.version - 1].hash


def test_the_stored_frontier_gives_the_root_of_all_leaves(app: Casework, cases: list[UUID]) -> None:
    checkpoint = _notarised(app).checkpoint()
    head = tables_for(app).head()
    leaves = tables_for(app).leaves()
    assert head.frontier.size == checkpoint.size == len(leaves)
    assert head.frontier.root() == checkpoint.root == MerkleTree(x.digest() for x in leaves).root()


def test_checkpoints_come_every_n_events_and_each_extends_the_last(
    app: Casework, clock: Any, cases: list[UUID]
) -> None:
    notary = Notary(app, KEY, every=4)
    notary.catch_up()
    for case_id in cases * 2:
        app.add_note(case_id, STAFF, "回访")
    notary.catch_up()
    sizes = [c.size for c in tables_for(app).checkpoints()]
    assert len(sizes) >= 2
    assert sizes == sorted(sizes)
    results = check_checkpoints(app, KEY.public_key())
    assert all(r.ok for r in results), [r.describe() for r in results]


def test_an_untouched_store_matches_its_checkpoint(app: Casework, cases: list[UUID]) -> None:
    checkpoint = _notarised(app).checkpoint()
    result = check_store(app, checkpoint, KEY.public_key())
    assert result.ok, result.describe()


def test_a_restarted_notary_resumes_from_its_head(app: Casework, cases: list[UUID]) -> None:
    first = _notarised(app).checkpoint()
    again = Notary(app, KEY)
    assert again.catch_up() == 0
    resumed = again.checkpoint()
    assert (resumed.size, resumed.root) == (first.size, first.root)
    assert tables_for(app).head().frontier.root() == first.root


def test_truncation_is_tampered_naming_the_removed_event(
    app: Casework, cases: list[UUID], intruder: Any
) -> None:
    checkpoint = _notarised(app).checkpoint()
    intruder.delete(cases[2], 3)
    result = check_store(app, checkpoint, KEY.public_key())
    assert not result.ok
    assert f"case {cases[2]} event 3 is missing" in result.describe()
    assert result.describe().startswith("TAMPERED")


def test_a_deleted_case_is_tampered_naming_its_first_event(
    app: Casework, cases: list[UUID], intruder: Any
) -> None:
    checkpoint = _notarised(app).checkpoint()
    intruder.delete(cases[1])
    result = check_store(app, checkpoint, KEY.public_key())
    assert not result.ok
    first = next(i for i, x in enumerate(tables_for(app).leaves()) if x.case_id == cases[1])
    assert (
        f"case {cases[1]} event 1 is missing (removed; log position {first})" in result.describe()
    )


def test_a_rehashed_rewrite_is_tampered_though_the_chain_verifies(
    app: Casework, cases: list[UUID], intruder: Any
) -> None:
    checkpoint = _notarised(app).checkpoint()
    intruder.rewrite(cases[0], 2, "nobody called")
    assert app.verify(cases[0]).ok  # the chain alone cannot tell
    result = check_store(app, checkpoint, KEY.public_key())
    assert not result.ok
    assert f"case {cases[0]} event 2 differs from the one signed (rewritten" in result.describe()


def test_reordering_is_tampered(app: Casework, cases: list[UUID], intruder: Any) -> None:
    checkpoint = _notarised(app).checkpoint()
    intruder.move_to_end(cases[0], 2)
    result = check_store(app, checkpoint, KEY.public_key())
    assert not result.ok
    assert f"case {cases[0]} event 2 is not at log position" in result.describe()


def test_a_forged_checkpoint_is_caught(app: Casework, cases: list[UUID]) -> None:
    checkpoint = _notarised(app).checkpoint()
    other = Ed25519PrivateKey.generate()
    forged = dataclasses.replace(checkpoint, signature=other.sign(checkpoint.signed_text()))
    assert not check_store(app, forged, KEY.public_key()).ok
    resized = dataclasses.replace(checkpoint, size=checkpoint.size - 1)
    assert "signature does not verify" in check_store(app, resized, KEY.public_key()).describe()


def test_a_checkpoint_that_does_not_extend_its_predecessor_is_caught(
    app: Casework, cases: list[UUID], intruder: Any
) -> None:
    notary = _notarised(app)
    intruder.rewrite(cases[0], 1, "another report")
    # Someone with the key and the tables rebuilds the log from the rewritten events and signs it.
    tables = tables_for(app)
    with tables.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"DELETE FROM {tables.leaves_table}")
        cursor.execute(f"DELETE FROM {tables.head_table}")
    notary.forget()
    notary.catch_up()
    app.add_note(cases[0], STAFF, "more")
    notary.catch_up()
    notary.checkpoint()
    results = check_checkpoints(app, KEY.public_key())
    assert not all(r.ok for r in results)
    assert any("does not match" in r.message or "does NOT extend" in r.message for r in results)


def test_a_key_file_is_made_private_once_and_reused(tmp_path: Any) -> None:
    first = notary_key({}, tmp_path)
    assert (tmp_path / "notary.key").stat().st_mode & 0o777 == 0o600
    again = notary_key({}, tmp_path)
    assert first.public_key().public_bytes_raw() == again.public_key().public_bytes_raw()


@pytest.mark.parametrize("bad", ["not base64!", "c2hvcnQ="])
def test_a_bad_key_setting_is_a_clear_error(bad: str) -> None:
    with pytest.raises(ValidationError, match="CASEWORK_NOTARY_KEY must be base64"):
        notary_key({"CASEWORK_NOTARY_KEY": bad})


def test_leaves_bind_case_version_and_hash() -> None:
    leaf = Leaf(UUID(int=1), 2, "ab")
    assert leaf.digest() != Leaf(UUID(int=1), 3, "ab").digest()
    assert leaf.digest() != Leaf(UUID(int=2), 2, "ab").digest()
    assert leaf.digest() != Leaf(UUID(int=1), 2, "ac").digest()


def test_a_checkpoint_comes_after_t_seconds_though_fewer_than_n_events(
    app: Casework, cases: list[UUID]
) -> None:
    moments = iter([0.0, 1.0, 1.0, 31.0, 31.0, 31.0])
    notary = Notary(app, KEY, every=1000, seconds=30, now=lambda: next(moments))
    notary.catch_up()  # t=1: 12 events, 1 s since the start: not yet
    assert tables_for(app).checkpoints() == []
    notary.catch_up()  # t=31: due by time
    assert [c.size for c in tables_for(app).checkpoints()] == [len(tables_for(app).leaves())]


def test_a_second_notary_on_the_same_store_cannot_append_twice(
    app: Casework, cases: list[UUID]
) -> None:
    first, second = Notary(app, KEY), Notary(app, KEY)
    first.catch_up()
    second._head = Head(0, Frontier())  # it read the head before the first one appended
    with pytest.raises(Exception, match=r"(?i)unique|duplicate|constraint"):
        second.append_page()
    second.forget()
    assert second.catch_up() == 0
    assert tables_for(app).leaves() == list(stored_leaves(app))


@pytest.mark.parametrize("bad", [{"CASEWORK_NOTARY_EVERY": "0"}, {"CASEWORK_NOTARY_SECONDS": "x"}])
def test_a_bad_cadence_setting_is_a_clear_error(bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="CASEWORK_NOTARY_"):
        cadence(bad)


def test_processes_starting_at_once_share_one_key_file(tmp_path: Any) -> None:
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: notary_key({}, tmp_path), range(16)))
    assert len({k.public_key().public_bytes_raw() for k in keys}) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["notary.key"]


def test_a_rewrite_of_the_events_and_the_leaf_table_is_still_tampered(
    app: Casework, cases: list[UUID], intruder: Any
) -> None:
    checkpoint = _notarised(app).checkpoint()
    intruder.rewrite(cases[0], 1, "another report")
    tables = tables_for(app)
    with tables.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"DELETE FROM {tables.leaves_table}")
        cursor.execute(f"DELETE FROM {tables.head_table}")
    Notary(app, KEY).catch_up()  # the leaves now agree with the rewritten events
    result = check_store(app, checkpoint, KEY.public_key())
    assert not result.ok
    assert "leaf table does not either" in result.describe()


TAMPERINGS = ["none", "delete_middle", "delete_last", "delete_case", "alter", "rewrite", "move"]


@pytest.mark.parametrize("tampering", TAMPERINGS)
def test_the_one_pass_chain_walk_says_what_verify_says(
    app: Casework, cases: list[UUID], intruder: Any, tampering: str
) -> None:
    checkpoint = _notarised(app).checkpoint()
    if tampering == "delete_middle":
        intruder.delete(cases[0], 2)
    elif tampering == "delete_last":
        intruder.delete(cases[1], 4)
    elif tampering == "delete_case":
        intruder.delete(cases[2])
    elif tampering == "alter":  # content changed, its hash not
        state = app.mapper.transcoder.decode(intruder.row(cases[0], 3)[1])
        state["reason"] = "edited"
        intruder._run(
            "UPDATE {t} SET state = {m} WHERE originator_id = {m} AND originator_version = {m}",
            (app.mapper.transcoder.encode(state), intruder._id(cases[0]), 3),
        )
    elif tampering == "rewrite":
        intruder.rewrite(cases[1], 2, "nobody called")
    elif tampering == "move":
        intruder.move_to_end(cases[0], 2)
    walk = ChainWalk()
    logged = check_store(app, checkpoint, KEY.public_key(), walk)
    said = [(r.case_id, r.ok, r.position, r.problem) for r in walk.results()]
    verified = [(r.case_id, r.ok, r.position, r.problem) for r in app.verify_all()]
    assert sorted(said, key=str) == sorted(verified, key=str)
    assert logged.ok == (tampering in ("none", "alter"))  # the log binds hashes, not content


def test_a_notary_that_read_an_old_head_cannot_move_it_back(
    app: Casework, cases: list[UUID]
) -> None:
    """Interleaved: the second notary read the head, the first appended past it, then the second
    appends a page of no case event (no leaf, so no position's key stops it). Its head write
    must fail, not set the head back; after rereading it carries on from the first's head."""
    first, second = Notary(app, KEY), Notary(app, KEY)
    first.catch_up()
    app.save(PersonFile.open("r-0302", DPO, app.clock()))  # notifications of no case
    read = tables_for(app).head()

    def where(head: Head) -> tuple[int, int, list[bytes]]:
        return head.notification_id, head.frontier.size, head.frontier.hashes

    second._head = Head(read.notification_id, Frontier())  # read when the log was empty
    with pytest.raises(HeadMovedError, match="reread"):
        second.append_page()
    assert where(tables_for(app).head()) == where(read)
    second.forget()
    assert second.catch_up() == 0
    assert tables_for(app).head().notification_id > read.notification_id
    assert tables_for(app).leaves() == list(stored_leaves(app))
    first.forget()
    assert first.catch_up() == 0  # nothing stalls: both read the head and find nothing to add
