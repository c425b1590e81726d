"""`GET /cases/{id}/export` on a real store (SQLite and PostgreSQL): the download is byte for
byte what `casework export` writes, verifies offline with `casework verify-file` and with the
standalone docs/verify_export.py (each run as an auditor would, in its own process), fails after
one changed byte, carries personal values only sealed, and still verifies after an erasure.
Who may: auditors and staff in the case's place; residents and data protection officers are
told why not (403); an unknown case, or one outside the caller's place, is 404."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from casework.cli import main as casework_cli
from casework.clock import FakeClock
from casework.privacy import is_sealed
from casework.side_tables import dialect
from casework.testing.postgres_outage import StoppablePostgres, stoppable_postgres  # noqa: F401
from casework.transparency.checkpoints import public_text
from casework.transparency.notary import Notary
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from intake.api.app import create_app
from intake.schemas import CaseExport
from intake.testing import OTHER_COMPOUND, T0, Desk, make_settings

ROOT = Path(__file__).resolve().parents[3]
STANDALONE = ROOT / "docs" / "verify_export.py"
CASEWORK = Path(sys.executable).with_name("casework")
PHONE = "13800138000"
KEY = Ed25519PrivateKey.generate()
PUBKEY = public_text(KEY.public_key())


def _app(desk: Desk) -> Any:
    return desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]


def _case_with_contact(desk: Desk) -> str:
    body = desk.report(
        desk.staff(),
        kind="repair",
        description=f"楼道灯坏了，请回电 {PHONE}",
        reporter={"id": "r-0302", "role": "resident", "contact": PHONE},
    )
    case_id = str(body["case_id"])
    acked = desk.client.post(
        f"/cases/{case_id}/acknowledgement", json={"note": "电话已接"}, headers=desk.staff()
    )
    assert acked.status_code == 200, acked.text
    return case_id


def _export(desk: Desk, case_id: str, headers: dict[str, str]) -> bytes:
    response = desk.client.get(f"/cases/{case_id}/export", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="case-{case_id}.json"'
    )
    return response.content


def _verdicts(path: Path) -> tuple[subprocess.CompletedProcess[str], ...]:
    """`casework verify-file` and docs/verify_export.py on the file, each in its own process."""
    return (
        subprocess.run(
            [str(CASEWORK), "verify-file", str(path), "--pubkey", PUBKEY],
            capture_output=True,
            text=True,
            timeout=60,
        ),
        subprocess.run(
            [sys.executable, str(STANDALONE), str(path), PUBKEY],
            capture_output=True,
            text=True,
            timeout=60,
        ),
    )


def test_the_download_is_the_cli_export_and_verifies_offline_until_a_byte_changes(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = _case_with_contact(desk)
    Notary(_app(desk), KEY).checkpoint()
    downloaded = _export(desk, case_id, desk.auditor())
    assert _export(desk, case_id, desk.staff()) == downloaded
    document = CaseExport.model_validate_json(downloaded)  # what the OpenAPI document says
    assert [e.version for e in document.events] == list(range(1, len(document.events) + 1))
    assert len(document.events) >= 3  # reported, deadlines, acknowledged
    assert all(e.proof is not None for e in document.events)

    monkeypatch.setenv("CASEWORK_STORE", desk.settings.store)
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(desk.settings.var_dir))
    by_cli = tmp_path / "cli.json"
    assert casework_cli(["export", case_id, "--out", str(by_cli)]) == 0
    assert by_cli.read_bytes() == downloaded

    assert PHONE.encode() not in downloaded
    sealed = [
        value
        for e in document.events
        for value in (e.state.get("description"), *e.state.get("contacts", {}).values())
        if isinstance(value, str)
    ]
    assert sealed
    assert all(is_sealed(value) for value in sealed), sealed

    path = tmp_path / f"case-{case_id}.json"
    path.write_bytes(downloaded)
    for run in _verdicts(path):
        assert run.returncode == 0, run.stdout + run.stderr
        assert "export intact" in run.stdout
    index = len(downloaded) // 2
    changed = bytearray(downloaded)
    changed[index] = ord("0") if changed[index] != ord("0") else ord("1")
    path.write_bytes(bytes(changed))
    for run in _verdicts(path):
        assert run.returncode == 3, run.stdout + run.stderr
        assert "TAMPERED" in run.stdout


def test_an_export_still_verifies_after_the_reporter_is_erased(
    sqlite_desk: Desk, tmp_path: Path
) -> None:
    desk = sqlite_desk
    case_id = _case_with_contact(desk)
    Notary(_app(desk), KEY).checkpoint()
    before = _export(desk, case_id, desk.auditor())
    erased = desk.client.post(
        "/people/r-0302/erasure",
        json={"reason": "PIPL request 118"},
        headers=desk.dpo() | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert erased.status_code == 201, erased.text
    Notary(_app(desk), KEY).checkpoint()
    after = _export(desk, case_id, desk.auditor())
    assert PHONE.encode() not in after
    for name, data in (("before", before), ("after", after)):
        path = tmp_path / f"{name}.json"
        path.write_bytes(data)
        for run in _verdicts(path):
            assert run.returncode == 0, (name, run.stdout + run.stderr)
    # the events are as they were: an erasure destroys keys, it does not rewrite the case file
    assert [e.hash for e in CaseExport.model_validate_json(after).events] == [
        e.hash for e in CaseExport.model_validate_json(before).events
    ]
    # and the staff's own view now reads the erased values as erased, not as the phone number
    contacts = desk.client.get(f"/cases/{case_id}", headers=desk.staff()).json()["contacts"]
    assert PHONE not in str(contacts)


def test_residents_and_dpos_are_refused_and_other_cases_are_not_found(desk: Desk) -> None:
    case_id = _case_with_contact(desk)
    for refused_to in (desk.resident("r-0302"), desk.resident("r-0303"), desk.dpo()):
        for asked in (case_id, str(uuid.uuid4())):
            refused = desk.client.get(f"/cases/{asked}/export", headers=refused_to)
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == "forbidden"
            assert "auditors" in refused.json()["message"]
            assert "/cases/{id}/history" in refused.json()["message"]
    unknown = desk.client.get(f"/cases/{uuid.uuid4()}/export", headers=desk.auditor())
    assert unknown.status_code == 404
    assert "check the id" in unknown.json()["message"]
    assert desk.client.get("/cases/not-a-case/export", headers=desk.auditor()).status_code == 404
    elsewhere = desk.client.get(
        f"/cases/{case_id}/export", headers=desk.staff(OTHER_COMPOUND, "staff-wu")
    )
    assert elsewhere.status_code == 404
    assert desk.client.get(f"/cases/{case_id}/export").status_code == 401


def test_an_export_before_any_checkpoint_downloads_and_says_why_it_does_not_verify(
    desk: Desk, tmp_path: Path
) -> None:
    case_id = _case_with_contact(desk)  # no notary ever ran: the log's tables do not exist
    data = _export(desk, case_id, desk.auditor())
    assert CaseExport.model_validate_json(data).checkpoint is None
    path = tmp_path / "early.json"
    path.write_bytes(data)
    ours, theirs = _verdicts(path)
    assert ours.returncode == theirs.returncode == 3
    assert "no signed checkpoint" in ours.stdout


def test_the_openapi_document_describes_the_download_and_the_refusals(sqlite_desk: Desk) -> None:
    spec = sqlite_desk.client.get("/openapi.json").json()
    operation = spec["paths"]["/cases/{case_id}/export"]["get"]
    ok = operation["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CaseExport"
    }
    assert "Content-Disposition" in ok["headers"]
    for status in ("401", "403", "404", "409"):
        body = operation["responses"][status]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/ErrorBody"}
    assert "residents" in operation["responses"]["403"]["description"]
    event = spec["components"]["schemas"]["ExportedEvent"]["properties"]
    assert "sealed" in event["state"]["description"]


def _alter(desk: Desk, case_id: str, version: int, state: bytes) -> None:
    """As one with SQL access to the store (SQLite or PostgreSQL): one event's stored bytes."""
    recorder = _app(desk).recorder
    sql = dialect(recorder.datastore)
    uid = uuid.UUID(case_id)
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(
            f"UPDATE {sql.table(recorder.events_table_name)} SET state = {sql.mark} "
            f"WHERE originator_id = {sql.mark} AND originator_version = {sql.mark}",
            (state, uid if sql.postgres else uid.hex, version),
        )


