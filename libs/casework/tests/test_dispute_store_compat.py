"""A dispute stored before meetings, commitments and the lead were values replays unchanged.

`fixtures/dispute_main.json` holds a case file as main's code at 28f1ba3 stored it (events
unchanged since: the hash chain covers them), with the snapshot that code showed;
`fixtures/make_dispute_main.py` says how it was made.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.domain import Actor, Dispute, Role
from casework.domain.mediation_records import Commitment, CommitmentStatus, Lead, Meeting
from eventsourcing.persistence import StoredEvent

FIXTURE = Path(__file__).parent / "fixtures" / "dispute_main.json"
MANAGER = Actor("manager-wang", Role.PROPERTY_MANAGER)


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def loaded(app: Casework) -> UUID:
    events = [
        StoredEvent(
            originator_id=UUID(e["originator_id"]),
            originator_version=e["originator_version"],
            topic=e["topic"],
            state=e["state"].encode("utf-8"),
        )
        for e in document()["events"]
    ]
    app.recorder.insert_events(events)
    return events[0].originator_id  # type: ignore[no-any-return]


def test_the_stored_dispute_replays_to_the_snapshot_its_writer_showed(
    app: Casework, loaded: UUID
) -> None:
    case = app.get_case(loaded)
    assert isinstance(case, Dispute)
    assert case.snapshot() == document()["snapshot"]
    assert app.verify(loaded).ok


def test_the_replayed_state_is_values(app: Casework, loaded: UUID) -> None:
    case = app.get_case(loaded)
    assert isinstance(case, Dispute)
    assert all(isinstance(m, Meeting) for m in case.meetings.values())
    assert [m.status for m in case.meetings.values()] == ["held", "cancelled"]
    assert all(isinstance(c, Commitment) for c in case.commitments)
    assert [c.status for c in case.commitments] == [
        CommitmentStatus.KEPT,
        CommitmentStatus.PENDING,
    ]
    assert isinstance(case.lead_mediator, Lead)
    assert case.lead_mediator.id == MANAGER.id


def test_the_replayed_dispute_takes_new_commands_and_keeps_its_chain(
    app: Casework, clock: FakeClock, loaded: UUID
) -> None:
    clock.advance(timedelta(days=30))  # past the stored file's last event
    app.record_follow_up(loaded, MANAGER, 1, True, "the owners were told")
    case = app.get_case(loaded)
    assert isinstance(case, Dispute)
    assert [c.as_dict()["status"] for c in case.commitments] == ["kept", "kept"]
    assert app.verify(loaded).ok
