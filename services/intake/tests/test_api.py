"""The intake over HTTP, on a real store (each test runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from casework import Actor, Role
from casework_web.observability import JsonFormatter
from intake.testing import COMPOUND, FLAT, T0, Desk


def resolve_repair(desk: Desk, case_id: str) -> None:
    """Staff do the work through the library (dispatch's job), so residents can respond."""
    app = desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]
    staff = Actor("staff-li", Role.PROPERTY_STAFF)
    app.assign(case_id, staff, staff, "on duty in building 12")
    app.start_work(case_id, staff)
    app.finish_work(case_id, staff, "replaced the bulb")
    app.resolve(case_id, staff, "light works again")


def test_a_report_answers_201_with_id_kind_priority_tier_and_first_response_deadline(
    desk: Desk,
) -> None:
    response = desk.client.post(
        "/cases",
        json={"kind": "repair", "address": FLAT, "description": "tap drips", "channel": "wechat"},
        headers=desk.resident(),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outcome"] == "opened"
    assert (body["kind"], body["category"], body["priority"], body["tier"]) == (
        "repair",
        "plumbing",
        "routine",
        "building",
    )
    assert datetime.fromisoformat(body["respond_by"]) == T0 + timedelta(hours=4)
    shown = desk.client.get(f"/cases/{body['case_id']}", headers=desk.resident()).json()
    assert shown["status"] == "reported"
    assert shown["channel"] == "wechat"
    assert shown["reporter_ids"] == ["r-0302"]


def test_a_free_text_report_of_water_from_an_empty_flat_opposite_is_an_emergency_leak(
    desk: Desk,
) -> None:
    body = desk.report(
        desk.resident(),
        description="对门装修没人住，水从门缝渗出来了",
        source_unit="0301",
    )
    assert (body["kind"], body["priority"], body["tier"]) == ("leak", "emergency", "building")
    assert datetime.fromisoformat(body["respond_by"]) == T0 + timedelta(minutes=10)
    assert any("门缝" in reason or "对门" in reason for reason in body["triage"])


def test_the_contact_is_kept_sealed_in_the_case_file_and_shown_to_staff_and_its_owner(
    desk: Desk,
) -> None:
    phone = "13800138000"
    body = desk.report(
        desk.staff(),
        kind="repair",
        description="lift stuck",
        reporter={"id": "r-0302", "role": "resident", "contact": phone},
        channel="phone",
    )
    case_id = body["case_id"]
    app = desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]
    stored = [n.state for n in app.recorder.select_notifications(start=1, limit=100)]
    assert stored
    assert not any(phone.encode() in state for state in stored)  # sealed
    assert app.get_case(case_id).contacts == {"r-0302": phone}  # any replica reads it there
    history = desk.client.get(f"/cases/{case_id}/history", headers=desk.auditor()).json()
    assert phone not in json.dumps(history)
    assert history["events"][0]["details"]["contact"] == "[personal]"
    assert history["events"][2]["details"]["text"] == "[personal]"  # a note: the reporter's
    staff_history = desk.client.get(f"/cases/{case_id}/history", headers=desk.staff()).text
    assert "report taken by staff-li" in staff_history
    staff_view = desk.client.get(f"/cases/{case_id}", headers=desk.staff()).json()
    assert staff_view["contacts"] == {"r-0302": phone}
    own_view = desk.client.get(f"/cases/{case_id}", headers=desk.resident()).json()
    assert own_view["contacts"] == {"r-0302": phone}
    auditor_view = desk.client.get(f"/cases/{case_id}", headers=desk.auditor()).json()
    assert auditor_view["contacts"] is None
    assert auditor_view["description"] == "[personal]"


def test_a_resident_confirms_then_rates_and_staff_record_the_return_visit(desk: Desk) -> None:
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    resolve_repair(desk, case_id)
    confirmed = desk.client.post(f"/cases/{case_id}/confirmation", headers=desk.resident())
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    rated = desk.client.post(
        f"/cases/{case_id}/rating",
        json={"score": 5, "comment": "quick"},
        headers=desk.resident(),
    )
    assert rated.json()["satisfaction"] == 5
    visit = desk.client.post(
        f"/cases/{case_id}/return-visits",
        json={"note": "called back; the light still works"},
        headers=desk.staff(),
    )
    assert visit.status_code == 200, visit.text
    assert visit.json()["return_visits"] == 1