def _refused_as_tampered(desk: Desk, case_id: str, path: str, who: dict[str, str]) -> str:
    answer = desk.client.get(f"/cases/{case_id}{path}", headers=who)
    assert answer.status_code == 409, (path, answer.status_code, answer.text)
    body = answer.json()
    assert body["code"] == "tampered"
    assert f"casework verify {case_id}" in body["message"]
    assert "casework verify --checkpoint latest" in body["message"]
    return str(body["message"])


def test_an_event_whose_stored_bytes_were_altered_is_a_409_tampered_not_a_500(
    desk: Desk,
) -> None:
    """Stored bytes that no longer decode: the export, the history and the case itself answer
    409 `tampered`, naming the event and the operator's checks (they were 500s)."""
    case_id = _case_with_contact(desk)
    Notary(_app(desk), KEY).checkpoint()
    _alter(desk, case_id, 2, b"\x9c\xff not json")
    for path in ("/export", "/history", ""):
        for who in (desk.auditor(), desk.staff()):
            message = _refused_as_tampered(desk, case_id, path, who)
            assert message.startswith(f"case {case_id} event 2: the stored state cannot be ")
    other = _case_with_contact(desk)  # the rest of the store still answers
    assert desk.client.get(f"/cases/{other}/history", headers=desk.staff()).status_code == 200


