"""Case files that walk every kind of case through every event it can record.

Not the article's stories: walks for tests that must see each event type at least once
(contracts, the relay, consumers) and for benchmarks that want realistic mixes. Stated as steps
like the stories, so they are told the same way (`casework.testing.stories` tells them in
process). Times are left to the teller's clock: a walk moves it only by `After` steps.
"""

from __future__ import annotations

from datetime import timedelta

from casework.domain.actors import Actor, Role
from casework.stories.steps import (
    Acknowledge,
    AddNote,
    AddReporter,
    After,
    Agree,
    ArriveOnSite,
    Assign,
    AttemptContact,
    Close,
    Commitment,
    Confirm,
    Convene,
    DeclineAssignment,
    Escalate,
    FinishWork,
    FollowUp,
    HoldRound,
    LinkCases,
    MediationFailed,
    Rate,
    RecordCause,
    Reopen,
    ReportDispute,
    ReportLeak,
    ReportRepair,
    Resolve,
    ReturnVisit,
    Seat,
    StartWork,
    Step,
    StopWater,
    Story,
)
from casework.stories.when import minutes

RESIDENT = Actor("resident-0302", Role.RESIDENT)
NEIGHBOUR = Actor("resident-0402", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
VOLUNTEER = Actor("volunteer-wang", Role.VOLUNTEER)
LEADER = Actor("leader-b12", Role.BUILDING_LEADER)
SECRETARY = Actor("secretary-zhao", Role.PARTY_SECRETARY)
OFFICER = Actor("officer-chen", Role.COMMUNITY_OFFICER)

ADDRESS = "jiayu-xx/wanxin-intl/b12/0302"


def repair(description: str = "corridor light out", case: str = "repair") -> Story:
    """Every repair event: report, second reporter, decline, escalate, reopen, rate, close."""
    steps: tuple[Step, ...] = (
        ReportRepair(case, RESIDENT, ADDRESS, description, "lighting", contact="13800030302"),
        minutes(5),
        AddReporter(case, NEIGHBOUR, "wechat", contact="13800040402"),
        Acknowledge(case, STAFF, "on it"),
        Assign(case, STAFF, VOLUNTEER, "electrician, lives in b12"),
        DeclineAssignment(case, VOLUNTEER, "away this week"),
        Escalate(case, STAFF, "no volunteer in the building this week"),
        Assign(case, STAFF, STAFF, "staff electrician"),
        minutes(5),
        StartWork(case, STAFF),
        FinishWork(case, STAFF, "replaced the fitting"),
        Resolve(case, STAFF, "light works"),
        Reopen(case, RESIDENT, "flickers again"),
        StartWork(case, STAFF),
        FinishWork(case, STAFF, "replaced the switch too"),
        Resolve(case, STAFF, "light and switch work"),
        Confirm(case, RESIDENT),
        Rate(case, RESIDENT, 5, "quick"),
        ReturnVisit(case, STAFF, "still fine a week later"),
        AddNote(case, STAFF, "fitting from stock"),
        Close(case, STAFF, "done"),
    )
    return Story("every repair event", steps, shows=(case,))


def leak(description: str = "water under the door", case: str = "leak") -> Story:
    """Every leak event: contact attempts until the owner is reached, water stopped, cause."""
    steps: tuple[Step, ...] = (
        ReportLeak(
            case,
            NEIGHBOUR,
            "jiayu-xx/wanxin-intl/b12/0401",
            description,
            "0402",
            source_unoccupied=True,
        ),
        AddReporter(case, RESIDENT, "phone", contact="13800030302"),
        AttemptContact(case, STAFF, "phone", "no_answer"),
        minutes(3),
        AttemptContact(case, STAFF, "phone", "reached", "owner on the way"),
        Acknowledge(case, STAFF),
        Assign(case, STAFF, VOLUNTEER, "plumber on duty"),
        DeclineAssignment(case, VOLUNTEER, "not at home"),
        Assign(case, STAFF, STAFF, "staff on site"),
        ArriveOnSite(case, STAFF),
        Escalate(case, STAFF, "owner delayed; riser valve needs the compound"),
        StopWater(case, STAFF, "riser_valve_shut"),
        RecordCause(
            case, STAFF, "valve left open by a renovation worker", "ceiling stain", ("0302",)
        ),
        Resolve(case, STAFF, "valve closed, owner informed"),
        Reopen(case, NEIGHBOUR, "still dripping"),
        Resolve(case, STAFF, "dripping stopped"),
        Confirm(case, NEIGHBOUR),
        Rate(case, NEIGHBOUR, 4),
        ReturnVisit(case, STAFF, "ceiling drying"),
        AddNote(case, STAFF, "renovation company warned"),
        Close(case, STAFF),
    )
    return Story("every leak event", steps, shows=(case,))


def dispute(description: str = "EV cables", case: str = "dispute") -> Story:
    """Every dispute event: rounds that fail, one that agrees, a follow-up, rating, close."""
    steps: tuple[Step, ...] = (
        ReportDispute(
            case,
            RESIDENT,
            "jiayu-xx/wanxin-intl",
            description,
            "ev_charging",
            ("resident-0302", "owner-7"),
        ),
        AddReporter(case, NEIGHBOUR, "talk_meeting"),
        Acknowledge(case, SECRETARY),
        Convene(
            case,
            "roundtable",
            SECRETARY,
            "roundtable",
            timedelta(days=2),
            "courtyard",
            (Seat("resident-0302", "resident"), Seat("staff-li", "property_staff")),
        ),
        After(timedelta(days=2)),
        HoldRound(case, "roundtable", SECRETARY, ("resident-0302",), "failed", note="no quorum"),
        MediationFailed(case, "roundtable", SECRETARY, "owner did not come"),
        Escalate(case, SECRETARY, "needs the community"),
        Convene(
            case,
            "council",
            OFFICER,
            "deliberation_council",
            timedelta(days=1),
            "community hall",
            (Seat("housing-bureau", "county_department_rep"),),
        ),
        HoldRound(
            case,
            "council",
            OFFICER,
            ("resident-0302", "owner-7"),
            "agreed",
            positions={"owner-7": "wants a shed"},
            proposals=("shed by gate 2",),
            options=("gate 2", "car park"),
            tally={"gate 2": 11, "car park": 4},
        ),
        Agree(
            case,
            "council",
            OFFICER,
            ("charging shed by gate 2",),
            (Commitment("staff-li", "build the shed", "2026-12-31"),),
            "11 of 15 voted for gate 2",
        ),
        Resolve(case, OFFICER, "agreed at the council"),
        FollowUp(case, OFFICER, 0, True, "shed built"),
        Confirm(case, RESIDENT),
        Rate(case, RESIDENT, 3, "took long"),
        ReturnVisit(case, OFFICER, "shed in use"),
        Reopen(case, RESIDENT, "cables still trail"),
        AddNote(case, OFFICER, "checked: one cable left"),
        Agree(
            case,
            "council",
            OFFICER,
            ("no cables across the path",),
            (Commitment("owner-7", "remove the cable", "2027-01-07"),),
        ),
        FollowUp(case, OFFICER, 0, True, "cable removed"),
        Resolve(case, OFFICER, "no cables left"),
    )
    return Story("every dispute event", steps, shows=(case,))


def every() -> Story:
    """One case of each kind through every event it can record, and two more to link to.

    (A dispute is mediated, never assigned: its Assigned/AssignmentDeclined never occur.)
    """
    steps: tuple[Step, ...] = (
        *repair().steps,
        *leak().steps,
        *dispute().steps,
        ReportRepair("new repair", RESIDENT, ADDRESS, "door access fault", "door_access"),
        ReportLeak("new leak", NEIGHBOUR, ADDRESS, "ceiling drips", "0402"),
        LinkCases("new repair", "dispute", STAFF, "related"),
        LinkCases("new leak", "dispute", STAFF, "damage_dispute"),
        Confirm("dispute", RESIDENT),
        ReturnVisit("dispute", OFFICER, "path clear, charging shed in use"),
        Close("dispute", OFFICER, "settled at the community"),
    )
    return Story(
        "every event of every kind",
        steps,
        shows=("repair", "leak", "dispute", "new repair", "new leak"),
    )
