"""The answers kept for `Idempotency-Key` retries hold no personal plaintext, and no replay
shows an erased person's values (issue 11, docs/adr/011-personal-data.md), on SQLite and
PostgreSQL."""

from __future__ import annotations

import uuid

from casework.idempotency import records_for
from intake.testing import Desk

PHONE = "13800138000"


def report_with_contact(desk: Desk, reporter: str = "r-0302") -> str:
    body = desk.report(
        desk.staff(),
        kind="repair",
        description="楼道灯坏了，晚上很黑",
        reporter={"id": reporter, "role": "resident", "contact": PHONE},
    )
    return str(body["case_id"])


def test_a_kept_case_answer_holds_no_plaintext_and_no_replay_shows_it_after_an_erasure(
    desk: Desk,
) -> None:
    """A case action's answer (CasePublic: the description, and for staff the contacts) kept
    for retries of a keyed POST is sealed in the store, and after the reporter's erasure its
    replay has no body (docs/adr/011-personal-data.md)."""
    case_id = report_with_contact(desk)
    description = "楼道灯坏了，晚上很黑"
    headers = desk.staff() | {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/cases/{case_id}/acknowledgement"
    first = desk.client.post(path, json={}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["contacts"] == {"r-0302": PHONE}
    assert first.json()["description"] == description
    records = records_for(desk.client.app.state.runtime.intake.app)  # type: ignore[attr-defined]
    with records.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT * FROM {records.table}")
        kept = b"\0".join(
            bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
            for row in cursor.fetchall()
            for v in dict(row).values()
        )
    assert path.encode() in kept  # the row is there (its scope)
    for secret in (PHONE, description, "楼道灯"):
        assert secret.encode() not in kept
    again = desk.client.post(path, json={}, headers=headers)
    assert (again.status_code, again.json()) == (200, first.json())

    erased = desk.client.post(
        "/people/r-0302/erasure", json={"reason": "PIPL request 118"}, headers=desk.dpo()
    )
    assert erased.status_code == 201, erased.text
    after = desk.client.post(path, json={}, headers=headers)
    assert after.status_code == 200
    assert after.headers["Idempotent-Replayed"] == "true"
    assert PHONE.encode() not in after.content
    assert description.encode() not in after.content
    assert after.content == b""
