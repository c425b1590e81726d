"""`casework-intake contacts import` (and `casework contacts import`) on SQLite and PostgreSQL
stores: an `intake.db` written by the old intake (its `contacts` table, `records.py` before issue
11) is moved into the case files, once, and no byte of the old contacts stays in the file."""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from casework import Actor, Casework, Role
from casework.cli import main as casework_main
from casework.clock import FakeClock
from casework.privacy import people
from casework.privacy.envelope import is_sealed
from fastapi.testclient import TestClient
from intake.api.app import create_app
from intake.main import main as intake_main
from intake.read_model import CaseIndex
from intake.testing import FLAT, T0, Desk, make_settings

OLD_SCHEMA = """
create table if not exists contacts (
    case_id text not null,
    reporter_id text not null,
    contact text not null,
    recorded_at text not null,
    primary key (case_id, reporter_id)
);
create table if not exists duplicate_keys (
    key text not null,
    case_id text not null,
    recorded_at text not null,
    primary key (key, case_id)
);
"""
"""The old intake's tables, as `intake.records` made them (git show 2a37856)."""

GIVEN = T0 - timedelta(days=3)
PHONES = {"r-0302": "13812345678", "r-0303": "13987654321", "r-0501": "13700001111"}
OFFICE = "jiayu-xx/wanxin-intl"


@dataclass
class Old:
    """A store written before the upgrade (no contact in its case files) and its intake.db."""

    store: str
    var: Path
    db: Path
    light: str
    leak: str


def write_old_contacts(db: Path, rows: list[tuple[str, str, str, str]]) -> None:
    """As the old intake did: WAL mode, one upsert per report (`Records.keep_contact`)."""
    db.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("pragma journal_mode=wal")
    connection.executescript(OLD_SCHEMA)
    for row in rows:
        connection.execute(
            "insert into contacts values (?, ?, ?, ?) on conflict (case_id, reporter_id) "
            "do update set contact = excluded.contact, recorded_at = excluded.recorded_at",
            row,
        )
    connection.close()


@pytest.fixture
def old(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Old:
    var = tmp_path / "var"
    with Casework(store_url, clock=FakeClock(GIVEN)) as app:
        light = app.report_repair(Actor("r-0302", Role.RESIDENT), f"{FLAT}", "楼道灯坏了")
        app.add_reporter(light, Actor("r-0303", Role.RESIDENT))
        leak = app.report_leak(
            Actor("r-0501", Role.RESIDENT), "jiayu-xx/wanxin-intl/b12/0501", "漏水", "0601"
        )
    db = var / "intake.db"
    at = GIVEN.isoformat()
    write_old_contacts(
        db,
        [
            (str(light), "r-0302", PHONES["r-0302"], at),
            (str(light), "r-0303", PHONES["r-0303"], at),
            (str(leak), "r-0501", PHONES["r-0501"], at),
        ],
    )
    CaseIndex(db).close()  # the read models share the file, as on a real deployment
    monkeypatch.setenv("CASEWORK_STORE", store_url)
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(var))
    return Old(store_url, var, db, str(light), str(leak))


def file_bytes(db: Path) -> bytes:
    """What `intake.db` and its WAL hold on disk."""
    return b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())


def tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as connection:
        found = connection.execute("select name from sqlite_master where type = 'table'")
        return {str(name) for (name,) in found}


def contact_events(app: Casework, case_id: str) -> list[dict[str, object]]:
    return [
        {"actor": (e.actor_id, e.actor_role), "reason": e.reason, **e.details}
        for e in app.history(case_id)
        if e.event == "ContactGiven"
    ]


def test_each_old_contact_goes_into_its_case_file_sealed_and_leaves_intake_db(
    old: Old, capsys: pytest.CaptureFixture[str]
) -> None:
    assert all(phone.encode() in file_bytes(old.db) for phone in PHONES.values())
    assert intake_main(["contacts", "import"]) == 0
    out = capsys.readouterr().out
    assert "3 contact(s) recorded in their case files" in out
    assert "contacts table dropped and the file vacuumed" in out
    assert not any(phone in out for phone in PHONES.values())  # named by ids, never by value

    on_disk = file_bytes(old.db)
    for phone in PHONES.values():
        assert phone.encode() not in on_disk
        assert phone[-8:].encode() not in on_disk
    assert "contacts" not in tables(old.db)
    assert {"cases", "matters"} <= tables(old.db)  # the read models are left as they were

    with Casework(old.store) as app:
        assert app.get_case(old.light).contacts == {
            "r-0302": PHONES["r-0302"],
            "r-0303": PHONES["r-0303"],
        }
        assert app.get_case(old.leak).contacts == {"r-0501": PHONES["r-0501"]}
        given = contact_events(app, old.light)
        assert [g["reporter_id"] for g in given] == ["r-0302", "r-0303"]
        for event in given:
            assert event["actor"] == ("intake", "system")
            assert "migrated from intake.db" in str(event["reason"])
            assert event["given_at"] == GIVEN
        stored = [
            e for e in app.events.get(uuid.UUID(old.light)) if type(e).__name__ == "ContactGiven"
        ]
        raw = [
            app.mapper.to_domain_event(s)
            for s in app.recorder.select_events(stored[0].originator_id)
        ]
        sealed = [getattr(e, "contact", "") for e in raw if type(e).__name__ == "ContactGiven"]
        assert sealed
        assert all(is_sealed(value) for value in sealed)
        assert app.verify(old.light).ok


