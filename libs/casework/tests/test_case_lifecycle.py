"""The lifecycle all three kinds share: reporters, response, resolution, reopening, closing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from casework.domain import (
    Actor,
    Address,
    Case,
    CaseworkError,
    Dispute,
    InvalidTransitionError,
    LeakEmergency,
    Repair,
    Role,
    Status,
    ValidationError,
)
from casework.domain.ladder import REOPEN_WITHIN, deadlines_for

FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
MINUTE = timedelta(minutes=1)


def resolved_repair(resident: Actor, staff: Actor, at: datetime) -> Repair:
    case = Repair.report(resident, at, FLAT, "tap drips", "plumbing")
    case.assign(staff, at, staff, "on duty")
    case.start_work(staff, at)
    case.finish_work(staff, at, "new washer")
    case.resolve(staff, at, "tap fixed")
    return case


def test_a_second_reporter_joins_the_case_instead_of_opening_another(
    resident: Actor, neighbour: Actor, t0: datetime
) -> None:
    case = Repair.report(resident, t0, FLAT, "corridor light dead", "lighting")
    case.add_reporter(neighbour, t0 + MINUTE, "wechat")
    added = case.pending_events[-1]
    assert isinstance(added, Repair.ReporterAdded)
    assert (added.reporter_id, added.channel, added.actor_id) == (
        neighbour.id,
        "wechat",
        neighbour.id,
    )
    assert case.reporter_ids == [resident.id, neighbour.id]
    assert case.reporter_id == resident.id
    with pytest.raises(InvalidTransitionError, match="has already reported"):
        case.add_reporter(neighbour, t0 + 2 * MINUTE, "phone")


def test_a_settled_case_takes_no_further_reports(
    resident: Actor, neighbour: Actor, staff: Actor, t0: datetime
) -> None:
    case = resolved_repair(resident, staff, t0)
    with pytest.raises(InvalidTransitionError, match="already resolved; reopen it before"):
        case.add_reporter(neighbour, t0 + MINUTE, "phone")


def test_a_case_is_acknowledged_once_per_tier(resident: Actor, staff: Actor, t0: datetime) -> None:
    case = Repair.report(resident, t0, FLAT, "tap drips", "plumbing")
    case.acknowledge(staff, t0 + MINUTE, "calling back")
    ack = case.pending_events[-1]
    assert (ack.actor_id, ack.actor_role, ack.reason, ack.timestamp) == (
        staff.id,
        "property_staff",
        "calling back",
        t0 + MINUTE,
    )
    with pytest.raises(InvalidTransitionError, match="already answered at the building tier"):
        case.acknowledge(staff, t0 + 2 * MINUTE)


def test_only_a_resident_who_reported_may_confirm_rate_or_reopen(
    resident: Actor, neighbour: Actor, staff: Actor, t0: datetime
) -> None:
    case = resolved_repair(resident, staff, t0)
    before = len(case.pending_events)
    with pytest.raises(InvalidTransitionError, match="only a resident who reported"):
        case.confirm_resolution(neighbour, t0 + MINUTE)
    with pytest.raises(InvalidTransitionError, match="only a resident who reported"):
        case.rate_satisfaction(neighbour, t0 + MINUTE, 1)
    with pytest.raises(InvalidTransitionError, match="only a resident who reported"):
        case.reopen(neighbour, t0 + MINUTE, "not fixed")
    assert len(case.pending_events) == before


def test_a_resident_who_joined_as_reporter_may_confirm(
    resident: Actor, neighbour: Actor, staff: Actor, t0: datetime
) -> None:
    case = Repair.report(resident, t0, FLAT, "tap drips", "plumbing")
    case.add_reporter(neighbour, t0, "phone")
    case.assign(staff, t0, staff, "on duty")
    case.start_work(staff, t0)
    case.finish_work(staff, t0, "washer")
    case.resolve(staff, t0, "fixed")
    case.confirm_resolution(neighbour, t0 + MINUTE)
    assert case.status is Status.CONFIRMED


def test_confirming_an_unresolved_case_is_refused(resident: Actor, t0: datetime) -> None:
    case = Repair.report(resident, t0, FLAT, "tap drips", "plumbing")
    with pytest.raises(InvalidTransitionError, match="is reported; it must be resolved"):
        case.confirm_resolution(resident, t0)


def test_a_case_resolved_within_the_window_can_be_reopened_with_a_reason(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = resolved_repair(resident, staff, t0)
    case.confirm_resolution(resident, t0)
    case.reopen(resident, t0 + REOPEN_WITHIN, "drips again")
    event, deadlines = case.pending_events[-2:]
    assert isinstance(event, Repair.Reopened)
    assert isinstance(deadlines, Repair.DeadlinesSet)
    assert deadlines.timestamp == t0 + REOPEN_WITHIN
    assert (event.actor_id, event.actor_role, event.reason) == (
        resident.id,
        "resident",
        "drips again",
    )
    assert case.reopen_count == 1


def test_reopening_after_the_window_is_refused_and_says_to_report_again(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = resolved_repair(resident, staff, t0)
    with pytest.raises(InvalidTransitionError, match="more than 7 days ago; report the problem"):
        case.reopen(resident, t0 + REOPEN_WITHIN + MINUTE, "drips again")
    assert case.status is Status.RESOLVED


def test_reopening_needs_a_reason(resident: Actor, staff: Actor, t0: datetime) -> None:
    case = resolved_repair(resident, staff, t0)
    with pytest.raises(ValidationError, match="the reason must not be empty"):
        case.reopen(resident, t0, "")


def test_reopening_an_open_case_is_refused(resident: Actor, t0: datetime) -> None:
    case = Repair.report(resident, t0, FLAT, "tap drips", "plumbing")
    with pytest.raises(InvalidTransitionError, match="it must be resolved or confirmed"):
        case.reopen(resident, t0, "still broken")


@pytest.mark.parametrize("score", [0, 6, -1, True, 2.5, "5"])
def test_satisfaction_is_a_whole_number_from_one_to_five(
    resident: Actor, staff: Actor, t0: datetime, score: object
) -> None:
    case = resolved_repair(resident, staff, t0)
    with pytest.raises(ValidationError, match="satisfaction is a whole number from 1 to 5"):
        case.rate_satisfaction(resident, t0, score)  # type: ignore[arg-type]


def test_a_rating_records_its_score_and_comment(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = resolved_repair(resident, staff, t0)
    case.rate_satisfaction(resident, t0 + MINUTE, 4, "  ok but slow ")
    rated = case.pending_events[-1]
    assert isinstance(rated, Repair.SatisfactionRated)
    assert (rated.score, rated.comment) == (4, "ok but slow")
    assert case.satisfaction == 4


def test_rating_or_a_return_visit_before_resolution_is_refused(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = Repair.report(resident, t0, FLAT, "tap drips", "plumbing")
    with pytest.raises(
        InvalidTransitionError, match="it must be resolved or confirmed to be rated"
    ):
        case.rate_satisfaction(resident, t0, 5)
    with pytest.raises(InvalidTransitionError, match="to get a return visit"):
        case.record_return_visit(staff, t0, "called")


def test_closing_an_unresolved_case_is_refused(resident: Actor, staff: Actor, t0: datetime) -> None:
    case = Repair.report(resident, t0, FLAT, "tap drips", "plumbing")
    with pytest.raises(
        InvalidTransitionError, match="is reported; it is closed only after it is resolved"
    ):
        case.close_case(staff, t0)


def test_resolving_needs_a_summary(resident: Actor, staff: Actor, t0: datetime) -> None:
    case = Repair.report(resident, t0, FLAT, "tap drips", "plumbing")
    case.assign(staff, t0, staff, "on duty")
    case.start_work(staff, t0)
    case.finish_work(staff, t0, "washer")
    with pytest.raises(ValidationError, match="the summary must not be empty"):
        case.resolve(staff, t0, " ")


def test_a_resolved_case_cannot_be_resolved_again(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = resolved_repair(resident, staff, t0)
    with pytest.raises(InvalidTransitionError, match="already resolved; reopen it"):
        case.resolve(staff, t0, "again")


def closed_case_commands(
    resident: Actor, staff: Actor, t0: datetime
) -> list[tuple[str, Callable[[Repair], None]]]:
    return [
        ("add_reporter", lambda c: c.add_reporter(Actor("r-9", Role.RESIDENT), t0, "phone")),
        ("acknowledge", lambda c: c.acknowledge(staff, t0)),
        ("assign", lambda c: c.assign(staff, t0, staff, "me")),
        ("start_work", lambda c: c.start_work(staff, t0)),
        ("finish_work", lambda c: c.finish_work(staff, t0, "x")),
        ("escalate", lambda c: c.escalate(staff, t0, "too big")),
        ("resolve", lambda c: c.resolve(staff, t0, "x")),
        ("confirm_resolution", lambda c: c.confirm_resolution(resident, t0)),
        ("reopen", lambda c: c.reopen(resident, t0, "again")),
        ("rate_satisfaction", lambda c: c.rate_satisfaction(resident, t0, 3)),
        ("record_return_visit", lambda c: c.record_return_visit(staff, t0, "called")),
        ("close_case", lambda c: c.close_case(staff, t0)),
        ("add_note", lambda c: c.add_note(staff, t0, "late note")),
        ("link", lambda c: c.link(staff, t0, uuid4(), "duplicate_of")),
    ]


def test_a_closed_case_refuses_every_change_and_says_it_is_closed(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = resolved_repair(resident, staff, t0)
    case.confirm_resolution(resident, t0)
    case.record_return_visit(staff, t0, "called back")
    case.close_case(staff, t0 + MINUTE, "done")
    before = len(case.pending_events)
    for name, command in closed_case_commands(resident, staff, t0 + 2 * MINUTE):
        with pytest.raises(InvalidTransitionError, match=r"is (already )?closed") as refused:
            command(case)
        assert str(case.id) in str(refused.value), name
    assert len(case.pending_events) == before
    assert case.status is Status.CLOSED


def test_notes_can_be_added_by_anyone_but_an_auditor_while_the_case_is_open(
    resident: Actor, volunteer: Actor, auditor: Actor, t0: datetime
) -> None:
    case = Repair.report(resident, t0, FLAT, "tap drips", "plumbing")
    case.add_note(volunteer, t0, "I can come tonight")
    case.add_note(resident, t0, "door code 0302#")
    assert case.note_count == 2
    note = case.pending_events[-1]
    assert isinstance(note, Repair.NoteAdded)
    assert note.text == "door code 0302#"
    with pytest.raises(ValidationError, match="the note must not be empty"):
        case.add_note(resident, t0, "")
    with pytest.raises(CaseworkError, match="auditor may not add note"):
        case.add_note(auditor, t0, "looks fine")


def test_a_case_links_to_another_once_and_never_to_itself(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = Repair.report(resident, t0, FLAT, "tap drips", "plumbing")
    other = uuid4()
    case.link(staff, t0, other, "duplicate_of")
    linked = case.pending_events[-1]
    assert isinstance(linked, Repair.LinkedToCase)
    assert (linked.other_case_id, linked.relation) == (str(other), "duplicate_of")
    assert case.links == [(str(other), "duplicate_of")]
    with pytest.raises(InvalidTransitionError, match="already linked"):
        case.link(staff, t0, other, "duplicate_of")
    with pytest.raises(ValidationError, match="cannot be linked to itself"):
        case.link(staff, t0, case.id, "duplicate_of")
    case.link(staff, t0, other, "damage_dispute")
    assert len(case.links) == 2


@pytest.mark.parametrize(
    "make",
    [
        lambda a, t: Repair.report(a, t, FLAT, "tap", "plumbing"),
        lambda a, t: LeakEmergency.report(a, t, FLAT, "water under door", "0402"),
        lambda a, t: Dispute.report(a, t, FLAT, "drum kit at night", "noise", ["resident-0402"]),
    ],
    ids=["repair", "leak", "dispute"],
)
def test_every_kind_opens_with_a_report_and_its_deadlines_chained_from_genesis(
    resident: Actor, t0: datetime, make: Callable[[Actor, datetime], Case]
) -> None:
    case = make(resident, t0)
    first, second = case.pending_events
    assert first.prev_hash == ""
    assert second.prev_hash == first.hash
    assert first.originator_version == 1
    assert second.originator_version == 2
    assert case.status is Status.REPORTED
    assert case.reported_at == t0
    assert case.respond_by is not None
    assert case.respond_by > t0
    assert case.settle_by is not None
    assert case.settle_by >= case.respond_by


def test_a_reopened_case_owes_a_fresh_response_and_does_not_climb_on_its_old_deadlines(
    resident: Actor, staff: Actor, t0: datetime
) -> None:
    case = resolved_repair(resident, staff, t0)
    reopened_at = t0 + REOPEN_WITHIN  # long after the first settle_by
    case.reopen(resident, reopened_at, "drips again")
    table = deadlines_for(case.KIND, case.priority.value, case.tier)
    assert case.escalation_reason(reopened_at) is None
    assert case.respond_by == reopened_at + table.respond_within
    assert case.settle_by == reopened_at + table.settle_within
    late = reopened_at + table.respond_within + timedelta(seconds=1)
    assert case.escalation_reason(late) == "deadline passed: no response"
    case.acknowledge(staff, reopened_at + timedelta(minutes=1))
    assert case.escalation_reason(late) is None
