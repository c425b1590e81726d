"""`read_case_file` answers as the plain readings do: the chain as `verify_events` walks it, each
event as the opening mapper makes it (its shape's decoded state instead of the transcoder's,
only its token-bearing texts opened), each history line as the dataclass makes it.

On every event of every kind, on an upcast version-1 case, with a person's values sealed and
then erased, for a reader who may see personal data and one who may not, and in a process that
has opened nothing yet (no kept plaintexts).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework import Casework, FakeClock
from casework.application.case_file import CaseFile
from casework.audit import RECORD_FIELDS, HistoryEntry, verify_events
from casework.domain import Actor, Role
from casework.domain.case import Case
from casework.privacy import privacy_for
from casework.privacy.people import erase
from casework.stored_check import check_general
from casework.testing.stories import every_story
from eventsourcing.persistence import StoredEvent
from hypothesis import assume, given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
V1 = Path(__file__).parent / "fixtures" / "repair_v1.json"
OFFICER = Actor("dpo-chen", Role.DATA_PROTECTION_OFFICER)


@pytest.fixture
def told(tmp_path: Path) -> tuple[str, list[UUID]]:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    clock = FakeClock(T0)
    app = Casework(url, clock=clock)
    cases = every_story(app, clock)
    document: dict[str, Any] = json.loads(V1.read_text(encoding="utf-8"))
    v1 = [
        StoredEvent(
            UUID(e["originator_id"]), e["originator_version"], e["topic"], e["state"].encode()
        )
        for e in document["events"]
    ]
    app.recorder.insert_events(v1)
    erase(app, privacy_for(app), "resident-0402", OFFICER, "request 7")  # the second reporter
    app.close()
    return url, [*cases, v1[0].originator_id]


def as_read(event: Any) -> tuple[type, list[tuple[str, type, Any]]]:
    return type(event), [(k, type(v), v) for k, v in vars(event).items()]


def test_a_case_file_reads_as_the_plain_readings_read(told: tuple[str, list[UUID]]) -> None:
    url, cases = told
    shown = []
    for personal in (True, False):
        with Casework(url) as app:  # a process that has opened nothing yet
            for case_id in cases:
                case_file = app.read_case_file(case_id, personal=personal)
                assert any(case_file._matched)  # the shape reading took part
                plainly = [case_file.opening.to_domain_event(s) for s in case_file.stored]
                assert [as_read(e) for e in case_file.events] == [as_read(e) for e in plainly]
                assert case_file.check() == verify_events(case_id, case_file.stored, app.mapper)
                assert case_file.check().ok
                for event, entry in zip(case_file.events, case_file.history(), strict=True):
                    made = reference_entry(event)
                    assert (entry, vars(entry)) == (made, vars(made))
                shown += [str(vars(e)) for e in case_file.history()]
    assert any("[erased]" in line for line in shown)
    assert any("[personal]" in line for line in shown)


def reference_entry(event: Any) -> HistoryEntry:
    """A history line as the dataclass's own `__init__` makes it (`history_entry` skips it)."""
    state = vars(event)
    cls = type(event)
    return HistoryEntry(
        case_id=event.originator_id,
        version=event.originator_version,
        event=cls.__qualname__.rsplit(".", 1)[-1],
        topic=f"{cls.__module__}:{cls.__qualname__}",
        at=event.timestamp,
        actor_id=state.get("actor_id", ""),
        actor_role=state.get("actor_role", ""),
        tier=state.get("tier", ""),
        reason=state.get("reason", ""),
        details={k: v for k, v in state.items() if k not in RECORD_FIELDS},
        hash=state.get("hash", ""),
        prev_hash=state.get("prev_hash", ""),
    )