def test_the_desk_shows_imported_contacts_to_staff_and_each_resident_their_own(
    old: Old, tmp_path: Path
) -> None:
    assert casework_main(["contacts", "import"]) == 0
    settings = make_settings(tmp_path / "later", old.store)
    with TestClient(create_app(settings, clock=FakeClock(T0))) as client:
        desk = Desk(client, FakeClock(T0), settings)
        staff = client.get(f"/cases/{old.light}", headers=desk.staff(OFFICE))
        assert staff.status_code == 200, staff.text
        assert staff.json()["contacts"] == {
            "r-0302": PHONES["r-0302"],
            "r-0303": PHONES["r-0303"],
        }
        own = client.get(f"/cases/{old.light}", headers=desk.resident("r-0303"))
        assert own.json()["contacts"] == {"r-0303": PHONES["r-0303"]}
        assert client.get(f"/cases/{old.light}", headers=desk.auditor()).json()["contacts"] is None
        exported = client.get("/people/r-0303", headers=desk.dpo()).json()
        assert {(f["event"], f["value"]) for f in exported["facts"]} >= {
            ("ContactGiven", PHONES["r-0303"])
        }


def test_a_second_run_and_a_run_after_an_interrupted_one_record_nothing_twice(
    old: Old, capsys: pytest.CaptureFixture[str]
) -> None:
    with Casework(old.store) as app:  # the first run recorded one, then stopped
        first = app.give_contact(
            old.light,
            Actor("intake", Role.SYSTEM),
            "r-0302",
            PHONES["r-0302"],
            GIVEN,
            "migrated from intake.db",
        )
        assert first
    assert intake_main(["contacts", "import"]) == 0
    assert "2 contact(s) recorded in their case files, 1 there already" in capsys.readouterr().out
    assert intake_main(["contacts", "import"]) == 0
    assert "no old contacts table; nothing to import" in capsys.readouterr().out
    with Casework(old.store) as app:
        assert len(contact_events(app, old.light)) == 2
        assert len(contact_events(app, old.leak)) == 1


def test_a_case_the_store_does_not_know_is_named_and_kept_not_invented(
    old: Old, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger, gone = str(uuid.uuid4()), "13600009999"
    with sqlite3.connect(old.db) as connection:
        connection.execute(
            "insert into contacts values (?, ?, ?, ?)",
            (stranger, "r-0900", gone, GIVEN.isoformat()),
        )
        connection.execute(
            "insert into contacts values (?, ?, ?, ?)",
            ("not-a-case", "r-0901", "13600008888", GIVEN.isoformat()),
        )
    connection.close()
    assert intake_main(["contacts", "import"]) == 1
    captured = capsys.readouterr()
    assert f"case {stranger}, reporter r-0900: not imported: the store has no case" in captured.err
    assert "case not-a-case, reporter r-0901: not imported" in captured.err
    assert "2 row(s) kept in the contacts table" in captured.err
    assert "3 contact(s) recorded" in captured.out
    with Casework(old.store) as app:
        every = app.recorder.select_notifications(start=1, limit=100_000)
        assert every
        assert all(str(n.originator_id) != stranger for n in every)
    with sqlite3.connect(old.db) as connection:
        kept = connection.execute("select case_id from contacts order by case_id").fetchall()
    connection.close()
    assert sorted(kept) == sorted([("not-a-case",), (stranger,)])
    on_disk = file_bytes(old.db)
    assert PHONES["r-0302"].encode() not in on_disk  # the imported rows are gone already
    assert intake_main(["contacts", "import", "--forget-unknown"]) == 0
    assert "contacts table dropped" in capsys.readouterr().out
    assert gone.encode() not in file_bytes(old.db)


def test_a_person_erased_since_is_not_brought_back(
    old: Old, capsys: pytest.CaptureFixture[str]
) -> None:
    with Casework(old.store, clock=FakeClock(T0)) as app:
        people.erase(
            app, app.privacy, "r-0303", Actor("dpo-sun", Role.DATA_PROTECTION_OFFICER), "PIPL"
        )
    assert intake_main(["contacts", "import"]) == 0
    assert "1 of erased people not imported" in capsys.readouterr().out
    assert PHONES["r-0303"].encode() not in file_bytes(old.db)
    with Casework(old.store) as app:
        assert app.get_case(old.light).contacts == {"r-0302": PHONES["r-0302"]}
        assert app.privacy.keys.erased_at("r-0303") is not None


def test_without_the_vacuum_a_dropped_table_leaves_its_contacts_in_the_file(tmp_path: Path) -> None:
    """Why the import zeroes and rewrites the file: dropping the table alone, on a SQLite whose
    `secure_delete` is off (upstream's default; some builds turn it on), leaves the bytes."""
    db = tmp_path / "intake.db"
    write_old_contacts(db, [(str(uuid.uuid4()), "r-0302", PHONES["r-0302"], GIVEN.isoformat())])
    connection = sqlite3.connect(db, isolation_level=None)
    connection.execute("pragma secure_delete=off")
    connection.execute("drop table contacts")
    connection.close()
    assert PHONES["r-0302"].encode() in file_bytes(db)
