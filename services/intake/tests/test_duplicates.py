"""A second report of the same open leak or blocked road joins the first case."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from casework import Actor, Role
from intake.testing import COMPOUND, Desk

LEAK = {"description": "对门渗水", "source_unit": "0301", "address": COMPOUND + "/b12/0302"}


def test_a_second_report_of_the_same_open_leak_adds_the_reporter_to_the_first_case(
    desk: Desk,
) -> None:
    first = desk.report(desk.resident("r-0302"), **LEAK)
    second = desk.client.post(
        "/cases",
        json={
            **LEAK,
            "address": COMPOUND + "/b12/0303",
            "description": "water seeping out of 0301",
        },
        headers=desk.resident("r-0303"),
    )
    assert second.status_code == 200
    assert second.json()["outcome"] == "linked"
    assert second.json()["case_id"] == first["case_id"]
    assert "already open" in second.json()["message"]
    case = desk.client.get(f"/cases/{first['case_id']}", headers=desk.resident("r-0303")).json()
    assert case["reporter_ids"] == ["r-0302", "r-0303"]
    again = desk.client.post("/cases", json=LEAK, headers=desk.resident("r-0302"))
    assert again.json()["outcome"] == "already_reported"
    listed = desk.client.get("/cases", params={"kind": "leak"}, headers=desk.staff()).json()
    assert listed["total"] == 1


def test_a_leak_from_another_flat_or_after_the_first_is_settled_opens_a_new_case(
    desk: Desk,
) -> None:
    first = desk.report(desk.resident("r-0302"), **LEAK)
    other_flat = desk.report(desk.resident("r-0303"), **{**LEAK, "source_unit": "0501"})
    assert other_flat["outcome"] == "opened"
    app = desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]
    staff = Actor("staff-li", Role.PROPERTY_STAFF)
    app.stop_water(first["case_id"], staff, "staff_closed_valve")
    app.record_cause(first["case_id"], staff, "valve left open by the renovation worker")
    app.resolve(first["case_id"], staff, "water stopped, owner informed")
    later = desk.report(desk.resident("r-0303"), **LEAK)
    assert later["outcome"] == "opened"
    assert later["case_id"] != first["case_id"]


def test_reports_of_the_same_blocked_road_join_one_case(desk: Desk) -> None:
    road: dict[str, Any] = {"description": "道路被堵，车出不去", "address": COMPOUND}
    first = desk.report(desk.resident("r-1"), **road)
    second = desk.report(desk.resident("r-2"), **road)
    assert (first["kind"], first["category"], first["tier"]) == (
        "dispute",
        "road_and_gates",
        "compound",
    )
    assert second["outcome"] == "linked"
    assert second["case_id"] == first["case_id"]


def test_concurrent_reports_of_one_leak_open_exactly_one_case(sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    headers = [desk.resident(f"r-{n}") for n in range(8)]

    def report(h: dict[str, str]) -> Any:
        return desk.client.post("/cases", json=LEAK, headers=h).json()

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(report, headers))
    assert len({a["case_id"] for a in answers}) == 1
    assert sorted(a["outcome"] for a in answers) == ["linked"] * 7 + ["opened"]


def test_a_replica_with_a_fresh_index_finds_the_matter_and_the_contacts_in_the_store(
    desk: Desk,
) -> None:
    """The intake keeps nothing the store cannot give back: a replica whose `intake.db` is new
    (another host, or the file lost) joins the second report to the first case, and shows both
    reporters' contacts, from the case files alone."""
    from casework.clock import FakeClock
    from fastapi.testclient import TestClient
    from intake.api.app import create_app
    from intake.testing import make_settings

    first = desk.report(desk.staff(), reporter={"id": "r-0302", "contact": "13800138000"}, **LEAK)
    other = make_settings(
        desk.settings.var_dir.parent / "replica",
        desk.settings.store,
        CASEWORK_TOKENS_FILE=desk.settings.tokens_path,
    )
    assert other.db_path != desk.settings.db_path
    clock = FakeClock(desk.clock())
    with TestClient(create_app(other, clock=clock)) as replica:
        second = replica.post(
            "/cases",
            json={**LEAK, "reporter": {"id": "r-0303", "contact": "wx-0303"}},
            headers=desk.staff(),
        )
        assert second.status_code == 200, second.text
        assert (second.json()["outcome"], second.json()["case_id"]) == ("linked", first["case_id"])
        shown = replica.get(f"/cases/{first['case_id']}", headers=desk.staff()).json()
    assert shown["contacts"] == {"r-0302": "13800138000", "r-0303": "wx-0303"}