def test_acceptance_of_the_work_is_a_field_of_the_case_not_a_kind_detail(desk: Desk) -> None:
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    app = desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]
    staff = Actor("staff-li", Role.PROPERTY_STAFF)
    app.assign(case_id, staff, staff, "on duty in building 12")
    app.accept_assignment(case_id, staff)
    body = desk.client.get(f"/cases/{case_id}", headers=desk.resident()).json()
    assert body["accepted_at"] is not None
    assert body["queued_at"] is None
    assert "accepted_at" not in body["details"]


def test_a_rating_outside_one_to_five_is_refused_with_a_message(desk: Desk) -> None:
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    resolve_repair(desk, case_id)
    response = desk.client.post(
        f"/cases/{case_id}/rating", json={"score": 6}, headers=desk.resident()
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    assert "score" in response.json()["message"]


def test_a_resident_reopens_within_the_window_but_not_after_it(desk: Desk) -> None:
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    resolve_repair(desk, case_id)
    desk.clock.advance(timedelta(days=2))
    reopened = desk.client.post(
        f"/cases/{case_id}/reopening",
        json={"reason": "flickers again"},
        headers=desk.resident(),
    )
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["reopen_count"] == 1
    assert reopened.json()["status"] == "assigned"
    app = desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]
    staff = Actor("staff-li", Role.PROPERTY_STAFF)
    app.start_work(case_id, staff)
    app.finish_work(case_id, staff, "new fitting")
    app.resolve(case_id, staff, "fixed for good")
    desk.clock.advance(timedelta(days=8))
    late = desk.client.post(
        f"/cases/{case_id}/reopening",
        json={"reason": "broken again"},
        headers=desk.resident(),
    )
    assert late.status_code == 409
    assert late.json()["code"] == "invalid_transition"
    assert "new case" in late.json()["message"]


def test_confirming_a_case_that_is_not_resolved_is_a_409_saying_what_state_it_is_in(
    desk: Desk,
) -> None:
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    response = desk.client.post(f"/cases/{case_id}/confirmation", headers=desk.resident())
    assert response.status_code == 409
    assert "reported" in response.json()["message"]


def test_history_as_of_shows_the_case_as_it_was_then(desk: Desk) -> None:
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    desk.clock.advance(timedelta(hours=1))
    resolve_repair(desk, case_id)
    now = desk.client.get(f"/cases/{case_id}/history", headers=desk.resident()).json()
    assert now["state"]["status"] == "resolved"
    assert [e["event"] for e in now["events"]][:2] == ["Reported", "DeadlinesSet"]
    then = desk.client.get(
        f"/cases/{case_id}/history",
        params={"as_of": (T0 + timedelta(minutes=30)).isoformat()},
        headers=desk.resident(),
    ).json()
    assert then["state"]["status"] == "reported"
    assert [e["event"] for e in then["events"]] == ["Reported", "DeadlinesSet"]
    before = desk.client.get(
        f"/cases/{case_id}/history",
        params={"as_of": (T0 - timedelta(days=1)).isoformat()},
        headers=desk.resident(),
    )
    assert before.status_code == 422
    assert "did not exist yet" in before.json()["message"]


def test_verify_reports_an_intact_chain(desk: Desk) -> None:
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    body = desk.client.get(f"/cases/{case_id}/verify", headers=desk.auditor()).json()
    assert body["ok"] is True
    assert body["events"] == 2
    assert "intact" in body["description"]


def test_the_listing_comes_from_the_index_filtered_and_paged(desk: Desk) -> None:
    for n in range(3):
        desk.report(desk.resident(), kind="repair", description=f"light {n} is out")
    desk.report(desk.resident(), kind="dispute", category="parking", description="car on my spot")
    headers = desk.staff()
    page = desk.client.get("/cases", params={"kind": "repair", "limit": 2}, headers=headers)
    assert page.status_code == 200, page.text
    assert page.json()["total"] == 3
    assert len(page.json()["items"]) == 2
    rest = desk.client.get(
        "/cases", params={"kind": "repair", "limit": 2, "offset": 2}, headers=headers
    ).json()
    assert len(rest["items"]) == 1
    disputes = desk.client.get(
        "/cases", params={"tier": "compound", "compound": "wanxin-intl"}, headers=headers
    ).json()
    assert [c["kind"] for c in disputes["items"]] == ["dispute"]
    none = desk.client.get("/cases", params={"compound": "jiating"}, headers=headers).json()
    assert none["total"] == 0


def test_the_index_follows_changes_made_by_other_services_through_the_store(desk: Desk) -> None:
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    resolve_repair(desk, case_id)  # written by "dispatch", not through the intake's API
    rt = desk.client.app.state.runtime  # type: ignore[attr-defined]
    rt.store_feed.catch_up()
    listed = desk.client.get("/cases", params={"status": "resolved"}, headers=desk.staff()).json()
    assert [c["case_id"] for c in listed["items"]] == [case_id]


