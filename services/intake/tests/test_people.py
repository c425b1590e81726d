"""`GET /people/{id}` and `POST /people/{id}/erasure` on a real store (SQLite and PostgreSQL):
who may, what the export holds, and what every view shows after an erasure."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import jsonschema_rs
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
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


def test_a_person_id_with_a_control_character_is_refused_with_a_message(desk: Desk) -> None:
    """A NUL is refused by PostgreSQL and no id holds one: the path is checked, not the store."""
    for raw in ("%00", "r-0302%00", "r%01x", "r%1Fx", "r%7Fx"):
        erase = desk.client.post(
            f"/people/{raw}/erasure", json={"reason": "要求删除"}, headers=desk.dpo()
        )
        read = desk.client.get(f"/people/{raw}", headers=desk.dpo())
        for answer in (erase, read):
            assert answer.status_code == 422, (raw, answer.status_code, answer.text)
            assert "person_id" in answer.text


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # the GETs change nothing
)
@given(char=st.characters(exclude_categories=["Cs"], exclude_characters="/"))
@example(char="\x85")  # NEL: Python's `\s`, not ECMA's
@example(char="\u3000")  # the ideographic space
@example(char="张")
def test_the_server_takes_a_person_id_exactly_when_its_openapi_pattern_does(
    sqlite_desk: Desk, char: str
) -> None:
    """What the OpenAPI document says of the id, read as a JSON Schema reader reads it
    (ECMA-262: `\\s` there is not Python's), is what the server enforces, character by
    character (U+0085 was taken by one and refused by the other)."""
    spec = sqlite_desk.client.get("/openapi.json").json()
    (param,) = spec["paths"]["/people/{person_id}"]["get"]["parameters"]
    documented = jsonschema_rs.validator_for(param["schema"]).is_valid(f"r{char}x")
    answer = sqlite_desk.client.get(
        "/people/" + quote(f"r{char}x", safe=""), headers=sqlite_desk.dpo()
    )
    assert answer.status_code == (200 if documented else 422), (hex(ord(char)), answer.text)
