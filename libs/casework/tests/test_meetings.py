"""A meeting's life after it is convened: who may sit at its rounds, walk-ins with their reason,
rescheduling and cancelling, and that the case file tells each with who, when and why."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.contracts import to_contract
from casework.contracts.mapping import CasePlace
from casework.domain import (
    Actor,
    Address,
    Dispute,
    InvalidTransitionError,
    Role,
    Status,
    ValidationError,
)
from casework.domain.ladder import LOCAL_TIME
from casework.domain.mediation_rules import MEETING_FORMS, OPEN_FORMS
from casework.timeline import EVENT_LABELS
from hypothesis import given, settings
from hypothesis import strategies as st

COMPOUND = Address.parse("jiayu-xx/wanxin-intl")
HOUR = timedelta(hours=1)
PARTIES = ["resident-0302", "resident-0402"]
SEATED = [{"id": "staff-li", "role": "property_staff"}]


def roundtable(
    resident: Actor, secretary: Actor, t0: datetime, form: str = "roundtable"
) -> Dispute:
    case = Dispute.report(
        resident, t0, COMPOUND, "cables across the path", "flying_cables", PARTIES
    )
    case.convene_mediation(secretary, t0, "m1", form, t0 + 24 * HOUR, "clubhouse", SEATED)
    return case


PEOPLE = st.sampled_from(
    ["resident-0302", "resident-0402", "staff-li", "party-secretary-wanxin", "stranger-1", "x-9"]
)


@settings(max_examples=60, deadline=None)
@given(attendees=st.lists(PEOPLE, min_size=1, max_size=5, unique=True))
def test_a_seated_meeting_takes_only_the_invited_the_parties_and_the_mediator(
    attendees: list[str],
) -> None:
    """For every list of attendees: the round is recorded exactly when each of them was invited
    (a participant, a party, the convener) or is the mediator recording it."""
    resident = Actor("resident-0302", Role.RESIDENT)
    secretary = Actor("party-secretary-wanxin", Role.PARTY_SECRETARY)
    t0 = datetime(2021, 3, 1, 9, tzinfo=LOCAL_TIME)
    case = roundtable(resident, secretary, t0)
    allowed = {*PARTIES, "staff-li", secretary.id}
    strangers = [a for a in attendees if a not in allowed]
    if strangers:
        with pytest.raises(InvalidTransitionError, match="not invited to meeting m1") as refused:
            case.hold_round(secretary, t0 + 24 * HOUR, "m1", attendees, "progress")
        assert all(s in str(refused.value) for s in strangers)
        assert "walk-ins" in str(refused.value)
        assert not any(isinstance(e, Dispute.RoundHeld) for e in case.pending_events)
    else:
        case.hold_round(secretary, t0 + 24 * HOUR, "m1", attendees, "progress")
        assert case.meetings["m1"].rounds == 1


@pytest.mark.parametrize("form", sorted(OPEN_FORMS))
def test_open_forms_take_whoever_came_or_was_consulted(
    form: str, resident: Actor, secretary: Actor, t0: datetime
) -> None:
    case = roundtable(resident, secretary, t0, form)
    case.hold_round(secretary, t0 + 24 * HOUR, "m1", ["42 residents", "b7 households"], "progress")
    assert case.meetings["m1"].rounds == 1
    assert set(OPEN_FORMS) < set(MEETING_FORMS)


def test_a_walk_in_is_recorded_with_the_reason_before_the_round(
    resident: Actor, secretary: Actor, t0: datetime
) -> None:
    case = roundtable(resident, secretary, t0)
    case.hold_round(
        secretary,
        t0 + 24 * HOUR,
        "m1",
        ["resident-0302"],
        "progress",
        walk_ins=[{"id": "resident-0502", "role": "resident", "reason": "lives above the path"}],
    )
    joined, held = case.pending_events[-2:]
    assert isinstance(joined, Dispute.ParticipantJoined)
    assert (joined.participant, joined.reason, joined.actor_id) == (
        {"id": "resident-0502", "role": "resident"},
        "lives above the path",
        secretary.id,
    )
    assert isinstance(held, Dispute.RoundHeld)
    assert held.attendees == ["resident-0302", "resident-0502"]
    # Having joined once, the neighbour is a participant for the next rounds.
    case.hold_round(secretary, t0 + 48 * HOUR, "m1", ["resident-0502"], "progress")


@pytest.mark.parametrize(
    ("walk_in", "error", "message"),
    [
        ({"id": "resident-0502", "role": "resident", "reason": " "}, ValidationError, "reason"),
        ({"id": "staff-li", "role": "property_staff", "reason": "x"}, ValidationError, "invited"),
        ({"id": "n", "role": "landlord", "reason": "x"}, ValidationError, "unknown role"),
        (
            {"id": "fire-brigade", "role": "county_department_rep", "reason": "x"},
            InvalidTransitionError,
            "deliberation council",
        ),
    ],
)
def test_a_walk_in_needs_a_reason_and_must_be_new(
    walk_in: dict[str, str],
    error: type[Exception],
    message: str,
    resident: Actor,
    secretary: Actor,
    t0: datetime,
) -> None:
    case = roundtable(resident, secretary, t0)
    with pytest.raises(error, match=message):
        case.hold_round(secretary, t0 + 24 * HOUR, "m1", [], "progress", walk_ins=[walk_in])
    assert case.meetings["m1"].rounds == 0


def test_attendees_listed_twice_are_refused(
    resident: Actor, secretary: Actor, t0: datetime
) -> None:
    case = roundtable(resident, secretary, t0)
    with pytest.raises(ValidationError, match="listed twice: resident-0302"):
        case.hold_round(secretary, t0, "m1", ["resident-0302", "resident-0302"], "progress")


def test_a_rescheduled_meeting_moves_its_next_round(
    resident: Actor, secretary: Actor, t0: datetime
) -> None:
    case = roundtable(resident, secretary, t0)
    later = t0 + 72 * HOUR
    case.reschedule_meeting(secretary, t0 + HOUR, "m1", later, "community hall", "hall flooded")
    moved = case.pending_events[-1]
    assert isinstance(moved, Dispute.MeetingRescheduled)
    assert (moved.scheduled_for, moved.place, moved.reason, moved.actor_role) == (
        later,
        "community hall",
        "hall flooded",
        "party_secretary",
    )
    assert case.meetings["m1"].scheduled_for.isoformat() == later.isoformat()
    assert case.meetings["m1"].place == "community hall"
    with pytest.raises(ValidationError, match="give a new time or place"):
        case.reschedule_meeting(secretary, t0 + HOUR, "m1", later, "community hall", "again")
    with pytest.raises(ValidationError, match="reason for rescheduling"):
        case.reschedule_meeting(secretary, t0 + HOUR, "m1", later + HOUR, "hall", "  ")
    with pytest.raises(InvalidTransitionError, match="was not convened"):
        case.reschedule_meeting(secretary, t0 + HOUR, "m9", later, "hall", "why")
    # After a round, the same time and place may be set again for the next round.
    case.hold_round(secretary, later, "m1", ["resident-0302"], "progress")
    assert not case.meetings["m1"].awaits_round
    case.reschedule_meeting(secretary, later, "m1", later, "community hall", "round 2, same place")
    assert case.meetings["m1"].awaits_round


def test_a_cancelled_meeting_takes_no_rounds_and_no_agreement(
    resident: Actor, secretary: Actor, leader: Actor, t0: datetime
) -> None:
    case = roundtable(resident, secretary, t0)
    with pytest.raises(InvalidTransitionError, match="does not mediate"):
        case.cancel_meeting(leader, t0 + HOUR, "m1", "not mine to cancel")
    with pytest.raises(ValidationError, match="reason for cancelling"):
        case.cancel_meeting(secretary, t0 + HOUR, "m1", "")
    case.cancel_meeting(secretary, t0 + HOUR, "m1", "the parties settled between themselves")
    cancelled = case.pending_events[-1]
    assert isinstance(cancelled, Dispute.MeetingCancelled)
    assert cancelled.reason == "the parties settled between themselves"
    for attempt in (
        lambda: case.hold_round(secretary, t0 + 2 * HOUR, "m1", ["resident-0302"], "progress"),
        lambda: case.reschedule_meeting(secretary, t0 + 2 * HOUR, "m1", t0, "hall", "why"),
        lambda: case.reach_agreement(secretary, t0 + 2 * HOUR, "m1", ["terms"], []),
        lambda: case.cancel_meeting(secretary, t0 + 2 * HOUR, "m1", "again"),
    ):
        with pytest.raises(InvalidTransitionError, match="cancelled"):
            attempt()
    assert case.status is Status.IN_MEDIATION


def test_the_new_events_are_public_contracts_and_have_labels(
    app: Casework, clock: FakeClock, resident: Actor, secretary: Actor
) -> None:
    case_id = app.report_dispute(resident, str(COMPOUND), "cables", "flying_cables", PARTIES)
    meeting = app.convene_mediation(
        case_id, secretary, "roundtable", clock() + 24 * HOUR, "clubhouse", SEATED
    )
    app.reschedule_meeting(case_id, secretary, meeting, clock() + 48 * HOUR, "hall", "rain")
    clock.advance(48 * HOUR)
    app.hold_round(
        case_id,
        secretary,
        meeting,
        ["resident-0302"],
        "progress",
        walk_ins=[{"id": "resident-0502", "role": "resident", "reason": "lives above"}],
    )
    app.cancel_meeting(case_id, secretary, meeting, "moved to the council")
    names = [h.event for h in app.history(case_id)]
    for name in ("MeetingRescheduled", "ParticipantJoined", "MeetingCancelled"):
        assert name in names
        assert name in EVENT_LABELS
    place = CasePlace("jiayu-xx", "wanxin-intl")
    stored = app.recorder.select_notifications(start=1, limit=1000)
    types = {to_contract(app.mapper.to_domain_event(n), place).type for n in stored}
    assert {
        "casework.dispute.meeting_rescheduled.v1",
        "casework.dispute.participant_joined.v1",
        "casework.dispute.meeting_cancelled.v1",
    } <= types
    assert app.verify(case_id).ok
