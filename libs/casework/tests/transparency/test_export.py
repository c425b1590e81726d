"""Self-verifying exports: real exports verify offline, any changed byte fails, and the
standalone `docs/verify_export.py` agrees with `casework verify-file` on every file."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.domain import Actor, Role
from casework.privacy.people import erase
from casework.testing.siblings import module_from_path
from casework.transparency.checkpoints import public_text
from casework.transparency.exports import build_export, canonical, verify_export
from casework.transparency.notary import Notary
from casework.transparency.verify import check_store
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key()
RAW_PUBLIC = base64.b64decode(public_text(PUBLIC))
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
RESIDENT = Actor("resident-0302", Role.RESIDENT)
ROOT = Path(__file__).resolve().parents[4]


def _standalone() -> ModuleType:
    return module_from_path(ROOT / "docs" / "verify_export.py", "verify_export")


STANDALONE = _standalone()


def _export(app: Casework, case_id: UUID) -> bytes:
    return canonical(build_export(app, case_id))


def _agree(data: bytes) -> bool:
    """Both verifiers' verdict on `data`; fails the test when they differ."""
    ours = verify_export(data, PUBLIC).ok
    theirs = not STANDALONE.problems(data, RAW_PUBLIC)
    assert ours == theirs, (ours, STANDALONE.problems(data, RAW_PUBLIC), data[:200])
    return ours


def test_a_real_export_verifies_with_both_verifiers(app: Casework, cases: list[UUID]) -> None:
    Notary(app, KEY).checkpoint()
    for case_id in cases:
        data = _export(app, case_id)
        assert _agree(data)
        document = json.loads(data)
        assert [e["version"] for e in document["events"]] == list(
            range(1, len(document["events"]) + 1)
        )
        assert all(e["proof"] is not None for e in document["events"])


def test_events_newer_than_the_checkpoint_do_not_pass_as_proven(
    app: Casework, cases: list[UUID]
) -> None:
    Notary(app, KEY).checkpoint()
    app.add_note(cases[0], STAFF, "after the checkpoint")
    data = _export(app, cases[0])
    result = verify_export(data, PUBLIC)
    assert not result.ok
    assert "not in the checkpoint" in result.describe()
    assert not _agree(data)
    Notary(app, KEY).checkpoint()
    assert _agree(_export(app, cases[0]))


def test_an_export_signed_by_another_key_fails(app: Casework, cases: list[UUID]) -> None:
    Notary(app, Ed25519PrivateKey.generate()).checkpoint()
    data = _export(app, cases[0])
    assert "signature does not verify" in verify_export(data, PUBLIC).describe()
    assert not _agree(data)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bytes]:
    clock = FakeClock(datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8))))
    path = tmp_path_factory.mktemp("export") / "c.db"
    app = Casework(f"sqlite:///{path}", clock=clock)
    case_id = app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b12/0302", "灯不亮", "lighting")
    other = app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b12/0303", "门坏了", "door_access")
    clock.advance(timedelta(minutes=5))
    app.acknowledge(case_id, STAFF, "电话已接")
    app.acknowledge(other, STAFF, "收到")
    app.add_note(case_id, STAFF, "tried twice, 1.5 hours")
    Notary(app, KEY).checkpoint()
    yield _export(app, case_id)
    app.close()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_changed_byte_fails_both_verifiers(exported: bytes, data: st.DataObject) -> None:
    assert _agree(exported)
    index = data.draw(st.integers(0, len(exported) - 1), label="byte")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != exported[index]), label="new")
    changed = exported[:index] + bytes([byte]) + exported[index + 1 :]
    assert not _agree(changed)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_the_verifiers_agree_on_edited_documents(exported: bytes, data: st.DataObject) -> None:
    """Edits an intruder would make to the JSON itself, re-encoded canonically."""
    document: dict[str, Any] = json.loads(exported)
    events = document["events"]
    edit = data.draw(
        st.sampled_from(
            ["drop_last", "drop_first", "swap", "reason", "position", "size", "origin", "unnamed"]
        )
    )
    if edit == "drop_last":
        events.pop()
    elif edit == "drop_first":
        events.pop(0)
    elif edit == "swap":
        events[0], events[1] = events[1], events[0]
    elif edit == "reason":
        old = events[-1]["state"]["reason"]
        events[-1]["state"]["reason"] = data.draw(st.text(max_size=5).filter(lambda t: t != old))
    elif edit == "position":
        events[0]["position"] += data.draw(st.integers(1, 3))
    elif edit == "origin":  # passed off as another deployment's log
        document["checkpoint"]["origin"] = "casework.example.org/elsewhere"
    elif edit == "unnamed":  # passed off as a checkpoint signed before logs were named
        del document["checkpoint"]["origin"]
        document["checkpoint"]["format"] = "casework.checkpoint.v1"
    else:
        document["checkpoint"]["size"] += 1
    verdict = _agree(canonical(document))
    # Dropping the last event leaves a shorter, still-proven prefix: an export is one case file as
    # exported; a truncated copy is caught against the store (`verify --checkpoint`), not here.
    assert verdict == (edit == "drop_last")


