"""The three stories through the `Casework` application on a SQLite file, with a fake clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.domain import (
    SYSTEM,
    Actor,
    InvalidTransitionError,
    NotPermittedError,
    Role,
    Status,
    Tier,
    ValidationError,
)
from casework.domain.errors import CaseNotFoundError

FLAT = "jiayu-xx/wanxin-intl/b12/0302"
COMPOUND = "jiayu-xx/wanxin-intl"
MINUTE = timedelta(minutes=1)


def test_a_repair_told_through_the_application_reads_back_with_its_whole_history(
    app: Casework,
    clock: FakeClock,
    resident: Actor,
    staff: Actor,
    volunteer: Actor,
    t0: datetime,
) -> None:
    case_id = app.report_repair(resident, FLAT, "corridor light dead", "lighting")
    clock.advance(MINUTE)
    app.acknowledge(case_id, staff, "received")
    clock.advance(MINUTE)
    app.assign(case_id, staff, volunteer, "party member, electrician")
    clock.advance(30 * MINUTE)
    app.start_work(case_id, volunteer)
    clock.advance(15 * MINUTE)
    app.finish_work(case_id, volunteer, "new bulb")
    app.resolve(case_id, staff, "light works")
    clock.advance(MINUTE)
    app.confirm_resolution(case_id, resident)
    app.rate_satisfaction(case_id, resident, 5, "fast")

    case = app.get_case(case_id)
    assert case.status is Status.CONFIRMED
    assert case.satisfaction == 5
    history = app.history(case_id)
    assert [h.event for h in history] == [
        "Reported",
        "DeadlinesSet",
        "Acknowledged",
        "Assigned",
        "WorkStarted",
        "WorkDone",
        "Resolved",
        "ConfirmedByResident",
        "SatisfactionRated",
    ]
    assert [h.version for h in history] == list(range(1, 10))
    assigned = history[3]
    assert (assigned.actor_id, assigned.actor_role, assigned.tier, assigned.reason) == (
        staff.id,
        "property_staff",
        "building",
        "party member, electrician",
    )
    assert assigned.at == t0 + 2 * MINUTE
    assert assigned.details == {"assignee_id": volunteer.id, "assignee_role": "volunteer"}
    assert history[4].at == t0 + 32 * MINUTE
    assert app.verify(case_id).ok


def test_the_leak_story_climbs_automatically_when_the_owner_cannot_be_reached(
    app: Casework, clock: FakeClock, resident: Actor, staff: Actor, manager: Actor
) -> None:
    case_id = app.report_leak(
        resident,
        "jiayu-xx/wanxin-intl/b9/0401",
        "water under 0402's door",
        "0402",
        source_unoccupied=True,
    )
    clock.advance(MINUTE)
    app.attempt_owner_contact(case_id, staff, "phone", "no_answer")
    clock.advance(10 * MINUTE)
    assert app.escalate_if_due(case_id, SYSTEM) is None
    clock.advance(5 * MINUTE)
    reason = app.escalate_if_due(case_id, SYSTEM)
    assert reason == "deadline passed: owner of the source flat not reached"
    assert app.escalate_if_due(case_id, SYSTEM) is None
    clock.advance(2 * MINUTE)
    app.stop_water(case_id, staff, "riser_valve_shut", "riser for b9 east shut")
    app.record_cause(
        case_id, staff, "valve left open by renovation worker", "0401 ceiling", ["0401"]
    )
    app.resolve(case_id, manager, "water stopped at the riser; owner told")

    case = app.get_case(case_id)
    assert case.settled_tier is Tier.COMPOUND
    escalations = [h for h in app.history(case_id) if h.event == "Escalated"]
    assert len(escalations) == 1
    (escalated,) = escalations
    assert (escalated.actor_id, escalated.actor_role, escalated.reason) == (
        "scheduler",
        "system",
        reason,
    )
    assert escalated.details == {"to_tier": "compound", "automatic": True}
    assert app.verify(case_id).ok


def test_the_south_gate_dispute_reaches_the_deliberation_council_with_county_departments(
    app: Casework, clock: FakeClock, resident: Actor, secretary: Actor, officer: Actor
) -> None:
    case_id = app.report_dispute(
        resident, COMPOUND, "south gate locked, main road blocked", "road_and_gates"
    )
    meeting = app.convene_mediation(
        case_id,
        secretary,
        "roundtable",
        clock() + timedelta(days=1),
        "hall",
        [{"id": "resident-0302", "role": "resident"}],
    )
    clock.advance(timedelta(days=1))
    for _ in range(3):
        app.hold_round(case_id, secretary, meeting, ["resident-0302"], "failed", note="no deal")
        clock.advance(timedelta(days=1))
    assert app.escalate_if_due(case_id, SYSTEM) == "mediation failed 3 rounds at the compound"
    county = [
        {"id": "housing-bureau", "role": "county_department_rep"},
        {"id": "fire-brigade", "role": "county_department_rep"},
    ]
    council = app.convene_mediation(
        case_id, officer, "deliberation_council", clock() + timedelta(days=2), "hall", county
    )
    app.reach_agreement(
        case_id,
        officer,
        council,
        ["the south gate is entry-only"],
        [{"who": "property-co", "what": "new signs at the south gate", "due": "2026-12-15"}],
        "fire brigade: exit lane must stay clear",
    )
    app.resolve(case_id, officer, "south gate entry-only")
    case = app.get_case(case_id)
    assert case.settled_tier is Tier.COMMUNITY
    assert case.snapshot()["meetings"][council]["form"] == "deliberation_council"
    assert app.verify(case_id).ok


def test_a_refused_command_through_the_application_stores_nothing(
    app: Casework, resident: Actor, staff: Actor, auditor: Actor
) -> None:
    case_id = app.report_repair(resident, FLAT, "tap drips", "plumbing")
    before = app.history(case_id)
    with pytest.raises(NotPermittedError, match="a auditor may not acknowledge"):
        app.acknowledge(case_id, auditor)
    with pytest.raises(
        InvalidTransitionError, match="it must be in_progress to have work finished"
    ):
        app.finish_work(case_id, staff, "done")
    with pytest.raises(
        InvalidTransitionError, match="it must be resolved or confirmed to be rated"
    ):
        app.rate_satisfaction(case_id, resident, 5)
    assert app.history(case_id) == before


def test_a_command_for_another_kind_of_case_is_refused_by_name(
    app: Casework, resident: Actor, staff: Actor
) -> None:
    case_id = app.report_repair(resident, FLAT, "tap drips", "plumbing")
    with pytest.raises(InvalidTransitionError, match="is a repair; that command is for a leak"):
        app.stop_water(case_id, staff, "staff_closed_valve")
    with pytest.raises(InvalidTransitionError, match="is a repair; that command is for a dispute"):
        app.hold_round(case_id, staff, "m1", ["x"], "progress")


def test_an_unknown_or_malformed_case_id_is_not_found(app: Casework, staff: Actor) -> None:
    with pytest.raises(CaseNotFoundError, match="no case file with id"):
        app.acknowledge(uuid4(), staff)
    with pytest.raises(CaseNotFoundError, match="is not a case id"):
        app.history("building-12")
    with pytest.raises(CaseNotFoundError, match="no case file with id"):
        app.verify(uuid4())


def test_linking_two_cases_records_the_link_in_both_files(
    app: Casework, resident: Actor, neighbour: Actor, staff: Actor
) -> None:
    leak_id = app.report_leak(resident, FLAT, "water from above", "0402")
    dispute_id = app.report_dispute(
        neighbour, FLAT, "who pays for the ceiling", "leak_between_flats", ["resident-0402"]
    )
    app.link_cases(leak_id, dispute_id, staff, "damage_dispute")
    assert app.get_case(leak_id).links == [(str(dispute_id), "damage_dispute")]
    assert app.get_case(dispute_id).links == [(str(leak_id), "damage_dispute")]
    with pytest.raises(InvalidTransitionError, match="already linked"):
        app.link_cases(leak_id, dispute_id, staff, "damage_dispute")
    assert app.verify(leak_id).ok
    assert app.verify(dispute_id).ok


def test_state_as_of_reads_a_version_or_a_moment_from_the_case_file(
    app: Casework, clock: FakeClock, resident: Actor, staff: Actor, t0: datetime
) -> None:
    case_id = app.report_repair(resident, FLAT, "tap drips", "plumbing")
    clock.advance(timedelta(hours=1))
    app.acknowledge(case_id, staff)
    clock.advance(timedelta(hours=1))
    app.assign(case_id, staff, staff, "on duty")

    assert app.state_as_of(case_id, version=2).status is Status.REPORTED
    assert app.state_as_of(case_id, version=3).status is Status.ACKNOWLEDGED
    assert app.state_as_of(case_id, at=t0 + timedelta(minutes=59)).version == 2
    assert app.state_as_of(case_id, at=t0 + timedelta(hours=1)).version == 3
    clock.advance(timedelta(days=9))  # an as-of moment is never in the reader's future
    assert app.state_as_of(case_id, at=t0 + timedelta(days=9)).version == 4
    with pytest.raises(ValidationError, match="did not exist yet"):
        app.state_as_of(case_id, at=t0 - MINUTE)
    with pytest.raises(ValidationError, match="has only 4 events, not 9"):
        app.state_as_of(case_id, version=9)
    with pytest.raises(ValidationError, match="versions start at 1"):
        app.state_as_of(case_id, version=0)
    with pytest.raises(ValidationError, match="exactly one of"):
        app.state_as_of(case_id)
    with pytest.raises(ValidationError, match="timezone"):
        app.state_as_of(case_id, at=datetime(2026, 11, 24, 10, 0))


def test_the_scheduler_escalates_an_unanswered_repair_once_per_passed_deadline(
    app: Casework, clock: FakeClock, resident: Actor
) -> None:
    case_id = app.report_repair(resident, FLAT, "lift stuck with nobody in it", "lift", "urgent")
    clock.advance(29 * MINUTE)
    assert app.escalate_if_due(case_id, SYSTEM) is None
    clock.advance(2 * MINUTE)
    assert app.escalate_if_due(case_id, SYSTEM) == "deadline passed: no response"
    case = app.get_case(case_id)
    assert case.tier is Tier.COMPOUND
    assert case.respond_by == clock() + timedelta(minutes=30)
    clock.advance(31 * MINUTE)
    assert app.escalate_if_due(case_id, SYSTEM) == "deadline passed: no response"
    clock.advance(timedelta(days=30))
    assert app.escalate_if_due(case_id, SYSTEM) is None
    assert app.get_case(case_id).tier is Tier.COMMUNITY


def test_the_scheduler_must_be_allowed_to_escalate(
    app: Casework, clock: FakeClock, resident: Actor
) -> None:
    case_id = app.report_repair(resident, FLAT, "lift stuck", "lift", "urgent")
    clock.advance(timedelta(hours=1))
    with pytest.raises(NotPermittedError):
        app.escalate_if_due(case_id, Actor("volunteer-zhao", Role.VOLUNTEER))
