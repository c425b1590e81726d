"""A person across case files: export what is kept, erase it; chains verify against old anchors.

Cases are recorded through the domain and sealed as the application's save path seals them
(`seal_pending`), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from casework import Actor, Casework, FakeClock, Role
from casework.audit import verify_events
from casework.cli import main
from casework.domain.actors import PERMISSIONS
from casework.domain.errors import NotPermittedError, ValidationError
from casework.domain.people import PersonFile, person_file_id
from casework.domain.places import Address
from casework.domain.repair import Repair
from casework.privacy import ERASED, Privacy, privacy_for, seal_pending
from casework.privacy.people import erase, export

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
RESIDENT = Actor("resident-0302", Role.RESIDENT)
NEIGHBOUR = Actor("resident-0402", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
OFFICER = Actor("dpo-chen", Role.DATA_PROTECTION_OFFICER)
FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")


@pytest.fixture
def app(store_url: str) -> Iterator[Casework]:
    application = Casework(store_url, clock=FakeClock(T0 + timedelta(days=1)))
    yield application
    application.close()


def report(app: Casework, privacy: Privacy, actor: Actor, description: str, note: str) -> UUID:
    case = Repair.report(actor, T0, FLAT, description, "plumbing")
    case.add_note(STAFF, T0 + timedelta(minutes=5), note)
    seal_pending(case, privacy.sealer)
    app.save(case)
    return case.id


def test_export_finds_the_persons_values_and_erasure_makes_them_erased_everywhere(
    app: Casework,
) -> None:
    privacy = privacy_for(app)
    mine = report(app, privacy, RESIDENT, "厨房滴水，电话 13812345678", "晚上在家 13900001111")
    theirs = report(app, privacy, NEIGHBOUR, "楼道灯坏了 13711112222", "已登记")
    anchors = app.anchors()

    found = export(app, privacy, RESIDENT.id).as_json()
    assert found["erased"] is None
    assert found["case_ids"] == [str(mine)]
    assert [(f["version"], f["field"], f["value"]) for f in found["facts"]] == [
        (1, "description", "厨房滴水，电话 13812345678"),
        (3, "text", "晚上在家 13900001111"),
    ]
    assert [a["event"] for a in found["acts"]] == ["Reported", "DeadlinesSet"]

    erasure = erase(app, privacy, RESIDENT.id, OFFICER, "request PIPL-2026-007")
    assert erasure.case_ids == (str(mine),)
    assert (erasure.actor_id, erasure.actor_role) == (OFFICER.id, "data_protection_officer")

    after = export(app, privacy_for(app), RESIDENT.id).as_json()
    assert after["erased"]["by"] == {"id": OFFICER.id, "role": "data_protection_officer"}
    assert after["erased"]["reason"] == "request PIPL-2026-007"
    assert [f["value"] for f in after["facts"]] == [ERASED, ERASED]
    assert all(f["erased"] for f in after["facts"])
    neighbour = export(app, privacy, NEIGHBOUR.id).as_json()
    assert [f["value"] for f in neighbour["facts"]] == ["楼道灯坏了 13711112222", "已登记"]
    assert neighbour["case_ids"] == [str(theirs)]

    results = list(app.verify_all(anchors))
    assert [r.ok for r in results] == [True, True], [r.describe() for r in results]
    person_file = person_file_id(RESIDENT.id)
    stored = list(app.recorder.select_events(person_file))
    assert verify_events(person_file, stored, app.mapper).ok


def test_an_erasure_recorded_but_not_carried_out_is_finished_not_recorded_twice(
    app: Casework,
) -> None:
    privacy = privacy_for(app)
    mine = report(app, privacy, RESIDENT, "电话 13812345678", "ok")
    # What a process that died between the two steps leaves: the record, the key alive.
    person_file = PersonFile.open(RESIDENT.id, OFFICER, T0 + timedelta(hours=1))
    person_file.erase(OFFICER, T0 + timedelta(hours=1), "request 1", [str(mine)])
    app.save(person_file)
    assert export(app, privacy, RESIDENT.id).facts[0].value == "电话 13812345678"

    finished = erase(app, privacy, RESIDENT.id, OFFICER, "request 1, again")
    assert finished.reason == "request 1"
    assert export(app, privacy, RESIDENT.id).facts[0].value == ERASED
    stored = app.repository.get(person_file_id(RESIDENT.id))
    assert len(stored.erasures) == 1


@pytest.mark.parametrize(
    "role", sorted(set(Role) - PERMISSIONS["erase_person"]), ids=lambda r: r.value
)
def test_only_the_data_protection_officer_may_erase(app: Casework, role: Role) -> None:
    privacy = privacy_for(app)
    report(app, privacy, RESIDENT, "电话 13812345678", "ok")
    with pytest.raises(NotPermittedError, match=f"a {role.value} may not erase person"):
        erase(app, privacy, RESIDENT.id, Actor(f"someone-{role.value}", role), "because")
    assert export(app, privacy, RESIDENT.id).facts[0].value == "电话 13812345678"
    assert export(app, privacy, RESIDENT.id).erasures == []


def test_the_cli_exports_and_erases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'var' / 'casework.db'}"
    monkeypatch.setenv("CASEWORK_STORE", store)
    monkeypatch.delenv("CASEWORK_MASTER_KEY_FILE")  # the embedded default: beside the store
    with Casework(store) as app:
        mine = report(app, privacy_for(app), RESIDENT, "电话 13812345678", "ok")
    assert (tmp_path / "var" / "master.key").stat().st_mode & 0o777 == 0o600

    assert main(["person", "export", RESIDENT.id]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert [f["value"] for f in exported["facts"]] == ["电话 13812345678", "ok"]

    code = main(["person", "erase", RESIDENT.id, "--reason", "request 7", "--actor", OFFICER.id])
    assert code == 0
    erased = json.loads(capsys.readouterr().out)
    assert erased["case_ids"] == [str(mine)]
    assert erased["by"] == {"id": OFFICER.id, "role": "data_protection_officer"}

    assert main(["person", "export", RESIDENT.id]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["erased"]["at"] == erased["erased_at"]
    assert [f["value"] for f in again["facts"]] == [ERASED, ERASED]
    assert main(["verify"]) == 0


@pytest.mark.parametrize(
    ("setting", "fastforward"),
    [
        ("AGGREGATE_CACHE_MAXSIZE", "y"),
        ("AGGREGATE_CACHE_MAXSIZE", "n"),
        ("CASEWORK_AGGREGATE_CACHE_MAXSIZE", "y"),  # eventsourcing's per-application prefix
    ],
)
def test_an_aggregate_cache_is_refused_for_it_would_keep_values_past_an_erasure(
    store_url: str, setting: str, fastforward: str
) -> None:
    """eventsourcing's aggregate cache keeps each loaded case, its personal values opened, for
    the process's life: a person erased meanwhile would still be read from it (and with
    fast-forward off, a service's sealed copy saved by a unit would be). Refused at start, with
    what to do instead, rather than honoured."""
    env = {setting: "100", "AGGREGATE_CACHE_FASTFORWARD": fastforward}
    with pytest.raises(ValidationError, match=rf"^{setting} is not supported.*erasure"):
        Casework(store_url, env=env)


def test_another_applications_aggregate_cache_setting_is_not_ours_to_refuse(
    store_url: str,
) -> None:
    with Casework(store_url, env={"OTHERAPP_AGGREGATE_CACHE_MAXSIZE": "100"}) as app:
        assert app.repository.cache is None
