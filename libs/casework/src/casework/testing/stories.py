"""Case files that walk every kind of case through every event it can record.

For tests that must see each event type at least once (contracts, the relay, consumers), and for
benchmarks that want realistic mixes. Uses only the application's public commands.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from casework.application import Casework
from casework.clock import FakeClock
from casework.domain.actors import Actor, Role

RESIDENT = Actor("resident-0302", Role.RESIDENT)
NEIGHBOUR = Actor("resident-0402", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
VOLUNTEER = Actor("volunteer-wang", Role.VOLUNTEER)
LEADER = Actor("leader-b12", Role.BUILDING_LEADER)
SECRETARY = Actor("secretary-zhao", Role.PARTY_SECRETARY)
OFFICER = Actor("officer-chen", Role.COMMUNITY_OFFICER)

ADDRESS = "jiayu-xx/wanxin-intl/b12/0302"


def repair_story(app: Casework, clock: FakeClock, description: str = "corridor light out") -> UUID:
    """Every repair event: report, second reporter, decline, escalate, reopen, rate, close."""
    step = timedelta(minutes=5)
    case = app.report_repair(RESIDENT, ADDRESS, description, "lighting")
    clock.advance(step)
    app.add_reporter(case, NEIGHBOUR, "wechat")
    app.acknowledge(case, STAFF, "on it")
    app.assign(case, STAFF, VOLUNTEER, "electrician, lives in b12")
    app.decline_assignment(case, VOLUNTEER, "away this week")
    app.escalate(case, STAFF, "no volunteer in the building this week")
    app.assign(case, STAFF, STAFF, "staff electrician")
    clock.advance(step)
    app.start_work(case, STAFF)
    app.finish_work(case, STAFF, "replaced the fitting")
    app.resolve(case, STAFF, "light works")
    app.reopen(case, RESIDENT, "flickers again")
    app.start_work(case, STAFF)
    app.finish_work(case, STAFF, "replaced the switch too")
    app.resolve(case, STAFF, "light and switch work")
    app.confirm_resolution(case, RESIDENT)
    app.rate_satisfaction(case, RESIDENT, 5, "quick")
    app.record_return_visit(case, STAFF, "still fine a week later")
    app.add_note(case, STAFF, "fitting from stock")
    app.close_case(case, STAFF, "done")
    return case


def leak_story(app: Casework, clock: FakeClock, description: str = "water under the door") -> UUID:
    """Every leak event: contact attempts until the owner is reached, water stopped, cause."""
    case = app.report_leak(
        NEIGHBOUR,
        "jiayu-xx/wanxin-intl/b12/0401",
        description,
        "0402",
        source_unoccupied=True,
    )
    app.add_reporter(case, RESIDENT, "phone")
    app.attempt_owner_contact(case, STAFF, "phone", "no_answer")
    clock.advance(timedelta(minutes=3))
    app.attempt_owner_contact(case, STAFF, "phone", "reached", "owner on the way")
    app.acknowledge(case, STAFF)
    app.assign(case, STAFF, VOLUNTEER, "plumber on duty")
    app.decline_assignment(case, VOLUNTEER, "not at home")
    app.assign(case, STAFF, STAFF, "staff on site")
    app.arrive_on_site(case, STAFF)
    app.escalate(case, STAFF, "owner delayed; riser valve needs the compound")
    app.stop_water(case, STAFF, "riser_valve_shut")
    app.record_cause(
        case, STAFF, "valve left open by a renovation worker", "ceiling stain", ["0302"]
    )
    app.resolve(case, STAFF, "valve closed, owner informed")
    app.reopen(case, NEIGHBOUR, "still dripping")
    app.resolve(case, STAFF, "dripping stopped")
    app.confirm_resolution(case, NEIGHBOUR)
    app.rate_satisfaction(case, NEIGHBOUR, 4)
    app.record_return_visit(case, STAFF, "ceiling drying")
    app.add_note(case, STAFF, "renovation company warned")
    app.close_case(case, STAFF)
    return case


def dispute_story(app: Casework, clock: FakeClock, description: str = "EV cables") -> UUID:
    """Every dispute event: rounds that fail, one that agrees, a follow-up, rating, close."""
    case = app.report_dispute(
        RESIDENT, "jiayu-xx/wanxin-intl", description, "ev_charging", ["resident-0302", "owner-7"]
    )
    app.add_reporter(case, NEIGHBOUR, "talk_meeting")
    app.acknowledge(case, SECRETARY)
    meeting = app.convene_mediation(
        case,
        SECRETARY,
        "roundtable",
        clock() + timedelta(days=2),
        "courtyard",
        [{"id": "resident-0302", "role": "resident"}, {"id": "staff-li", "role": "property_staff"}],
    )
    clock.advance(timedelta(days=2))
    app.hold_round(case, SECRETARY, meeting, ["resident-0302"], "failed", note="no quorum")
    app.record_mediation_failed(case, SECRETARY, meeting, "owner did not come")
    app.escalate(case, SECRETARY, "needs the community")
    council = app.convene_mediation(
        case,
        OFFICER,
        "deliberation_council",
        clock() + timedelta(days=1),
        "community hall",
        [{"id": "housing-bureau", "role": "county_department_rep"}],
    )
    app.hold_round(
        case,
        OFFICER,
        council,
        ["resident-0302", "owner-7"],
        "agreed",
        positions={"owner-7": "wants a shed"},
        proposals=["shed by gate 2"],
        options=["gate 2", "car park"],
        tally={"gate 2": 11, "car park": 4},
    )
    app.reach_agreement(
        case,
        OFFICER,
        council,
        ["charging shed by gate 2"],
        [{"who": "staff-li", "what": "build the shed", "due": "2026-12-31"}],
        "11 of 15 voted for gate 2",
    )
    app.resolve(case, OFFICER, "agreed at the council")
    app.record_follow_up(case, OFFICER, 0, True, "shed built")
    app.confirm_resolution(case, RESIDENT)
    app.rate_satisfaction(case, RESIDENT, 3, "took long")
    app.record_return_visit(case, OFFICER, "shed in use")
    app.reopen(case, RESIDENT, "cables still trail")
    app.add_note(case, OFFICER, "checked: one cable left")
    app.reach_agreement(
        case,
        OFFICER,
        council,
        ["no cables across the path"],
        [{"who": "owner-7", "what": "remove the cable", "due": "2027-01-07"}],
    )
    app.record_follow_up(case, OFFICER, 0, True, "cable removed")
    app.resolve(case, OFFICER, "no cables left")
    return case


def every_story(app: Casework, clock: FakeClock) -> list[UUID]:
    """One case of each kind through every event it can record, and two more to link to.

    (A dispute is mediated, never assigned: its Assigned/AssignmentDeclined never occur.)
    """
    repair, leak, dispute = (
        repair_story(app, clock),
        leak_story(app, clock),
        dispute_story(app, clock),
    )
    new_repair = app.report_repair(RESIDENT, ADDRESS, "door access fault", "door_access")
    new_leak = app.report_leak(NEIGHBOUR, ADDRESS, "ceiling drips", "0402")
    app.link_cases(new_repair, dispute, STAFF, "related")
    app.link_cases(new_leak, dispute, STAFF, "damage_dispute")
    app.confirm_resolution(dispute, RESIDENT)
    app.record_return_visit(dispute, OFFICER, "path clear, charging shed in use")
    app.close_case(dispute, OFFICER, "settled at the community")
    return [repair, leak, dispute, new_repair, new_leak]