def test_personal_values_stay_sealed_and_proofs_verify_after_an_erasure(app: Casework) -> None:
    officer = Actor("dpo-chen", Role.DATA_PROTECTION_OFFICER)
    case_id = app.report_repair(
        RESIDENT, "jiayu-xx/wanxin-intl/b12/0302", "电话 13812345678", "other"
    )
    before = Notary(app, KEY).checkpoint()
    sealed = _export(app, case_id)
    assert b"13812345678" not in sealed
    assert _agree(sealed)
    erase(app, app.privacy, RESIDENT.id, officer, "request PIPL-2026-015")
    after = Notary(app, KEY).checkpoint()
    assert _agree(_export(app, case_id))
    assert check_store(app, before, PUBLIC).ok
    assert check_store(app, after, PUBLIC).ok


STORED_FORMS = {
    "compressed": {"COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"},
    "encrypted": {"CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher"},
    "both": {
        "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
        "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
    },
}


@pytest.mark.parametrize("form", sorted(STORED_FORMS))
def test_a_store_with_a_cipher_or_compressor_exports_plain_json_that_verifies_offline(
    store_url: str, clock: FakeClock, form: str
) -> None:
    """The export is the state the chain hashed, with the store's cipher and compressor undone:
    an auditor needs neither the store's cipher key nor eventsourcing to check it."""
    from eventsourcing.cryptography import AESCipher

    env = dict(STORED_FORMS[form])
    if "CIPHER_TOPIC" in env:
        env["CIPHER_KEY"] = AESCipher.create_key(16)
    app = Casework(store_url, clock=clock, env=env)
    try:
        assert (app.mapper.cipher is not None) == ("CIPHER_TOPIC" in env)
        assert (app.mapper.compressor is not None) == ("COMPRESSOR_TOPIC" in env)
        case_id = app.report_repair(
            RESIDENT, "jiayu-xx/wanxin-intl/b12/0302", "电话 13812345678", "lighting"
        )
        app.acknowledge(case_id, STAFF, "电话已接")
        Notary(app, KEY).checkpoint()
        data = _export(app, case_id)
        assert _agree(data)
        document = json.loads(data)
        assert [e["hash"] for e in document["events"]] == [h.hash for h in app.history(case_id)]
        assert document["events"][-1]["state"]["reason"] == "电话已接"
        assert b"13812345678" not in data
    finally:
        app.close()


def test_stored_bytes_that_do_not_decode_are_reported_not_exported(
    tmp_path: Path, clock: FakeClock
) -> None:
    import sqlite3

    from casework.domain.errors import TamperedError

    path = tmp_path / "c.db"
    app = Casework(f"sqlite:///{path}", clock=clock)
    try:
        case_id = app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b12/0302", "灯不亮", "other")
        with sqlite3.connect(path) as db:
            db.execute(
                "UPDATE stored_events SET state = ? WHERE originator_id = ? "
                "AND originator_version = 1",
                (b"\x9c\xff not json", case_id.hex),
            )
        with pytest.raises(TamperedError, match=f"case {case_id} event 1: .*casework verify"):
            build_export(app, case_id)
    finally:
        app.close()


def test_the_kept_tree_grows_with_each_checkpoint_and_is_rebuilt_when_it_is_not_the_signed_one(
    app: Casework, cases: list[UUID]
) -> None:
    from casework.transparency.merkle import MerkleTree
    from casework.transparency.tables import tables_for

    notary = Notary(app, KEY)
    first = notary.checkpoint()
    assert _agree(_export(app, cases[0]))
    tables = tables_for(app)
    kept = tables.tree
    assert kept is not None
    assert kept.size == first.size
    app.add_note(cases[0], STAFF, "after the first checkpoint")
    second = notary.checkpoint()
    assert _agree(_export(app, cases[0]))
    assert tables.tree is kept  # extended, not rebuilt
    assert kept.size == second.size > first.size
    tables.tree = MerkleTree([b"\x00" * 32] * second.size)  # not what the notary signed
    assert _agree(_export(app, cases[1]))
    assert tables.tree is not None
    assert tables.tree.root() == second.root


def test_a_case_stored_before_sealing_is_not_exported_until_migrated(tmp_path: Path) -> None:
    """A store written before personal data was sealed (the migration's fixture, ADR 011) holds
    descriptions and phone numbers in plaintext: exporting it would hand them to auditors."""
    from casework.domain.errors import InvalidTransitionError
    from casework.privacy.migration import migrate
    from eventsourcing.persistence import StoredEvent

    fixture = ROOT / "libs" / "casework" / "tests" / "fixtures" / "store_before_sealing.json"
    document = json.loads(fixture.read_text(encoding="utf-8"))
    app = Casework(f"sqlite:///{tmp_path / 'old.db'}", clock=FakeClock(datetime.now(UTC)))
    try:
        app.recorder.insert_events(
            [
                StoredEvent(
                    UUID(e["originator_id"]),
                    e["originator_version"],
                    e["topic"],
                    e["state"].encode(),
                )
                for e in document["events"]
            ]
        )
        case_id = UUID(document["events"][0]["originator_id"])
        with pytest.raises(InvalidTransitionError, match=r"plaintext.*casework person migrate"):
            build_export(app, case_id)
        # Migrated before the notary first logs the store: a migration rewrites events in place,
        # so events logged before it never match the log again (ADR 014, "Consequences").
        assert all(not m.problem for m in migrate(app, app.privacy))
        Notary(app, KEY).checkpoint()
        data = _export(app, case_id)
        assert b"13812345678" not in data
        assert _agree(data)
    finally:
        app.close()


