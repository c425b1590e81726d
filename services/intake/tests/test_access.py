"""Who sees and does what: residents their own cases, staff their compound, officers their
community, auditors everything read-only. Out of scope answers exactly like "no such case"."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from casework_web import TokenStore, hash_token
from intake.main import main
from intake.testing import COMPOUND, OTHER_COMPOUND, T0, Desk


def test_a_request_without_a_token_or_with_an_unknown_token_is_401_with_a_hint(
    sqlite_desk: Desk,
) -> None:
    missing = sqlite_desk.client.get("/cases")
    assert missing.status_code == 401
    assert missing.json()["code"] == "unauthenticated"
    assert "Bearer" in missing.json()["message"]
    wrong = sqlite_desk.client.get("/cases", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert "not known" in wrong.json()["message"]


def test_a_resident_sees_their_own_case_but_a_neighbours_case_is_404_like_an_unknown_id(
    sqlite_desk: Desk,
) -> None:
    desk = sqlite_desk
    case_id = desk.report(desk.resident("r-0302"), kind="repair")["case_id"]
    assert desk.client.get(f"/cases/{case_id}", headers=desk.resident("r-0302")).status_code == 200
    neighbour = desk.client.get(f"/cases/{case_id}", headers=desk.resident("r-0401"))
    unknown = desk.client.get(f"/cases/{uuid.uuid4()}", headers=desk.resident("r-0401"))
    garbage = desk.client.get("/cases/not-a-case", headers=desk.resident("r-0401"))
    assert neighbour.status_code == unknown.status_code == garbage.status_code == 404
    assert neighbour.json()["code"] == unknown.json()["code"] == "not_found"
    assert neighbour.json()["message"].replace(case_id, "X") == unknown.json()["message"].replace(
        unknown.request.url.path.rsplit("/", 1)[-1], "X"
    )
    for suffix in ("/history", "/verify"):
        response = desk.client.get(f"/cases/{case_id}{suffix}", headers=desk.resident("r-0401"))
        assert response.status_code == 404


def test_staff_see_their_compound_and_not_another(sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    ours = desk.report(desk.resident(), kind="repair")["case_id"]
    theirs = desk.report(desk.resident("r-j"), kind="repair", address=f"{OTHER_COMPOUND}/b3/0101")[
        "case_id"
    ]
    staff = desk.staff(COMPOUND)
    assert desk.client.get(f"/cases/{ours}", headers=staff).status_code == 200
    assert desk.client.get(f"/cases/{theirs}", headers=staff).status_code == 404
    listed = desk.client.get("/cases", headers=staff).json()
    assert [c["case_id"] for c in listed["items"]] == [ours]


def test_a_community_officer_sees_every_compound_of_their_community(sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    desk.report(desk.resident(), kind="repair")
    desk.report(desk.resident("r-j"), kind="repair", address=f"{OTHER_COMPOUND}/b3/0101")
    assert desk.client.get("/cases", headers=desk.officer("jiayu-xx")).json()["total"] == 2


def test_a_residents_listing_holds_only_the_cases_they_reported_or_joined(
    sqlite_desk: Desk,
) -> None:
    desk = sqlite_desk
    mine = desk.report(desk.resident("r-0302"), kind="repair")["case_id"]
    desk.report(desk.resident("r-0401"), kind="repair")
    listed = desk.client.get("/cases", headers=desk.resident("r-0302")).json()
    assert [c["case_id"] for c in listed["items"]] == [mine]


def test_a_party_to_a_dispute_sees_it_but_may_not_confirm_what_they_did_not_report(
    sqlite_desk: Desk,
) -> None:
    desk = sqlite_desk
    case_id = desk.report(
        desk.resident("r-0302"),
        kind="dispute",
        category="noise",
        description="drilling at night",
        parties=["r-0402"],
    )["case_id"]
    party = desk.resident("r-0402")
    assert desk.client.get(f"/cases/{case_id}", headers=party).status_code == 200
    refused = desk.client.post(f"/cases/{case_id}/confirmation", headers=party)
    assert refused.status_code == 403
    assert "did not report" in refused.json()["message"]


def test_auditors_read_everything_and_change_nothing(sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    auditor = desk.auditor()
    assert desk.client.get(f"/cases/{case_id}", headers=auditor).status_code == 200
    assert desk.client.get("/cases", headers=auditor).json()["total"] == 1
    report = desk.client.post(
        "/cases",
        json={"kind": "repair", "address": COMPOUND + "/b1", "description": "x"},
        headers=auditor,
    )
    visit = desk.client.post(
        f"/cases/{case_id}/return-visits", json={"note": "called"}, headers=auditor
    )
    for refused in (report, visit):
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
        assert "change nothing" in refused.json()["message"]
    history = desk.client.get(f"/cases/{case_id}/history", headers=auditor).json()
    assert len(history["events"]) == 2


def test_residents_report_only_for_themselves_and_staff_only_in_their_place(
    sqlite_desk: Desk,
) -> None:
    desk = sqlite_desk
    as_other = desk.client.post(
        "/cases",
        json={
            "kind": "repair",
            "address": COMPOUND + "/b1",
            "description": "x",
            "reporter": {"id": "r-9999"},
        },
        headers=desk.resident(),
    )
    assert as_other.status_code == 403
    assert "for themselves" in as_other.json()["message"]
    elsewhere = desk.client.post(
        "/cases",
        json={"kind": "repair", "address": OTHER_COMPOUND + "/b1", "description": "x"},
        headers=desk.staff(COMPOUND),
    )
    assert elsewhere.status_code == 403
    assert "jiating" in elsewhere.json()["message"]


def test_a_resident_may_not_record_a_return_visit(sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    refused = desk.client.post(
        f"/cases/{case_id}/return-visits", json={"note": "fine"}, headers=desk.resident()
    )
    assert refused.status_code == 403
    assert "staff" in refused.json()["message"]


def test_the_token_command_prints_the_token_last_and_keeps_only_its_hash(
    sqlite_desk: Desk, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = sqlite_desk
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(desk.settings.var_dir))
    made = main(["token", "--actor", "staff-wu", "--role", "property_staff", "--place", COMPOUND])
    assert made == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    stored = desk.settings.tokens_path.read_text()
    assert token not in stored
    assert "staff-wu" in stored
    listed = desk.client.get("/cases", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    assert main(["token", "--actor", "staff-wu", "--role", "property_staff"]) == 2
    assert "--place" in capsys.readouterr().err
    assert main(["token", "--actor", "x", "--role", "mayor"]) == 2


def test_an_expired_token_is_refused_by_the_api_and_the_login_page_saying_which_and_when(
    sqlite_desk: Desk,
) -> None:
    """Expiry is read against the service's clock (here the test's FakeClock), not the wall's."""
    desk = sqlite_desk
    token = TokenStore(desk.settings.tokens_path, desk.clock).create(
        "staff-wu", "property_staff", COMPOUND, expires_at=T0 + timedelta(hours=1)
    )
    headers = {"Authorization": f"Bearer {token}"}
    desk.clock.advance(timedelta(minutes=59))
    assert desk.client.get("/cases", headers=headers).status_code == 200
    signed = desk.client.post("/ui/login", data={"token": token}, follow_redirects=False)
    assert signed.status_code == 303
    assert desk.client.get("/ui/dashboard").status_code == 200
    desk.clock.advance(timedelta(minutes=1))
    expired = desk.client.get("/cases", headers=headers)
    assert expired.status_code == 401
    assert expired.json() == {
        "code": "unauthenticated",
        "message": f"token {hash_token(token)[:12]} (of staff-wu) expired at "
        "2026-11-24T02:00:00Z; ask for a new one (made by casework-token make)",
    }
    # the browser session ends with the token; signing in again says why it cannot
    assert desk.client.get("/ui/dashboard", follow_redirects=False).status_code == 303
    again = desk.client.post("/ui/login", data={"token": token})
    assert again.status_code == 401
    assert "expired at 2026-11-24T02:00:00Z" in again.text
    assert token not in again.text


def test_the_token_command_passes_the_expiry_on(
    sqlite_desk: Desk, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command reads the wall clock (it is a separate process); the service its own."""
    desk = sqlite_desk
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(desk.settings.var_dir))
    made = main(["token", "--actor", "r-0302", "--role", "resident", "--expires-in", "2h"])
    assert made == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    stored = json.loads(desk.settings.tokens_path.read_text())[hash_token(token)]
    expires_at = datetime.fromisoformat(stored["expires_at"])
    assert timedelta(hours=1, minutes=59) < expires_at - datetime.now(UTC) <= timedelta(hours=2)
    headers = {"Authorization": f"Bearer {token}"}
    desk.clock.set(expires_at - timedelta(seconds=1))
    assert desk.client.get("/cases", headers=headers).status_code == 200
    desk.clock.set(expires_at)
    assert "expired" in desk.client.get("/cases", headers=headers).json()["message"]
    assert main(["token", "--actor", "r-0303", "--role", "resident", "--no-expiry"]) == 0
    forever = capsys.readouterr().out.strip().splitlines()[-1]
    assert (
        "expires_at" not in json.loads(desk.settings.tokens_path.read_text())[hash_token(forever)]
    )
