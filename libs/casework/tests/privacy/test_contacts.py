"""A reporter's contact is kept in the case file, sealed under the reporter's own key (the
intake keeps no contacts of its own, issue 11); reports and joins stored before it was carried
read back with none, and their chains still verify (docs/adr/002-event-versioning.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.domain.actors import Actor, Role
from casework.domain.case import Case
from casework.domain.dispute import Dispute
from casework.domain.errors import InvalidTransitionError, NotPermittedError, ValidationError
from casework.domain.leak import LeakEmergency
from casework.domain.repair import Repair
from casework.privacy import ERASED
from casework.privacy.people import erase
from eventsourcing.persistence import StoredEvent

FIXTURE = Path(__file__).parent.parent / "fixtures" / "store_before_sealing.json"
FIRST = Actor("r-0302", Role.RESIDENT)
SECOND = Actor("r-0303", Role.RESIDENT)
FLAT = "jiayu-xx/wanxin-intl/b12/0302"
DPO = Actor("dpo-chen", Role.DATA_PROTECTION_OFFICER)


@pytest.fixture
def app(store_url: str) -> Iterator[Casework]:
    application = Casework(store_url, clock=FakeClock(datetime(2026, 12, 1, tzinfo=UTC)))
    yield application
    application.close()


def stored_bytes(app: Casework) -> bytes:
    return b"".join(n.state for n in app.recorder.select_notifications(start=1, limit=1000))


def test_each_reporters_contact_is_sealed_under_their_own_key(app: Casework) -> None:
    case_id = app.report_leak(FIRST, FLAT, "水从楼上漏下来", "0402", contact="13800138000")
    app.add_reporter(case_id, SECOND, "wechat", contact="wx-lin-0303")
    assert app.get_case(case_id).contacts == {"r-0302": "13800138000", "r-0303": "wx-lin-0303"}
    assert b"13800138000" not in stored_bytes(app)
    assert b"wx-lin-0303" not in stored_bytes(app)
    assert app.get_case(case_id, personal=False).contacts == {
        "r-0302": "[personal]",
        "r-0303": "[personal]",
    }
    erase(app, app.privacy, "r-0303", DPO, "asked")
    assert app.get_case(case_id).contacts == {"r-0302": "13800138000", "r-0303": ERASED}
    assert app.verify(case_id).ok


def test_a_report_without_a_contact_keeps_none(app: Casework) -> None:
    case_id = app.report_repair(FIRST, FLAT, "灯坏了", "lighting")
    assert app.get_case(case_id).contacts == {}
    assert app.history(case_id)[0].details["contact"] == ""


def test_reports_stored_before_contacts_read_back_with_none_and_verify(app: Casework) -> None:
    document: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=UUID(e["originator_id"]),
                originator_version=e["originator_version"],
                topic=e["topic"],
                state=e["state"].encode("utf-8"),
            )
            for e in document["events"]
        ]
    )
    kinds = set()
    for case_id in app.case_ids():
        case = app.get_case(case_id)
        kinds.add(type(case))
        assert case.contacts == {}
        assert app.history(case_id)[0].details["contact"] == ""
        assert app.verify(case_id).ok
    assert kinds == {Repair, LeakEmergency, Dispute}  # v2 repair, v1 leak, v1 dispute


def test_a_join_stored_as_version_1_reads_back_with_no_contact(app: Casework) -> None:
    case_id = app.report_repair(FIRST, FLAT, "电梯坏了", "lift")
    app.add_reporter(case_id, SECOND, "phone", contact="13900001111")
    (stored,) = app.recorder.select_events(case_id, gt=2, lte=3)
    assert stored.topic.endswith("ReporterAdded")
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2
    del state["contact"]  # as version 1 stored it
    old = StoredEvent(
        stored.originator_id, stored.originator_version, stored.topic, json.dumps(state).encode()
    )
    event = app.mapper.to_domain_event(old)
    assert isinstance(event, Case.ReporterAdded)
    assert (event.reporter_id, event.contact) == ("r-0303", "")


INTAKE = Actor("intake", Role.SYSTEM)
EARLIER = datetime(2026, 11, 20, tzinfo=UTC)


def test_a_contact_given_later_is_sealed_under_that_reporters_key_and_erased_with_them(
    app: Casework,
) -> None:
    case_id = app.report_leak(FIRST, FLAT, "水从楼上漏下来", "0402")
    app.add_reporter(case_id, SECOND, "wechat")
    assert app.give_contact(case_id, INTAKE, "r-0303", "wx-lin-0303", EARLIER, "migrated")
    assert app.get_case(case_id).contacts == {"r-0303": "wx-lin-0303"}
    assert b"wx-lin-0303" not in stored_bytes(app)
    erase(app, app.privacy, "r-0302", DPO, "asked")  # the first reporter's key is not theirs
    assert app.get_case(case_id).contacts == {"r-0303": "wx-lin-0303"}
    erase(app, app.privacy, "r-0303", DPO, "asked")
    assert app.get_case(case_id).contacts == {"r-0303": ERASED}
    assert app.verify(case_id).ok


def test_a_contact_is_given_once_and_never_over_a_newer_one(app: Casework) -> None:
    case_id = app.report_repair(FIRST, FLAT, "灯坏了", "lighting", contact="13800138000")
    newer_in_file = app.give_contact(case_id, INTAKE, "r-0302", "13900000000", EARLIER, "old")
    assert not newer_in_file  # the report's own contact (given at the report) is newer
    app.add_reporter(case_id, SECOND, "wechat")
    assert app.give_contact(case_id, INTAKE, "r-0303", "13911112222", EARLIER, "old")
    assert not app.give_contact(case_id, INTAKE, "r-0303", "13911112222", EARLIER, "old")
    assert app.get_case(case_id).contacts == {"r-0302": "13800138000", "r-0303": "13911112222"}
    events = [e.event for e in app.history(case_id)]
    assert events.count("ContactGiven") == 1


def test_a_contact_is_refused_for_someone_who_did_not_report_the_case_or_from_the_future(
    app: Casework,
) -> None:
    case_id = app.report_repair(FIRST, FLAT, "灯坏了", "lighting")
    with pytest.raises(InvalidTransitionError, match="r-0399 has not reported case"):
        app.give_contact(case_id, INTAKE, "r-0399", "13800138000", EARLIER, "old")
    later = datetime(2027, 1, 1, tzinfo=UTC)
    with pytest.raises(ValidationError, match="after it is recorded"):
        app.give_contact(case_id, INTAKE, "r-0302", "13800138000", later, "old")
    with pytest.raises(NotPermittedError, match="may not give contact"):
        app.give_contact(case_id, SECOND, "r-0302", "13800138000", EARLIER, "old")
    assert app.get_case(case_id).contacts == {}
