"""`GET /people/{id}` and `POST /people/{id}/erasure` on a real store (SQLite and PostgreSQL):
who may, what the export holds, and what every view shows after an erasure."""

from __future__ import annotations

import json
import uuid

from intake.testing import Desk


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


PHONE = "13800138000"


def report_with_contact(desk: Desk, reporter: str = "r-0302") -> str:
    body = desk.report(
        desk.staff(),
        kind="repair",
        description="楼道灯坏了，晚上很黑",
        reporter={"id": reporter, "role": "resident", "contact": PHONE},
    )
    return str(body["case_id"])


def test_a_person_and_a_dpo_see_the_export_and_no_one_else_does(desk: Desk) -> None:
    case_id = report_with_contact(desk)
    own = desk.client.get("/people/r-0302", headers=desk.resident())
    assert own.status_code == 200, own.text
    facts = {(f["case_id"], f["field"]): f["value"] for f in own.json()["facts"]}
    assert facts[(case_id, "contact")] == PHONE
    assert facts[(case_id, "description")] == "楼道灯坏了，晚上很黑"
    assert own.json()["erased"] is None
    assert desk.client.get("/people/r-0302", headers=desk.dpo()).json() == own.json()
    for stranger in (desk.resident("r-0303"), desk.staff(), desk.auditor()):
        refused = desk.client.get("/people/r-0302", headers=stranger)
        assert refused.status_code == 403
        assert "data protection officer" in refused.json()["message"]


def test_only_a_dpo_erases_and_the_erasure_records_who_when_why(desk: Desk) -> None:
    case_id = report_with_contact(desk)
    for other in (desk.resident(), desk.staff(), desk.auditor()):
        refused = desk.client.post(
            "/people/r-0302/erasure", json={"reason": "asked"}, headers=other
        )
        assert refused.status_code == 403
        assert "data protection officer" in refused.json()["message"]
    assert desk.client.get(f"/cases/{case_id}", headers=desk.staff()).json()["contacts"] == {
        "r-0302": PHONE
    }
    key = {"Idempotency-Key": str(uuid.uuid4())}
    done = desk.client.post(
        "/people/r-0302/erasure", json={"reason": "PIPL request 118"}, headers=desk.dpo() | key
    )
    assert done.status_code == 201, done.text
    erasure = done.json()
    assert erasure["by"] == {"id": "dpo-sun", "role": "data_protection_officer"}
    assert (erasure["reason"], erasure["case_ids"]) == ("PIPL request 118", [case_id])
    again = desk.client.post(
        "/people/r-0302/erasure", json={"reason": "PIPL request 118"}, headers=desk.dpo() | key
    )
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == erasure

    staff_view = desk.client.get(f"/cases/{case_id}", headers=desk.staff()).json()
    assert staff_view["contacts"] == {"r-0302": "[erased]"}
    assert staff_view["description"] == "[erased]"
    for headers in (desk.staff(), desk.auditor()):
        history = desk.client.get(f"/cases/{case_id}/history", headers=headers).text
        assert PHONE not in history
        assert "楼道灯" not in history
    desk.client.post("/ui/login", data={"token": token_of(desk.staff())}, follow_redirects=False)
    page = desk.client.get(f"/ui/cases/{case_id}")
    assert page.status_code == 200, page.text
    assert "楼道灯" not in page.text
    assert "[erased]" in page.text
    exported = desk.client.get("/people/r-0302", headers=desk.dpo()).json()
    assert exported["erased"]["reason"] == "PIPL request 118"
    assert {f["value"] for f in exported["facts"]} == {"[erased]"}
    verified = desk.client.get(f"/cases/{case_id}/verify", headers=desk.auditor()).json()
    assert verified["ok"], verified


def test_people_routes_answer_bad_input_with_a_message(desk: Desk) -> None:
    empty = desk.client.post("/people/r-0302/erasure", json={"reason": ""}, headers=desk.dpo())
    assert empty.status_code == 422
    assert "reason" in json.dumps(empty.json())
    unknown = desk.client.post(
        "/people/r-0302/erasure", json={"reason": "x", "person": "y"}, headers=desk.dpo()
    )
    assert unknown.status_code == 422
    long_id = desk.client.get("/people/" + "x" * 200, headers=desk.dpo())
    assert long_id.status_code == 422
    assert desk.client.get("/people/r-0302").status_code == 401


def test_the_dpo_sees_no_case(desk: Desk) -> None:
    case_id = report_with_contact(desk)
    assert desk.client.get(f"/cases/{case_id}", headers=desk.dpo()).status_code == 404
    assert desk.client.get("/cases", headers=desk.dpo()).json()["total"] == 0
