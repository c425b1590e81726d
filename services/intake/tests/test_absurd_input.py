"""Issue 10 §4 at the intake: what cannot be replayed never enters the store, and an event in
it that the read models cannot read never stops the case index or the measures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from casework import Casework
from casework.domain.repair import Repair
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from intake.testing import FLAT, T0, Desk

THE_ISSUES_TIME = "0001-01-01T01:01:05+20:40"


def store_of(desk: Desk) -> Casework:
    app: Casework = desk.client.app.state.runtime.intake.app  # type: ignore[attr-defined]
    return app


def events_in(desk: Desk) -> int:
    return store_of(desk).recorder.max_notification_id() or 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"description": "the tap\x00 drips"}, "control character U+0000"),
        ({"description": "the tap \x1b[31mdrips"}, "control character U+001B"),
        ({"description": " \t\n "}, "blank"),
        ({"description": "tap", "reporter": {"id": "r-0302", "contact": "138\x00"}}, "control"),
    ],
)
def test_a_report_with_control_characters_is_a_422_and_nothing_is_stored(
    desk: Desk, body: dict[str, Any], words: str
) -> None:
    before = events_in(desk)
    refused = desk.client.post("/cases", json={"address": FLAT, **body}, headers=desk.staff())
    assert refused.status_code == 422, refused.text
    assert words in refused.json()["message"]
    assert events_in(desk) == before


def test_an_as_of_that_is_a_number_an_absurd_offset_or_the_future_is_refused(
    desk: Desk,
) -> None:
    case_id = desk.report(desk.resident())["case_id"]
    path = f"/cases/{case_id}/history"
    for as_of, words in [
        ("0", "ISO 8601 string"),
        (THE_ISSUES_TIME, "offsets run from -14:00 to +14:00"),
        ((T0 + timedelta(days=2)).isoformat(), "in the future"),
        ("1999-12-31T23:00:00+08:00", "2000 to 2099"),
    ]:
        refused = desk.client.get(path, params={"as_of": as_of}, headers=desk.resident())
        assert refused.status_code == 422, (as_of, refused.text)
        assert words in refused.json()["message"], refused.text
    fine = desk.client.get(path, params={"as_of": T0.isoformat()}, headers=desk.resident())
    assert fine.status_code == 200, fine.text


def test_a_body_that_is_not_json_is_a_400(desk: Desk) -> None:
    before = events_in(desk)
    for content in (b"{", b"\xff\xfe", b'{"address": "jiayu-xx/wanxin-intl/b12/0302",'):
        answer = desk.client.post(
            "/cases",
            content=content,
            headers={**desk.staff(), "content-type": "application/json"},
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "invalid_json"
    assert events_in(desk) == before


def test_an_event_the_read_models_cannot_read_is_recorded_and_the_feed_goes_on(
    desk: Desk,
) -> None:
    """An event in the store that does not decode (from a version before a rule, or written by
    hand): the case index and the measures note it (case, version, error), apply everything
    after it, and /readyz and the metrics say so."""
    first = desk.report(desk.resident())["case_id"]
    store = store_of(desk)
    version = store.get_case(first).version + 1
    store.recorder.insert_events(
        [
            StoredEvent(
                originator_id=store.get_case(first).id,
                originator_version=version,
                topic=get_topic(Repair.NoteAdded),
                state=b"{ not json",
            )
        ]
    )
    later = desk.report(desk.resident("r-0402"), description="no hot water on floor 4")

    listed = desk.client.get("/cases", headers=desk.auditor()).json()
    assert later["case_id"] in {c["case_id"] for c in listed["items"]}
    ready = desk.client.get("/readyz").json()
    assert ready["ready"] is True
    assert ready["unapplied_events"] == 2  # the index's and the measures' record of it
    assert {(u["read_model"], u["case_id"], u["version"]) for u in ready["unapplied"]} == {
        ("case index", first, version),
        ("measures", first, version),
    }
    assert all(u["event"] == "Repair.NoteAdded" for u in ready["unapplied"])
    assert all("MapperDeserialisationError" in u["error"] for u in ready["unapplied"])
    metrics = desk.client.get("/metrics").text
    assert 'intake_unapplied_events{read_model="case index"} 1.0' in metrics
    assert 'intake_unapplied_events{read_model="measures"} 1.0' in metrics
    counted = desk.client.get("/measures", headers=desk.auditor())
    assert counted.status_code == 200, counted.text