def test_a_checkpoint_names_its_log_and_another_logs_checkpoint_does_not_pass(
    app: Casework, cases: list[UUID], tmp_path: Path
) -> None:
    """Two deployments sharing a notary key (replicas of one do, by design): the origin line
    signed into each checkpoint tells their logs apart, offline and against the store."""
    from casework.transparency.tables import tables_for

    signed = Notary(app, KEY, origin="casework.example.org/wanxin").checkpoint()
    assert signed.origin == "casework.example.org/wanxin"
    assert signed.to_json()["format"] == "casework.checkpoint.v2"
    assert tables_for(app).latest() == signed  # read back with its origin
    data = _export(app, cases[0])
    assert _agree(data)
    assert verify_export(data, PUBLIC, "casework.example.org/wanxin").ok
    other = verify_export(data, PUBLIC, "casework.example.org/jiating")
    assert "not of the log 'casework.example.org/jiating'" in other.describe()
    assert STANDALONE.problems(data, RAW_PUBLIC, "casework.example.org/wanxin") == []
    assert STANDALONE.problems(data, RAW_PUBLIC, "casework.example.org/jiating")

    # the same key, another deployment's store: its checkpoint is refused by name
    elsewhere = Casework(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    try:
        elsewhere.report_repair(RESIDENT, "jiayu-xx/jiating/b1/0101", "灯不亮", "lighting")
        theirs = Notary(elsewhere, KEY, origin="casework.example.org/jiating").checkpoint()
    finally:
        elsewhere.close()
    check = check_store(app, theirs, PUBLIC)
    assert not check.ok
    assert "of the log 'casework.example.org/jiating'" in check.describe()
    assert "'casework.example.org/wanxin'" in check.describe()


def test_a_log_keeps_its_name_and_checkpoints_signed_before_it_had_one_still_verify(
    app: Casework, cases: list[UUID]
) -> None:
    from casework.domain.errors import ValidationError
    from casework.transparency.checkpoints import sign
    from casework.transparency.tables import tables_for
    from casework.transparency.verify import check_checkpoints

    tables = tables_for(app)
    notary = Notary(app, KEY)  # appends; the log is named only when it signs
    notary.catch_up()
    head = tables.head().frontier
    legacy = sign(KEY, head.size, head.root(), datetime.now(UTC))  # as before logs were named
    tables.add_checkpoint(legacy)
    assert legacy.to_json()["format"] == "casework.checkpoint.v1"
    app.add_note(cases[0], STAFF, "after the unnamed checkpoint")
    named = Notary(app, KEY).checkpoint()
    assert named.origin.startswith("casework/")  # made on first use, kept in the store
    assert [c.origin for c in tables.checkpoints()] == ["", named.origin]
    assert all(r.ok for r in check_checkpoints(app, PUBLIC))
    assert check_store(app, legacy, PUBLIC).ok
    assert check_store(app, named, PUBLIC).ok
    with pytest.raises(ValidationError, match="keeps its name"):
        Notary(app, KEY, origin="casework.example.org/renamed").checkpoint()
    assert Notary(app, KEY, origin=named.origin).checkpoint().origin == named.origin


def test_each_checkpoint_keeps_its_own_format_whatever_its_size(
    app: Casework, cases: list[UUID]
) -> None:
    """A checkpoint's origin is stored with it, not inferred from its size: one signed without
    a name (an older notary still running beside a newer one) after the log was named still
    reads back unnamed, and verifies."""
    from casework.transparency.checkpoints import sign
    from casework.transparency.tables import tables_for
    from casework.transparency.verify import check_checkpoints

    tables = tables_for(app)
    notary = Notary(app, KEY)
    name = notary.name_log()  # named before any checkpoint: every size from 0 on is "named"
    notary.catch_up()
    head = tables.head().frontier
    unnamed = sign(KEY, head.size, head.root(), datetime.now(UTC))
    tables.add_checkpoint(unnamed)
    assert tables.latest() == unnamed
    app.add_note(cases[0], STAFF, "after the unnamed checkpoint")
    named = Notary(app, KEY).checkpoint()
    assert [c.origin for c in tables.checkpoints()] == ["", name]
    assert tables.checkpoint_at(unnamed.size) == unnamed
    assert named == tables.checkpoint_at(named.size)
    results = check_checkpoints(app, PUBLIC)
    assert all(r.ok for r in results), [r.describe() for r in results]
