"""The web pages' access rules and what they say, through the HTTP client (the browser test,
test_browser.py, clicks through them in Chromium): sign-in sets an HttpOnly cookie checked like a
bearer header, pages keep the API's scopes, and the case file shows any moment of a case."""

from __future__ import annotations

import html
import re
from typing import Any

from casework import Actor, Role
from casework.testing.stories import dispute_story
from casework_web import TokenStore
from intake.testing import FLAT, OTHER_COMPOUND, Desk


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def sign_in(desk: Desk, headers: dict[str, str]) -> None:
    response = desk.client.post(
        "/ui/login", data={"token": token_of(headers)}, follow_redirects=False
    )
    assert response.status_code == 303, response.text


def problem(response: Any) -> str:
    found = re.search(r'data-testid="problem">([^<]*)<', response.text)
    assert found is not None, response.text
    return html.unescape(found.group(1))


def test_pages_ask_for_sign_in_and_the_cookie_is_httponly_strict_and_scoped_to_pages(
    sqlite_desk: Desk,
) -> None:
    desk = sqlite_desk
    first = desk.client.get("/ui/dashboard?compound=wanxin-intl", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/ui/login?next=%2Fui%2Fdashboard%3Fcompound%3Dwanxin-intl"
    wrong = desk.client.post("/ui/login", data={"token": "nope"})
    assert wrong.status_code == 401
    assert "this token is not known" in wrong.text
    empty = desk.client.post("/ui/login", data={"token": "  "})
    assert empty.status_code == 422
    signed = desk.client.post(
        "/ui/login",
        data={"token": token_of(desk.staff()), "next": "/ui/dashboard?compound=wanxin-intl"},
        follow_redirects=False,
    )
    assert signed.headers["location"] == "/ui/dashboard?compound=wanxin-intl"
    cookie = signed.headers["set-cookie"].lower()
    for flag in ("httponly", "samesite=strict", "path=/ui", "max-age=43200"):
        assert flag in cookie
    assert "secure" not in cookie  # plain http on loopback; over https it is set (below)
    page = desk.client.get("/ui/dashboard")
    assert page.status_code == 200
    assert "staff-li" in page.text
    assert page.headers["cache-control"] == "no-store"
    # the JSON API never takes the cookie: there the bearer header is the only credential
    assert desk.client.get("/cases").status_code == 401
    behind_proxy = desk.client.post(
        "/ui/login",
        data={"token": token_of(desk.staff())},
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
    )
    assert "secure" in behind_proxy.headers["set-cookie"].lower()
    out = desk.client.post("/ui/logout", follow_redirects=False)
    assert out.status_code == 303
    assert desk.client.get("/ui/dashboard", follow_redirects=False).status_code == 303


def test_sign_in_goes_only_to_our_own_pages_and_refuses_a_foreign_form(sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    token = token_of(desk.auditor())
    for target in ("https://evil.example/ui/x", "//evil.example/ui/", "/cases", "/ui\\..\\x"):
        answer = desk.client.post(
            "/ui/login", data={"token": token, "next": target}, follow_redirects=False
        )
        assert answer.headers["location"] == "/ui/dashboard", target
    foreign = desk.client.post(
        "/ui/login",
        data={"token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403
    assert "set-cookie" not in foreign.headers


def test_a_revoked_token_signs_its_browser_out(sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    sign_in(desk, desk.staff())
    assert desk.client.get("/ui/dashboard").status_code == 200
    TokenStore(desk.settings.tokens_path).revoke("staff-li")
    assert desk.client.get("/ui/dashboard", follow_redirects=False).status_code == 303


def test_a_resident_sees_their_own_cases_but_no_measures_and_no_neighbours_case(
    sqlite_desk: Desk,
) -> None:
    desk = sqlite_desk
    own = desk.report(desk.resident(), kind="repair")["case_id"]
    theirs = desk.report(desk.resident("r-0401"), kind="repair", description="lift")["case_id"]
    sign_in(desk, desk.resident())
    page = desk.client.get("/ui/dashboard")
    assert "measures are for those who answer for a place" in page.text
    assert own[:8] in page.text
    assert theirs[:8] not in page.text
    assert desk.client.get(f"/ui/cases/{own}").status_code == 200
    hidden = desk.client.get(f"/ui/cases/{theirs}")
    unknown = desk.client.get("/ui/cases/00000000-0000-4000-8000-000000000000")
    assert hidden.status_code == unknown.status_code == 404
    assert problem(hidden).replace(theirs, "X") == problem(unknown).replace(
        "00000000-0000-4000-8000-000000000000", "X"
    )


def test_staff_of_another_compound_neither_see_the_case_nor_its_compounds_measures(
    sqlite_desk: Desk,
) -> None:
    desk = sqlite_desk
    case_id = desk.report(desk.resident(), kind="repair")["case_id"]
    sign_in(desk, desk.staff(OTHER_COMPOUND, "staff-ying"))
    assert desk.client.get(f"/ui/cases/{case_id}").status_code == 404
    refused = desk.client.get("/ui/dashboard?compound=wanxin-intl")
    assert refused.status_code == 403
    assert "does not see the measures of jiayu-xx/wanxin-intl" in problem(refused)
    mine = desk.client.get("/ui/dashboard")
    assert mine.status_code == 200
    assert "嘉庭 jiating" in mine.text
    assert "万鑫国际" not in mine.text  # only the compounds they answer for are offered
    assert f"可见范围 you answer for: {OTHER_COMPOUND}" in mine.text
    assert "every place" not in mine.text
    sign_in(desk, desk.auditor())
    narrowed = desk.client.get("/ui/dashboard?compound=wanxin-intl")
    # an auditor looking at one compound still answers for every place: the note says which
    assert "可见范围 you answer for: 全部 every place" in narrowed.text


def test_the_case_file_shows_the_ladder_state_and_timeline_as_of_any_event(
    sqlite_desk: Desk,
) -> None:
    desk = sqlite_desk
    app = desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]
    case_id = dispute_story(app, desk.clock)
    sign_in(desk, desk.auditor())
    latest = desk.client.get(f"/ui/cases/{case_id}")
    assert latest.status_code == 200
    text = latest.text
    events = len(app.history(case_id))
    assert f"event {events} of {events}" in text
    assert "完整 intact" in text
    assert re.search(r'data-tier="community">\s*<strong>社区 community</strong>.*解决于此', text)
    assert "已升级" in text
    assert "needs the community" in text  # the escalation's reason
    early = desk.client.get(f"/ui/cases/{case_id}?v=5").text  # the first meeting convened
    assert f"event 5 of {events}" in early
    assert "调解中 in_mediation" in early
    assert re.search(r'data-tier="compound">\s*<strong>小区 compound</strong>.*当前', early)
    assert early.count('class="later"') == events - 5
    assert 'class="current" data-version="5"' in early
    for bad in ("0", str(events + 1), "x"):
        answer = desk.client.get(f"/ui/cases/{case_id}?v={bad}")
        assert answer.status_code == 422
        assert f"from 1 to {events}" in problem(answer)
    # a script may send the bearer header instead of the cookie
    desk.client.cookies.clear()
    scripted = desk.client.get(f"/ui/cases/{case_id}?v=1", headers=desk.auditor())
    assert scripted.status_code == 200
    assert "已上报 reported" in scripted.text


def test_the_timeline_tells_a_manager_taking_work_off_from_a_worker_declining_it(
    sqlite_desk: Desk,
) -> None:
    desk = sqlite_desk
    app = desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]
    manager = Actor("manager-wang", Role.PROPERTY_MANAGER)
    volunteer = Actor("volunteer-zhao", Role.VOLUNTEER)
    staff = Actor("staff-li", Role.PROPERTY_STAFF)
    case_id = app.report_repair(Actor("r-0302", Role.RESIDENT), FLAT, "tap drips", "plumbing")
    app.assign(case_id, manager, volunteer, "plumber in the building")
    app.decline_assignment(case_id, volunteer, "away this week")
    app.assign(case_id, manager, staff, "staff plumber")
    case = app.get_case(case_id)  # dispatch's reassign: Case.take_off, recorded by the manager
    case.take_off(manager, app.dated(case, app.clock()), "fell ill on the job")
    app.save(case)
    sign_in(desk, desk.auditor())
    page = desk.client.get(f"/ui/cases/{case_id}")
    assert page.status_code == 200

    rows = [
        html.unescape(r) for r in re.findall(r"data-version=\"\d+\">(.*?)</tr>", page.text, re.S)
    ]
    declined, taken_off = (r for r in rows if "AssignmentDeclined" in r)
    assert '已退单 <span class="code">AssignmentDeclined</span>' in declined
    assert "volunteer-zhao" in declined
    assert "away this week" in declined
    assert "已撤回派单" not in declined
    assert '已撤回派单 <span class="code">AssignmentDeclined (taken_off)</span>' in taken_off
    assert "manager-wang" in taken_off
    assert "fell ill on the job" in taken_off
    assert "已退单" not in taken_off


def test_a_malformed_dashboard_form_is_a_page_saying_what_to_fix(sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    sign_in(desk, desk.auditor())
    bad_date = desk.client.get("/ui/dashboard?from=yesterday")
    assert bad_date.status_code == 422
    assert "YYYY-MM-DD" in problem(bad_date)
    unknown = desk.client.get("/ui/dashboard?compound=nowhere")
    assert unknown.status_code == 422
    assert "no compound 'nowhere'" in problem(unknown)
    window = desk.client.get("/ui/dashboard?from=2026-11-24&to=2026-11-24&compound=")
    assert window.status_code == 200