def test_health_readiness_and_metrics_answer(desk: Desk) -> None:
    assert desk.client.get("/healthz").json() == {"status": "ok"}
    ready = desk.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    desk.report(desk.resident(), kind="repair")
    desk.report(desk.resident(), description="对门漏水", source_unit="0301")
    text = desk.client.get("/metrics").text
    assert 'intake_cases_reported_total{kind="repair",outcome="opened"} 1.0' in text
    assert 'intake_cases_reported_total{kind="leak",outcome="opened"} 1.0' in text
    assert 'intake_requests_total{method="POST",route="/cases",status="201"} 2.0' in text
    assert "intake_request_seconds_bucket" in text


def test_every_answer_carries_a_request_id_and_an_unknown_route_is_a_json_404(
    desk: Desk,
) -> None:
    response = desk.client.get("/nowhere", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "abc-123"
    assert response.json()["code"] == "not_found"


def test_a_report_for_a_place_not_in_the_registry_is_refused_naming_the_unknown_part(
    desk: Desk,
) -> None:
    response = desk.client.post(
        "/cases",
        json={"address": f"{COMPOUND}/b99/0101", "description": "x", "kind": "repair"},
        headers=desk.resident(),
    )
    assert response.status_code == 422
    assert "b99" in response.json()["message"]


def test_photos_references_and_who_took_the_report_go_in_the_case_file(desk: Desk) -> None:
    body = desk.report(
        desk.staff(),
        kind="repair",
        reporter={"id": "r-0302", "role": "resident"},
        channel="walk_in",
        photos=["wechat-media://abc123", "https://img.example/leak.jpg"],
    )

    def notes(headers: dict[str, str]) -> list[str]:
        url = f"/cases/{body['case_id']}/history"
        events = desk.client.get(url, headers=headers).json()["events"]
        return [e["details"]["text"] for e in events if e["event"] == "NoteAdded"]

    assert notes(desk.auditor()) == ["[personal]"]  # a note about the reporter is personal
    assert notes(desk.staff()) == [
        "report taken by staff-li (property_staff) for r-0302 via walk_in\n"
        "photos: wechat-media://abc123, https://img.example/leak.jpg"
    ]


def test_the_history_route_gives_the_same_events_as_casework_history(sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    resolve_repair(desk, case_id)
    api = desk.client.get(f"/cases/{case_id}/history", headers=desk.auditor()).json()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "INTAKE_"))}
    env["CASEWORK_STORE"] = desk.settings.store
    env["CASEWORK_MASTER_KEY_FILE"] = os.environ["CASEWORK_MASTER_KEY_FILE"]  # what sealed it
    done = subprocess.run(
        [str(Path(sys.executable).with_name("casework")), "history", case_id, "--json"],
        # without --personal: the auditor's reading, as the route gives an auditor
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    cli = json.loads(done.stdout)
    fields = ("version", "event", "actor_id", "actor_role", "tier", "reason", "details", "hash")
    assert [{f: e[f] for f in fields} for e in api["events"]] == [
        {f: e[f] for f in fields} for e in cli["events"]
    ]
    assert [datetime.fromisoformat(e["at"]) for e in api["events"]] == [
        datetime.fromisoformat(e["at"]) for e in cli["events"]
    ]
    assert (api["state"]["status"], cli["state"]["status"]) == ("resolved", "resolved")


class Lines(logging.Handler):
    """Formats each record when it is emitted, as a service's log handler does."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.entries: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append(json.loads(self.format(record)))


def test_log_lines_of_a_report_and_of_an_action_carry_the_case_id_and_the_request_id(
    sqlite_desk: Desk,
) -> None:
    desk, lines, logger = sqlite_desk, Lines(), logging.getLogger("intake")
    logger.addHandler(lines)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        headers = {**desk.resident(), "X-Request-ID": "req-report-1"}
        case_id = desk.report(headers, kind="repair")["case_id"]
        desk.client.post(
            f"/cases/{case_id}/confirmation",
            headers={**desk.resident(), "X-Request-ID": "req-2"},
        )
    finally:
        logger.removeHandler(lines)
        logger.setLevel(level)
    opened = [e for e in lines.entries if e["message"] == f"case {case_id} opened"]
    assert [(e["case_id"], e["request_id"]) for e in opened] == [(case_id, "req-report-1")]
    access = {e["request_id"]: e for e in lines.entries if e.get("route")}
    assert access["req-report-1"]["case_id"] == case_id
    assert (access["req-2"]["case_id"], access["req-2"]["status"]) == (case_id, 409)
