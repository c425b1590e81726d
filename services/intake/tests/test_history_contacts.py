"""A case file's history shows a resident their own contact and no one else's, as the case view
does (`contacts_for`): the second reporter of a leak, or the other party of a dispute, must not
read the first reporter's phone number in the lines that gave it."""

from __future__ import annotations

import json

from intake.testing import COMPOUND, T0, Desk

LEAK = {"description": "对门渗水", "source_unit": "0301", "address": COMPOUND + "/b12/0302"}
FIRST, SECOND = "13800138000", "13900139000"


def report_twice(desk: Desk) -> str:
    first = desk.report(
        desk.resident("r-0302"),
        **LEAK,
        reporter={"id": "r-0302", "role": "resident", "contact": FIRST},
    )
    second = desk.report(
        desk.resident("r-0303"),
        **{**LEAK, "address": COMPOUND + "/b12/0303", "description": "0301 渗水"},
        reporter={"id": "r-0303", "role": "resident", "contact": SECOND},
    )
    assert second["outcome"] == "linked", second
    case_id: str = first["case_id"]
    return case_id


def history_text(desk: Desk, case_id: str, headers: dict[str, str]) -> str:
    response = desk.client.get(f"/cases/{case_id}/history", headers=headers)
    assert response.status_code == 200, response.text
    return json.dumps(response.json(), ensure_ascii=False)


def test_each_reporter_reads_their_own_contact_in_the_history_and_not_the_others(
    desk: Desk,
) -> None:
    case_id = report_twice(desk)
    first = history_text(desk, case_id, desk.resident("r-0302"))
    second = history_text(desk, case_id, desk.resident("r-0303"))
    assert FIRST in first
    assert SECOND not in first
    assert SECOND in second
    assert FIRST not in second
    assert "[personal]" in first
    assert "[personal]" in second


def test_staff_in_scope_read_every_reporters_contact_and_an_auditor_none(desk: Desk) -> None:
    case_id = report_twice(desk)
    staff = history_text(desk, case_id, desk.staff())
    assert FIRST in staff
    assert SECOND in staff
    auditor = history_text(desk, case_id, desk.auditor())
    assert FIRST not in auditor
    assert SECOND not in auditor


def test_as_of_a_moment_the_rule_is_the_same(desk: Desk) -> None:
    case_id = report_twice(desk)
    response = desk.client.get(
        f"/cases/{case_id}/history",
        params={"as_of": T0.isoformat()},
        headers=desk.resident("r-0303"),
    )
    assert response.status_code == 200, response.text
    shown = json.dumps(response.json(), ensure_ascii=False)
    assert FIRST not in shown
    assert SECOND in shown
