"""A store written by main at de2b327 (personal values in plaintext) is sealed by the migration.

`fixtures/store_before_sealing.json` holds three case files exactly as that code stored them,
and the anchors that code gave. Before: the plaintext is in the stored bytes. After `migrate`:
it is not; the cases read as before; anchors written before the migration still verify; and
erasing the reporter makes their values `[erased]` while everything still verifies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework import Actor, Casework, FakeClock, Role
from casework.audit import Anchor
from casework.cli import main as casework_cli
from casework.privacy import ERASED
from casework.privacy.migration import LoggedCasesError, migrate
from casework.privacy.people import erase, export
from casework.stored_state import decoded_state
from eventsourcing.persistence import StoredEvent

FIXTURE = Path(__file__).parent.parent / "fixtures" / "store_before_sealing.json"
RESIDENT = "resident-0302"
OFFICER = Actor("dpo-chen", Role.DATA_PROTECTION_OFFICER)
PLAINTEXT = [
    "厨房水龙头一直滴水",  # a description (the reporter's)
    "13812345678",
    "0571-87654321",  # in a staff note about the reporter
    "13900001111",  # in a note on an owner-contact attempt (not declared: found as a number)
    "11010519491231002X",  # an ID-card number in the same note
    "楼下车位被占",
    "13711112222",
    "两家都在",  # a staff note on the dispute
]


@pytest.fixture
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def app(store_url: str, document: dict[str, Any]) -> Iterator[Casework]:
    application = Casework(store_url, clock=FakeClock(datetime(2026, 12, 1, tzinfo=UTC)))
    application.recorder.insert_events(
        [
            StoredEvent(
                originator_id=UUID(e["originator_id"]),
                originator_version=e["originator_version"],
                topic=e["topic"],
                state=e["state"].encode("utf-8"),
            )
            for e in document["events"]
        ]
    )
    yield application
    application.close()


def anchors_of(document: dict[str, Any]) -> dict[UUID, Anchor]:
    return {UUID(k): Anchor(v["version"], v["hash"]) for k, v in document["anchors"].items()}


def stored_bytes(app: Casework) -> bytes:
    return b"".join(n.state for n in app.recorder.select_notifications(start=1, limit=1000))


def test_the_migration_seals_old_plaintext_keeps_the_story_and_old_anchors_verify(
    app: Casework, document: dict[str, Any]
) -> None:
    anchors = anchors_of(document)
    case_ids = list(anchors)
    before = {c: [e.details for e in app.history(c)] for c in case_ids}
    snapshots = {c: app.get_case(c).snapshot() for c in case_ids}
    for secret in PLAINTEXT:
        assert secret.encode() in stored_bytes(app), secret
    assert all(r.ok for r in app.verify_all(anchors))
    # What export finds of an unmigrated store: the declared values, in plaintext.
    assert "13812345678" in json.dumps(
        export(app, app.privacy, RESIDENT).as_json(), ensure_ascii=False
    )

    done = migrate(app, app.privacy)
    assert [m.case_id for m in done] == case_ids
    assert all(m.changed and not m.problem for m in done)
    assert all(m.old_head == anchors[m.case_id].hash != m.new_head for m in done)

    for secret in PLAINTEXT:
        assert secret.encode() not in stored_bytes(app), secret
    assert {c: [e.details for e in app.history(c)] for c in case_ids} == before
    for case_id, snapshot in snapshots.items():
        after = app.get_case(case_id).snapshot()
        assert after.pop("chain_head") != snapshot.pop("chain_head")
        assert after == snapshot
    results = list(app.verify_all(anchors))
    assert [r.ok for r in results] == [True, True, True], [r.describe() for r in results]
    assert all(m.changed is False for m in migrate(app, app.privacy))  # once is enough

    erase(app, app.privacy, RESIDENT, OFFICER, "request PIPL-2026-011")
    report = export(app, app.privacy, RESIDENT).as_json()
    assert report["erased"]["by"]["id"] == OFFICER.id
    assert report["facts"]
    assert all(f["value"] == ERASED for f in report["facts"])
    assert all(r.ok for r in app.verify_all(anchors))
    descriptions = {app.get_case(c).description for c in case_ids}
    assert descriptions == {ERASED}


STORED_FORMS = {
    "compressed": {"COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"},
    "encrypted": {"CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher"},
}


@pytest.mark.parametrize("form", sorted(STORED_FORMS))
def test_a_store_with_a_compressor_or_a_cipher_is_migrated_and_stays_in_its_form(
    store_url: str, document: dict[str, Any], form: str
) -> None:
    """The old events as such a store holds them (compressed, or encrypted): the migration
    reads them past the compressor or cipher and writes them back through it, so the store
    stays readable by its own mapper and the anchors written before still verify."""
    from eventsourcing.cryptography import AESCipher

    env = dict(STORED_FORMS[form])
    if "CIPHER_TOPIC" in env:
        env["CIPHER_KEY"] = AESCipher.create_key(16)
    app = Casework(store_url, clock=FakeClock(datetime(2026, 12, 1, tzinfo=UTC)), env=env)
    try:
        mapper = app.mapper
        assert (mapper.cipher is not None) == (form == "encrypted")
        assert (mapper.compressor is not None) == (form == "compressed")

        def stored_as_the_store_does(plain: bytes) -> bytes:
            if mapper.compressor:
                plain = mapper.compressor.compress(plain)
            return mapper.cipher.encrypt(plain) if mapper.cipher else plain

        app.recorder.insert_events(
            [
                StoredEvent(
                    originator_id=UUID(e["originator_id"]),
                    originator_version=e["originator_version"],
                    topic=e["topic"],
                    state=stored_as_the_store_does(e["state"].encode("utf-8")),
                )
                for e in document["events"]
            ]
        )
        anchors = anchors_of(document)
        before = {c: [e.details for e in app.history(c)] for c in anchors}
        assert all(r.ok for r in app.verify_all(anchors))

        done = migrate(app, app.privacy)
        assert all(m.changed and not m.problem for m in done), [m.problem for m in done]

        notifications = list(app.recorder.select_notifications(start=1, limit=1000))
        # still in its form: no state reads as JSON (a ciphertext may start with "{" by chance)
        assert not any(_reads_as_json(n.state) for n in notifications)
        opened = b"".join(
            mapper.transcoder.encode(decoded_state(mapper, n, n.originator_id))
            for n in notifications
        )
        for secret in PLAINTEXT:
            assert secret.encode() not in opened, secret
        assert {c: [e.details for e in app.history(c)] for c in anchors} == before
        results = list(app.verify_all(anchors))
        assert all(r.ok for r in results), [r.describe() for r in results]
        assert all(m.changed is False for m in migrate(app, app.privacy))
    finally:
        app.close()


def test_a_tampered_case_is_not_migrated_and_is_named(
    app: Casework, document: dict[str, Any]
) -> None:
    anchors = anchors_of(document)
    first = next(iter(anchors))
    stored = app.recorder.select_events(first)[0]
    datastore: Any = app.recorder.datastore  # type: ignore[attr-defined]
    edited = stored.state.replace("一直滴水".encode(), "从不滴水".encode())
    postgres = type(datastore).__module__.endswith(".postgres")
    mark = "%s" if postgres else "?"
    table = app.recorder.events_table_name  # type: ignore[attr-defined]
    with datastore.transaction(commit=True) as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = {mark} "
            f"WHERE originator_id = {mark} AND originator_version = 1",
            (edited, first if postgres else first.hex),
        )
    done = {m.case_id: m for m in migrate(app, app.privacy)}
    assert "TAMPERED at event 1" in done[first].problem
    assert not done[first].changed
    assert "从不滴水".encode() in stored_bytes(app)  # left as it was, evidence intact
    assert all(m.changed for c, m in done.items() if c != first)


def test_cases_the_log_holds_are_not_rewritten_unless_the_operator_accepts_it(
    app: Casework, document: dict[str, Any]
) -> None:
    """A notary ran before the migration: rewriting would make every checkpoint report those
    cases as changed, so nothing is rewritten unless asked for; asked, each is named."""
    from casework.transparency.notary import Notary
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    case_ids = list(anchors_of(document))
    Notary(app, Ed25519PrivateKey.generate()).checkpoint()
    before = stored_bytes(app)
    with pytest.raises(LoggedCasesError, match="--rewrites-logged-cases") as refused:
        migrate(app, app.privacy)
    assert refused.value.case_ids == case_ids
    assert stored_bytes(app) == before  # nothing of any case rewritten

    done = migrate(app, app.privacy, rewrites_logged_cases=True)
    assert [m.case_id for m in done if m.logged] == case_ids
    assert all(m.changed for m in done)
    again = migrate(app, app.privacy)  # nothing left to rewrite: not refused
    assert not any(m.changed or m.logged for m in again)


def test_the_command_refuses_with_exit_2_then_names_each_case_it_rewrote(
    app: Casework,
    document: dict[str, Any],
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CASEWORK_STORE", store_url)
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CASEWORK_NOTARY_KEY", raising=False)
    case_ids = [str(c) for c in anchors_of(document)]
    assert casework_cli(["notary", "checkpoint"]) == 0
    capsys.readouterr()
    before = stored_bytes(app)

    assert casework_cli(["person", "migrate"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("casework: 3 case file(s) this migration would rewrite are in the ")
    assert "Nothing was rewritten" in err
    assert "--rewrites-logged-cases" in err
    assert all(c in err for c in case_ids)
    assert stored_bytes(app) == before

    assert casework_cli(["person", "migrate", "--rewrites-logged-cases"]) == 0
    out, err = capsys.readouterr()
    assert [m["case_id"] for m in json.loads(out) if m["logged"]] == case_ids
    named = [line for line in err.splitlines() if "the transparency log holds" in line]
    assert [line.split()[3].rstrip(",") for line in named] == case_ids
    assert b"13812345678" not in stored_bytes(app)


def test_a_migration_with_snapshots_off_still_drops_the_stale_snapshots_of_what_it_rewrote(
    app: Casework, document: dict[str, Any], store_url: str
) -> None:
    """Snapshots taken before the migration fold the old events (plaintext, old hashes). A
    migration run with `CASEWORK_SNAPSHOT_EVERY=0` has no snapshot store, but the table is
    there from earlier runs: it must still be emptied of the rewritten cases, or turning
    snapshots back on loads the old state, and the next command chains to the old head."""
    case_ids = list(anchors_of(document))
    clock = FakeClock(datetime(2026, 12, 1, tzinfo=UTC))
    on = {"CASEWORK_SNAPSHOT_EVERY": "2"}

    def snapshot_bytes(store: Casework) -> bytes:
        assert store.snapshots is not None
        return b"".join(
            s.state for c in case_ids for s in store.snapshots.recorder.select_events(c)
        )

    with Casework(store_url, clock=clock, env=on) as snapshotting:
        for case_id in case_ids:
            snapshotting.take_snapshot(case_id)
        assert b"13812345678" in snapshot_bytes(snapshotting)  # the old plaintext, folded
    with Casework(store_url, clock=clock, env={"CASEWORK_SNAPSHOT_EVERY": "0"}) as off:
        assert off.snapshots is None
        done = migrate(off, off.privacy)
    assert all(m.changed for m in done)

    with Casework(store_url, clock=clock, env=on) as after:
        held = snapshot_bytes(after)
        for secret in PLAINTEXT:
            assert secret.encode() not in held, secret
            assert json.dumps(secret)[1:-1].encode() not in held, secret
        for m in done:
            after.get_case(m.case_id)  # the first load here replays; the next may use snapshots
            assert after.get_case(m.case_id).snapshot()["chain_head"] == m.new_head
        after.add_note(case_ids[0], Actor("staff-li", Role.PROPERTY_STAFF), "已回访")
        results = list(after.verify_all())
        assert all(r.ok for r in results), [r.describe() for r in results]


def test_the_command_refuses_while_a_notary_holds_its_lock(
    app: Casework,
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A running notary could log a case between the migration's read of the logged cases and
    its rewrite: while one holds the notary lock, the migration refuses and rewrites nothing."""
    import asyncio

    from casework.locks import lock_for

    monkeypatch.setenv("CASEWORK_STORE", store_url)
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(tmp_path / "var"))
    before = stored_bytes(app)

    async def with_the_lock_held() -> int:
        lock = lock_for(store_url, "notary")
        assert await lock.try_acquire()
        try:
            return await asyncio.to_thread(casework_cli, ["person", "migrate"])
        finally:
            await lock.release()

    assert asyncio.run(with_the_lock_held()) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Stop the notary first" in err
    assert "Nothing was rewritten" in err
    assert stored_bytes(app) == before

    assert casework_cli(["person", "migrate"]) == 0  # the notary stopped: it runs
    capsys.readouterr()
    assert b"13812345678" not in stored_bytes(app)


def _reads_as_json(state: bytes) -> bool:
    try:
        json.loads(state)
    except ValueError:  # UnicodeDecodeError included
        return False
    return True
