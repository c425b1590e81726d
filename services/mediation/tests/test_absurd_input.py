"""Issue 10 §4 over HTTP: what cannot be replayed never enters the store, and what is in it
already (from before the rules) never stops the worklist, the feed or a rebuild."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from casework import Casework, Dispute
from casework.testing.unchecked import record_unchecked
from mediation.testing import FLAT, NEIGHBOUR, RESIDENT, Mediators

THE_ISSUES_TIME = "0001-01-01T01:01:05+20:40"


def events_in(app: Casework) -> int:
    return app.recorder.max_notification_id() or 0


def noise_with_a_meeting(m: Mediators) -> tuple[str, str]:
    case_id = str(
        m.app.report_dispute(RESIDENT, FLAT, "drums after 22:00", "noise", [NEIGHBOUR.id])
    )
    m.catch_up()
    body = {
        "form": "building_talk",
        "scheduled_for": (m.clock() + timedelta(days=1)).isoformat(),
        "place": "building 12 lobby",
    }
    meeting = m.post(f"/disputes/{case_id}/meetings", m.leader(), 201, **body)
    return case_id, str(meeting["meeting_id"])


@pytest.mark.parametrize(
    ("where", "body", "words"),
    [
        ("reschedule", {"scheduled_for": THE_ISSUES_TIME, "reason": "x"}, "offsets run from"),
        ("reschedule", {"scheduled_for": 0, "reason": "x"}, "ISO 8601 string"),
        ("reschedule", {"scheduled_for": "2021-03-15T19:00:00+14:30", "reason": "x"}, "+14:00"),
        ("reschedule", {"scheduled_for": "2023-03-15T19:00:00+08:00", "reason": "x"}, "window"),
        ("reschedule", {"scheduled_for": "2021-03-01T19:00:00+08:00", "reason": "x"}, "window"),
        ("convene", {"form": "building_talk", "scheduled_for": 0, "place": "hall"}, "ISO 8601"),
        (
            "convene",
            {"form": "building_talk", "scheduled_for": THE_ISSUES_TIME, "place": "hall"},
            "offsets run from",
        ),
        (
            "convene",
            {
                "form": "building_talk",
                "scheduled_for": "2021-03-16T19:00:00+08:00",
                "place": "a\x00",
            },
            "control character U+0000",
        ),
        ("agreement", {"terms": ["quiet\x00"], "commitments": []}, "control character"),
        ("agreement", {"terms": ["   "], "commitments": []}, "blank"),
        (
            "agreement",
            {"terms": ["quiet"], "commitments": [{"who": NEIGHBOUR.id, "what": "mat", "due": 0}]},
            "not an ISO date",
        ),
        (
            "agreement",
            {
                "terms": ["quiet"],
                "commitments": [{"who": NEIGHBOUR.id, "what": "mat", "due": "1970-01-01"}],
            },
            "times fall in 2000 to 2099",
        ),
        (
            "agreement",
            {
                "terms": ["quiet"],
                "commitments": [{"who": NEIGHBOUR.id, "what": "mat", "due": "2021-03-01"}],
            },
            "outside its window",
        ),
    ],
)
def test_an_absurd_time_or_text_is_a_422_that_says_why_and_nothing_is_stored(
    mediators: Mediators, where: str, body: dict[str, Any], words: str
) -> None:
    m = mediators
    case_id, meeting_id = noise_with_a_meeting(m)
    path = {
        "reschedule": f"/meetings/{meeting_id}/reschedule",
        "convene": f"/disputes/{case_id}/meetings",
        "agreement": f"/disputes/{case_id}/agreement",
    }[where]
    if where == "agreement":
        body = {"meeting_id": meeting_id, **body}
    before = events_in(m.app)
    refused = m.client.post(path, json=body, headers=m.leader())
    assert refused.status_code == 422, refused.text
    assert words in refused.json()["message"], refused.text
    assert events_in(m.app) == before


def test_a_dispute_holding_the_issues_meeting_time_still_takes_writes_and_is_shown_skipped(
    mediators: Mediators,
) -> None:
    """The meeting time of the issue, stored as a version before the rule would have: the
    worklist cannot make the dispute's row from it, so it records the event and goes on; the
    dispute still takes writes (no 500), /readyz and the metric show it."""
    m = mediators
    case_id, meeting_id = noise_with_a_meeting(m)
    other_id, _ = noise_with_a_meeting(m)
    version = record_unchecked(
        m.app,
        case_id,
        Dispute.MeetingRescheduled,
        timestamp=m.clock(),
        actor_id="building-leader-b12",
        actor_role="building_leader",
        meeting_id=meeting_id,
        scheduled_for=datetime.fromisoformat(THE_ISSUES_TIME),
        place="hall",
    )
    m.catch_up()  # the feed goes on past it

    ready = m.client.get("/readyz").json()
    assert ready["ready"] is True
    assert ready["unapplied_events"] >= 1
    seen = ready["unapplied"][0]
    assert (seen["read_model"], seen["case_id"], seen["version"]) == (
        "worklist",
        case_id,
        version,
    )
    assert seen["event"] == "meeting_rescheduled"
    assert "OverflowError" in seen["error"]
    metrics = m.client.get("/metrics").text
    assert 'mediation_unapplied_events{read_model="worklist"}' in metrics

    # The dispute is still shown as stored, and later writes to it are answered (the new time
    # replaces the absurd one) ...
    shown = m.client.get(f"/disputes/{case_id}", headers=m.secretary())
    assert shown.status_code == 200, shown.text
    moved = m.client.post(
        f"/meetings/{meeting_id}/reschedule",
        json={"scheduled_for": (m.clock() + timedelta(days=2)).isoformat(), "reason": "again"},
        headers=m.leader(),
    )
    assert moved.status_code == 200, moved.text
    m.catch_up()
    # ... and the other dispute, behind it in the log, is on the worklist as ever.
    listed = m.get("/disputes", m.secretary(), include_closed="true")
    assert {case_id, other_id} <= {d["case_id"] for d in listed["items"]}