def test_an_event_upcast_on_the_way_is_opened_by_its_own_fields(
    told: tuple[str, list[UUID]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upcaster may drop or add fields: the fields opened are then the upcast event's."""

    def upcast(state: dict[str, Any]) -> None:
        state["said"] = state.pop("text")  # a sealed text no longer where it was sealed

    monkeypatch.setattr(Case.NoteAdded, "class_version", 2, raising=False)
    monkeypatch.setattr(Case.NoteAdded, "upcast_v1_v2", staticmethod(upcast), raising=False)
    url, cases = told
    with Casework(url) as app:
        for case_id in cases:
            case_file = app.read_case_file(case_id, personal=False)
            plainly = [case_file.opening.to_domain_event(s) for s in case_file.stored]
            assert [as_read(e) for e in case_file.events] == [as_read(e) for e in plainly]


@pytest.fixture(scope="module")
def stories(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Casework, list[UUID]]]:
    clock = FakeClock(T0)
    app = Casework(f"sqlite:///{tmp_path_factory.mktemp('stories') / 'c.db'}", clock=clock)
    cases = every_story(app, clock)
    yield app, cases
    app.close()


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_case_files_chain_reads_as_verify_reads_it_however_its_events_were_edited(
    stories: tuple[Casework, list[UUID]], data: st.DataObject
) -> None:
    """`CaseFile.check` (an intact chain recognised from the matched values alone, anything
    else walked by `verify_events` on the checked states) gives `verify_events`' own answer,
    every event read there by `stored_checker`: a byte changed, inserted or removed, an event
    dropped or moved, a hash or `prev_hash` swapped for another's."""
    app, cases = stories
    case_id = data.draw(st.sampled_from(cases), label="case")
    stored = list(app.recorder.select_events(case_id))
    how = data.draw(
        st.sampled_from(["none", "byte", "insert", "delete", "drop", "move", "swap", "forge"])
    )
    at = data.draw(st.integers(0, len(stored) - 1), label="event")
    event = stored[at]
    raw = event.state
    if how in ("byte", "insert", "delete"):
        index = data.draw(st.integers(0, len(raw) - 1), label="index")
        byte = bytes([data.draw(st.integers(0, 255), label="byte")])
        raw = {
            "byte": raw[:index] + byte + raw[index + 1 :],
            "insert": raw[:index] + byte + raw[index:],
            "delete": raw[:index] + raw[index + 1 :],
        }[how]
        stored[at] = StoredEvent(event.originator_id, event.originator_version, event.topic, raw)
    elif how == "drop":
        del stored[at]
    elif how == "move":
        stored.insert(data.draw(st.integers(0, len(stored) - 1), label="to"), stored.pop(at))
    elif how == "swap":
        other = stored[data.draw(st.integers(0, len(stored) - 1), label="other")].state
        key = data.draw(st.sampled_from([b"hash", b"prev_hash"]), label="key")
        found = re.search(b'"' + key + b'":"([0-9a-f]*)"', other)
        assume(found is not None)
        assert found is not None
        raw = re.sub(b'"' + key + b'":"[0-9a-f]*"', found[0].replace(b"\\", b"\\\\"), raw, count=1)
        stored[at] = StoredEvent(event.originator_id, event.originator_version, event.topic, raw)
    elif how == "forge":  # its reason edited and its hash made anew: the next one's prev_hash
        assume(b'"reason":"' in raw)  # no longer matches (or, the last, nothing shows)
        raw = raw.replace(b'"reason":"', b'"reason":"forged ', 1)
        made = check_general(
            app.mapper, StoredEvent(event.originator_id, event.originator_version, event.topic, raw)
        )[1]
        raw = re.sub(b'"hash":"[0-9a-f]*"', b'"hash":"' + made.encode() + b'"', raw, count=1)
        stored[at] = StoredEvent(event.originator_id, event.originator_version, event.topic, raw)
    case_file = CaseFile(case_id, stored, stored_mapper=app.mapper, opening=app.events.mapper)
    assert case_file.check() == verify_events(case_id, stored, app.mapper)
    if how == "none" and all(case_file._matched):
        assert case_file._intact() is not None  # the values alone answered
