"""`GET /measures` over a real store, after the article's stories: the figures a property
manager would read, and who may read them (the case routes' scopes)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from casework import Actor, Casework, Role
from casework.testing.stories import every_story
from intake.testing import COMPOUND, OTHER_COMPOUND, Desk

VOLUNTEER = Actor("vol-li", Role.VOLUNTEER)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)


def app_of(desk: Desk) -> Casework:
    app: Casework = desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]
    return app


def stories(desk: Desk) -> None:
    """The library's five story cases, and a repair a volunteer did well and was rated for."""
    app = app_of(desk)
    every_story(app, desk.clock)
    case_id = desk.report(desk.resident(), kind="repair", description="tap drips")["case_id"]
    app.assign(case_id, STAFF, VOLUNTEER, "plumber, lives in b12")
    desk.clock.advance(timedelta(hours=1))
    app.start_work(case_id, VOLUNTEER)
    app.finish_work(case_id, VOLUNTEER, "new washer")
    app.resolve(case_id, STAFF, "tap fixed")
    assert desk.client.post(
        f"/cases/{case_id}/rating", json={"score": 5}, headers=desk.resident()
    ).is_success


def measures(desk: Desk, headers: dict[str, str], **params: str) -> Any:
    response = desk.client.get("/measures", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_measures_after_the_stories_are_what_a_manager_would_count(desk: Desk) -> None:
    stories(desk)
    desk.clock.advance(timedelta(days=1))  # the two unanswered reports are now overdue
    m = measures(desk, desk.auditor())
    assert m["scope"] == "all"
    assert m["cases"] == 6
    assert m["open"] == 2
    assert m["open_by_kind_tier"]["repair"] == {"building": 1, "compound": 0, "community": 0}
    assert m["open_by_kind_tier"]["leak"] == {"building": 1, "compound": 0, "community": 0}
    assert sum(m["open_by_kind_tier"]["dispute"].values()) == 0
    assert sorted((o["kind"], o["overdue"]) for o in m["overdue"]) == [
        ("leak", ["respond", "settle"]),
        ("repair", ["respond"]),
    ]
    assert (m["response"]["numerator"], m["response"]["denominator"]) == (4, 6)
    assert (m["resolution"]["numerator"], m["resolution"]["denominator"]) == (4, 6)
    assert (m["satisfaction"]["numerator"], m["satisfaction"]["denominator"]) == (3, 4)
    assert m["satisfaction"]["value"] == 0.75
    assert m["average_rating"] == pytest.approx(17 / 4)
    assert {s["tier"]: s["count"] for s in m["settled_by_tier"]} == {
        "building": 1,
        "compound": 2,
        "community": 1,
    }
    assert m["reopened"] == 3
    board = {v["volunteer_id"]: v for v in m["volunteers"]}
    assert board["vol-li"] | {"average_rating": 5.0} == {
        "volunteer_id": "vol-li",
        "tasks": 1,
        "declined": 0,
        "done": 1,
        "done_on_time": 1,
        "reopened": 0,
        "ratings": 1,
        "average_rating": 5.0,
        "board": "red",
    }
    assert (board["volunteer-wang"]["declined"], board["volunteer-wang"]["board"]) == (2, "black")
    assert [v["volunteer_id"] for v in m["volunteers"]] == ["vol-li", "volunteer-wang"]


def test_each_reader_sees_the_measures_of_their_own_place(sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    stories(desk)
    assert measures(desk, desk.officer())["cases"] == 6
    ours = measures(desk, desk.staff(COMPOUND), compound="wanxin-intl")
    assert (ours["scope"], ours["compound"], ours["cases"]) == (COMPOUND, COMPOUND, 6)
    assert measures(desk, desk.staff(OTHER_COMPOUND, "staff-ying"))["cases"] == 0
    leader = desk.auth("leader-b12", "building_leader", f"{COMPOUND}/b12")
    assert measures(desk, leader, compound=COMPOUND)["cases"] == 5  # not the compound's dispute
    refused = desk.client.get(
        "/measures", params={"compound": "jiating"}, headers=desk.staff(COMPOUND)
    )
    assert refused.status_code == 403
    assert "does not see the measures of jiayu-xx/jiating" in refused.json()["message"]
    resident = desk.client.get("/measures", headers=desk.resident())
    assert resident.status_code == 403
    assert "residents follow their own cases" in resident.json()["message"]
    assert desk.client.get("/measures").status_code == 401


def test_the_window_counts_the_cases_reported_in_it(sqlite_desk: Desk) -> None:
    desk = sqlite_desk
    start = desk.clock()
    desk.report(desk.resident(), kind="repair")
    desk.clock.advance(timedelta(days=2))
    middle = desk.clock()
    desk.report(desk.resident(), kind="repair", description="lift stuck")
    desk.clock.advance(timedelta(days=2))
    desk.report(desk.resident(), kind="repair", description="door access broken")
    auditor = desk.auditor()
    iso = {"start": start.isoformat(), "middle": middle.isoformat()}
    assert measures(desk, auditor, to=iso["middle"])["cases"] == 1
    assert measures(desk, auditor, **{"from": iso["middle"]})["cases"] == 2
    both = measures(desk, auditor, **{"from": iso["start"], "to": iso["middle"]})
    assert (both["cases"], both["from"], both["to"]) == (
        1,
        start.isoformat(),
        middle.isoformat(),
    )


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"compound": "nowhere"}, "no compound 'nowhere' is registered"),
        ({"compound": f"{COMPOUND}/b12"}, "is a building"),
        ({"compound": "jiayu-xx/nowhere"}, "has no compound 'nowhere'"),
        ({"from": "2026-11-25T00:00:00+08:00", "to": "2026-11-24T00:00:00+08:00"}, "before"),
        ({"from": "2026-11-25T00:00:00"}, "timezone"),
        ({"to": "0.5"}, "ISO 8601"),
        ({"compund": "wanxin-intl"}, "not a parameter"),
    ],
)
def test_a_malformed_question_is_a_422_that_says_what_to_fix(
    sqlite_desk: Desk, params: dict[str, str], says: str
) -> None:
    response = sqlite_desk.client.get("/measures", params=params, headers=sqlite_desk.auditor())
    assert response.status_code == 422, response.text
    assert says in response.json()["message"]
