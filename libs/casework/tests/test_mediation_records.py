"""The rules a dispute's mediation records carry on their own: when a meeting awaits a round,
when a commitment is open or falls due, how a tally is cited, and their plain (snapshot) form."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from casework.domain.actors import Actor, Role
from casework.domain.ladder import LOCAL_TIME
from casework.domain.mediation_records import (
    Commitment,
    CommitmentStatus,
    Lead,
    Meeting,
    Round,
    participant_dict,
    participant_of,
)
from casework.domain.mediation_rules import MEETING_FORMS, OPEN_COMMITMENT, OPEN_FORMS
from casework.domain.places import Tier
from hypothesis import given
from hypothesis import strategies as st

T0 = datetime(2026, 12, 4, 19, 30, tzinfo=LOCAL_TIME)
ROLES = [r for r in Role if r is not Role.SYSTEM]
ids = st.text(alphabet="abcdefghij-0123456789", min_size=1, max_size=12)
people = st.builds(Actor, ids, st.sampled_from(ROLES))
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(LOCAL_TIME)
)
meetings = st.builds(
    Meeting,
    form=st.sampled_from(list(MEETING_FORMS)),
    tier=st.sampled_from(list(Tier)),
    scheduled_for=moments,
    place=st.text(min_size=1, max_size=20),
    participants=st.lists(people, max_size=4).map(tuple),
    convened_by=ids,
)
# What can happen to a meeting after its convening, in any order.
changes = st.lists(
    st.one_of(
        st.tuples(st.just("round"), st.integers(1, 9)),
        st.tuples(st.just("reschedule"), moments),
        st.tuples(st.just("cancel"), st.none()),
        st.tuples(st.just("join"), people),
    ),
    max_size=8,
)


@given(meetings, changes)
def test_a_meeting_awaits_a_round_exactly_when_its_last_change_set_one(
    meeting: Meeting, steps: list[tuple[str, object]]
) -> None:
    """Convening or rescheduling sets a round; a round held or a cancellation takes it away;
    a cancelled meeting never awaits one again. Its plain form says the same and is JSON."""
    expected, cancelled, rounds = True, False, 0
    for step, arg in steps:
        if step == "round":
            assert isinstance(arg, int)
            meeting, expected, rounds = meeting.after_round(arg), False, arg
        elif step == "reschedule":
            assert isinstance(arg, datetime)
            meeting = meeting.rescheduled(arg, "hall")
            expected = True
            assert meeting.scheduled_for == arg
        elif step == "cancel":
            meeting, expected, cancelled = meeting.called_off(), False, True
        else:
            assert isinstance(arg, Actor)
            before = meeting.participants
            meeting = meeting.joined_by(arg)
            assert meeting.participants == (*before, arg)
    assert meeting.expects_round == (expected and not cancelled)
    assert meeting.status == (
        "cancelled" if cancelled else "scheduled" if meeting.expects_round else "held"
    )
    assert meeting.rounds == rounds
    plain = json.loads(json.dumps(meeting.as_dict()))
    assert plain["awaits_round"] is meeting.awaits_round
    assert plain["participants"] == [participant_dict(p) for p in meeting.participants]
    assert [participant_of(p) for p in plain["participants"]] == list(meeting.participants)
    assert datetime.fromisoformat(plain["scheduled_for"]) == meeting.scheduled_for
    assert plain["tier"] == meeting.tier.value
    assert meeting.checks_attendance == (meeting.form not in OPEN_FORMS)
    assert meeting.label == MEETING_FORMS[meeting.form][0]


@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    st.sampled_from(list(CommitmentStatus)),
    st.integers(-3 * 24 * 60, 3 * 24 * 60),
)
def test_a_commitment_falls_due_only_when_pending_and_past_the_end_of_its_day(
    due: date, status: CommitmentStatus, minutes: int
) -> None:
    """A date means the end of that day, local time; only a pending commitment falls due, and
    pending or due ones are the open ones."""
    c = Commitment("property-co", "build the sheds", due.isoformat(), status)
    end_of_day = datetime(due.year, due.month, due.day, tzinfo=LOCAL_TIME) + timedelta(days=1)
    at = (end_of_day + timedelta(minutes=minutes)).astimezone(UTC)
    assert c.due_at() == end_of_day
    assert c.falls_due_by(at) == (status is CommitmentStatus.PENDING and minutes >= 0)
    assert c.is_open == (status.value in OPEN_COMMITMENT)
    assert c.fallen_due().status is CommitmentStatus.DUE
    assert c.followed_up(kept=True).status is CommitmentStatus.KEPT
    assert not c.followed_up(kept=False).is_open
    assert c.as_dict() == {
        "who": "property-co",
        "what": "build the sheds",
        "due": due.isoformat(),
        "status": status.value,
    }


@given(
    st.dictionaries(
        st.text("abc xyz北南", min_size=1, max_size=8), st.integers(0, 500), min_size=1
    ),
    st.randoms(use_true_random=False),
)
def test_a_tally_reads_the_same_in_any_order_most_votes_first(
    tally: dict[str, int], rng: object
) -> None:
    items = list(tally.items())
    shuffled = list(items)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    one, other = Round("poll", 2, tuple(items)), Round("poll", 2, tuple(shuffled))
    assert one.citation() == other.citation()
    assert one.counts == tally
    shown = one.citation().removeprefix("tally of round 2 of meeting poll: ")
    counts = [int(part.rsplit(" ", 1)[1]) for part in shown.split(", ")]
    assert counts == sorted(tally.values(), reverse=True)


@given(st.sampled_from(list(Tier)), st.sampled_from(list(Tier)), moments)
def test_a_lead_leads_only_at_the_tier_it_was_named_at(
    named_at: Tier, now_at: Tier, since: datetime
) -> None:
    lead = Lead("officer-1", Role.COMMUNITY_OFFICER, named_at, "officer-1", since)
    assert lead.leads_at(now_at) == (named_at is now_at)
    assert lead.as_dict() == {
        "id": "officer-1",
        "role": "community_officer",
        "tier": named_at.value,
        "named_by": "officer-1",
        "since": since.isoformat(),
    }
