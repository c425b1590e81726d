"""Inviting people to a meeting between its convening and its round: who may, to which meetings,
whom, and that the invitee then sits at the round as one of the invited."""

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
    NotPermittedError,
    Role,
    ValidationError,
)
from casework.domain.ladder import LOCAL_TIME
from casework.domain.places import Tier
from casework.timeline import EVENT_LABELS
from hypothesis import given, settings
from hypothesis import strategies as st

COMPOUND = Address.parse("jiayu-xx/wanxin-intl")
HOUR = timedelta(hours=1)
PARTIES = ["resident-0302", "resident-0402"]
SEATED = [{"id": "staff-li", "role": "property_staff"}]
SECRETARY = Actor("party-secretary-wanxin", Role.PARTY_SECRETARY)
REPORTER = Actor("resident-0302", Role.RESIDENT)
T0 = datetime(2021, 3, 1, 9, tzinfo=LOCAL_TIME)


def roundtable(form: str = "roundtable") -> Dispute:
    case = Dispute.report(
        REPORTER, T0, COMPOUND, "cables across the path", "flying_cables", PARTIES
    )
    case.convene_mediation(SECRETARY, T0, "m1", form, T0 + 24 * HOUR, "clubhouse", SEATED)
    return case


def council() -> Dispute:
    case = Dispute.report(
        REPORTER, T0, COMPOUND, "the south gate", "road_and_gates", PARTIES, tier=Tier.COMMUNITY
    )
    officer = Actor("officer-sun", Role.COMMUNITY_OFFICER)
    case.convene_mediation(
        officer, T0, "c1", "deliberation_council", T0 + 24 * HOUR, "community hall", []
    )
    return case


def invite(case: Dispute, *people: dict[str, str], reason: str = "asked to come") -> None:
    case.invite_participants(SECRETARY, T0 + HOUR, "m1", list(people), reason)


PEOPLE = st.sampled_from(
    ["resident-0302", "staff-li", "party-secretary-wanxin", "resident-0502", "neighbour-7", "x-9"]
)


@settings(max_examples=60, deadline=None)
@given(
    invitees=st.lists(PEOPLE, max_size=4, unique=True),
    attendees=st.lists(PEOPLE, min_size=1, max_size=5, unique=True),
)
def test_an_invitee_sits_at_the_round_and_an_invitation_is_refused_only_for_the_invited(
    invitees: list[str], attendees: list[str]
) -> None:
    """For every invitation and every list of attendees: each invitation is recorded exactly
    when the person was not yet invited, and the round is recorded exactly when each attendee
    was invited (at the convening or after), is a party, or convened or records it."""
    case = roundtable()
    invited = {*PARTIES, "staff-li", SECRETARY.id}
    for person in invitees:
        if person in invited:
            with pytest.raises(InvalidTransitionError, match="already invited"):
                invite(case, {"id": person, "role": "resident"})
        else:
            invite(case, {"id": person, "role": "resident"})
            invited.add(person)
    assert case.invited("m1") == invited
    strangers = [a for a in attendees if a not in invited]
    if strangers:
        with pytest.raises(InvalidTransitionError, match="not invited to meeting m1"):
            case.hold_round(SECRETARY, T0 + 24 * HOUR, "m1", attendees, "progress")
    else:
        case.hold_round(SECRETARY, T0 + 24 * HOUR, "m1", attendees, "progress")
        assert case.meetings["m1"].rounds == 1


def test_an_invitation_is_recorded_with_who_when_and_why() -> None:
    case = roundtable()
    invite(
        case,
        {"id": "resident-0502", "role": "resident"},
        {"id": "leader-b3", "role": "building_leader"},
        reason="they live above the path the cables cross",
    )
    first, second = case.pending_events[-2:]
    assert isinstance(first, Dispute.ParticipantInvited)
    assert isinstance(second, Dispute.ParticipantInvited)
    assert (first.participant, second.participant) == (
        {"id": "resident-0502", "role": "resident"},
        {"id": "leader-b3", "role": "building_leader"},
    )
    assert (first.actor_id, first.actor_role, first.timestamp, first.reason) == (
        SECRETARY.id,
        "party_secretary",
        T0 + HOUR,
        "they live above the path the cables cross",
    )
    assert case.meetings["m1"].as_dict()["participants"][-2:] == [
        first.participant,
        second.participant,
    ]
    # An invitee is no walk-in: naming them as one is refused, as for those invited at first.
    with pytest.raises(ValidationError, match="list them among the attendees"):
        case.hold_round(
            SECRETARY,
            T0 + 24 * HOUR,
            "m1",
            [],
            "progress",
            walk_ins=[{"id": "resident-0502", "role": "resident", "reason": "x"}],
        )


@pytest.mark.parametrize(
    ("person", "how"),
    [
        ("staff-li", "a participant"),
        ("resident-0402", "a party to the dispute"),
        ("party-secretary-wanxin", "who convened it"),
    ],
)
def test_someone_already_invited_is_not_invited_twice(person: str, how: str) -> None:
    case = roundtable()
    with pytest.raises(InvalidTransitionError, match=f"already invited to meeting m1 \\({how}\\)"):
        invite(case, {"id": person, "role": "resident"})
    assert not any(isinstance(e, Dispute.ParticipantInvited) for e in case.pending_events)