def test_a_sealed_value_moved_from_another_case_is_a_409_tampered_not_a_422(desk: Desk) -> None:
    """A sealed value copied into another case's event decodes, but will not open there (its
    seal binds case and field): the library's `TamperedError`, once a 422 `invalid`."""
    source, target = _case_with_contact(desk), _case_with_contact(desk)
    transcoder = _app(desk).mapper.transcoder
    recorder = _app(desk).recorder
    (first,) = recorder.select_events(uuid.UUID(source), lte=1)
    (moved,) = recorder.select_events(uuid.UUID(target), lte=1)
    token = transcoder.decode(first.state)["description"]
    assert is_sealed(token)
    state = transcoder.decode(moved.state)
    _alter(desk, target, 1, transcoder.encode({**state, "description": token}))
    for path in ("/history", ""):
        message = _refused_as_tampered(desk, target, path, desk.staff())
        assert "moved from another case or field" in message
    assert desk.client.get(f"/cases/{source}", headers=desk.staff()).status_code == 200


def test_the_case_reads_document_the_tampered_answer(sqlite_desk: Desk) -> None:
    paths = sqlite_desk.client.get("/openapi.json").json()["paths"]
    for path in ("/cases/{case_id}", "/cases/{case_id}/history", "/cases/{case_id}/export"):
        refused = paths[path]["get"]["responses"]["409"]
        assert "`tampered`" in refused["description"], path
        assert "casework verify --checkpoint latest" in refused["description"], path


@pytest.mark.postgres
def test_while_the_store_is_down_an_export_is_a_503_then_the_same_file_once_it_is_back(
    tmp_path: Path,
    stoppable_postgres: StoppablePostgres,  # noqa: F811
) -> None:
    pg = stoppable_postgres
    pg.server.create_database("cases")
    settings = make_settings(tmp_path, pg.server.url("cases", timeout=1))
    with TestClient(create_app(settings, clock=FakeClock(T0))) as client:
        desk = Desk(client, FakeClock(T0), settings)
        case_id = _case_with_contact(desk)
        Notary(_app(desk), KEY).checkpoint()
        before = _export(desk, case_id, desk.auditor())
        pg.stop()
        down = client.get(f"/cases/{case_id}/export", headers=desk.auditor())
        assert down.status_code == 503, down.text
        assert "retry-after" in down.headers
        pg.start()
        for _ in range(100):
            back = client.get(f"/cases/{case_id}/export", headers=desk.auditor())
            if back.status_code != 503:
                break
            time.sleep(0.2)
        assert back.status_code == 200, back.text
        assert back.content == before