def test_a_reporter_who_is_no_party_is_already_invited() -> None:
    case = Dispute.report(REPORTER, T0, COMPOUND, "cables", "flying_cables", ["resident-0402"])
    case.convene_mediation(SECRETARY, T0, "m1", "roundtable", T0 + 24 * HOUR, "clubhouse", [])
    with pytest.raises(InvalidTransitionError, match="who reported the dispute"):
        invite(case, {"id": REPORTER.id, "role": "resident"})


def test_a_held_cancelled_unknown_or_left_behind_meeting_takes_no_invitations() -> None:
    neighbour = {"id": "resident-0502", "role": "resident"}
    case = roundtable()
    with pytest.raises(InvalidTransitionError, match="m9 was not convened"):
        case.invite_participants(SECRETARY, T0 + HOUR, "m9", [neighbour], "why")
    case.hold_round(SECRETARY, T0 + 24 * HOUR, "m1", ["resident-0302"], "progress")
    with pytest.raises(InvalidTransitionError, match=r"was held \(round 1\).*reschedule it"):
        invite(case, neighbour)
    # Once its next round is set, the meeting takes invitations again.
    case.reschedule_meeting(SECRETARY, T0 + 25 * HOUR, "m1", T0 + 72 * HOUR, "hall", "round 2")
    case.invite_participants(SECRETARY, T0 + 26 * HOUR, "m1", [neighbour], "asked to come")
    case.cancel_meeting(SECRETARY, T0 + 27 * HOUR, "m1", "moved to a council")
    with pytest.raises(InvalidTransitionError, match="cancelled"):
        case.invite_participants(
            SECRETARY, T0 + 28 * HOUR, "m1", [{"id": "n-8", "role": "resident"}], "why"
        )
    climbed = roundtable()
    climbed.escalate(SECRETARY, T0 + HOUR, "the gate is the community's")
    with pytest.raises(InvalidTransitionError, match="convened at the compound tier"):
        climbed.invite_participants(SECRETARY, T0 + 2 * HOUR, "m1", [neighbour], "why")


def test_who_may_invite_and_whom_follow_the_convening_rules() -> None:
    case = roundtable()
    neighbour = {"id": "resident-0502", "role": "resident"}
    with pytest.raises(NotPermittedError):
        case.invite_participants(REPORTER, T0 + HOUR, "m1", [neighbour], "why")
    leader = Actor("leader-b12", Role.BUILDING_LEADER)
    with pytest.raises(InvalidTransitionError, match="does not mediate at the compound"):
        case.invite_participants(leader, T0 + HOUR, "m1", [neighbour], "why")
    with pytest.raises(ValidationError, match="reason for inviting"):
        invite(case, neighbour, reason="  ")
    with pytest.raises(ValidationError, match="at least one person"):
        invite(case)
    with pytest.raises(ValidationError, match="unknown role"):
        invite(case, {"id": "n", "role": "landlord"})
    with pytest.raises(ValidationError, match="listed twice"):
        invite(case, neighbour, neighbour)
    with pytest.raises(ValidationError, match="must name the department"):
        invite(case, {"id": "zhou", "role": "county_department_rep"})
    with pytest.raises(InvalidTransitionError, match="community's deliberation council"):
        invite(case, {"id": "fire-brigade:wu", "role": "county_department_rep"})
    assert not any(isinstance(e, Dispute.ParticipantInvited) for e in case.pending_events)


def test_a_council_takes_a_county_department_invited_after_its_convening() -> None:
    case = council()
    officer = Actor("officer-sun", Role.COMMUNITY_OFFICER)
    case.invite_participants(
        officer,
        T0 + HOUR,
        "c1",
        [{"id": "fire-brigade:wu", "role": "county_department_rep"}],
        "the gate is on a fire lane",
    )
    case.hold_round(officer, T0 + 24 * HOUR, "c1", ["fire-brigade:wu", "resident-0302"], "progress")
    assert case.meetings["c1"].rounds == 1
    case.convene_mediation(officer, T0 + 25 * HOUR, "r1", "roundtable", T0 + 48 * HOUR, "hall", [])
    with pytest.raises(InvalidTransitionError, match="not at a roundtable"):
        case.invite_participants(
            officer,
            T0 + 26 * HOUR,
            "r1",
            [{"id": "housing-bureau", "role": "county_department_rep"}],
            "why",
        )


def test_the_invitation_is_a_public_contract_with_a_label(app: Casework, clock: FakeClock) -> None:
    case_id = app.report_dispute(REPORTER, str(COMPOUND), "cables", "flying_cables", PARTIES)
    meeting = app.convene_mediation(
        case_id, SECRETARY, "roundtable", clock() + 24 * HOUR, "clubhouse", SEATED
    )
    app.invite_participants(
        case_id, SECRETARY, meeting, [{"id": "resident-0502", "role": "resident"}], "lives above"
    )
    entry = app.history(case_id)[-1]
    assert (entry.event, entry.reason, entry.details["participant"]) == (
        "ParticipantInvited",
        "lives above",
        {"id": "resident-0502", "role": "resident"},
    )
    assert EVENT_LABELS["ParticipantInvited"] == "追加邀请参会"
    place = CasePlace("jiayu-xx", "wanxin-intl")
    stored = app.recorder.select_notifications(start=1, limit=1000)
    contracts = [to_contract(app.mapper.to_domain_event(n), place) for n in stored]
    invited = [c for c in contracts if c.type == "casework.dispute.participant_invited.v1"]
    assert len(invited) == 1
    assert invited[0].model_dump()["participant"] == {"id": "resident-0502", "role": "resident"}
    assert app.verify(case_id).ok
