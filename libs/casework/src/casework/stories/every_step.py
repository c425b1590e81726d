"""Two walks that take, with the article's stories, every step of the vocabulary, each in a way
both tellers take: the library in process, and the running services over HTTP.

Not the article's stories (`casework demo` tells those) and not `every_event` (its walks reach
every event, some of them in ways only the library takes: a second reporter of a repair, a note
on a dispute). These are the steps the stories do not take, put where the services take them:
a repair the rule sends a volunteer, declined, escalated by hand and sent to a staff member from
the queue, reopened and done again; a leak reported twice, with a note and a link to the
dispute about its damage, which fails its first round and is escalated. They are told in process
by libs/casework/tests/test_stories.py and to the stack by
libs/casework-stack/tests/test_every_step_over_http.py.

The roster matters only over the services: the volunteer is the building's electrician (the
rule sends them), the staff member a plumber (the rule never sends them to a light, so after the
decline the repair waits in the queue until the manager sends them by hand).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from casework.domain.actors import Actor, Role
from casework.stories.steps import (
    AcceptTask,
    Acknowledge,
    AddNote,
    AddReporter,
    After,
    ArriveOnSite,
    Assign,
    At,
    AttemptContact,
    AwaitWorklist,
    Close,
    Confirm,
    Convene,
    DeclineAssignment,
    Escalate,
    FinishWork,
    HoldRound,
    LinkCases,
    Match,
    MediationFailed,
    PutOnRoster,
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
    StopWater,
    Story,
)
from casework.stories.when import CHINA, minutes

WANXIN = "jiayu-xx/wanxin-intl"
JIATING = "jiayu-xx/jiating"

RESIDENT = Actor("resident-b7-0301", Role.RESIDENT)
MANAGER = Actor("property-manager-wanxin", Role.PROPERTY_MANAGER)
STAFF = Actor("property-staff-wu", Role.PROPERTY_STAFF)
VOLUNTEER = Actor("volunteer-he", Role.VOLUNTEER)

LIGHT = Story(
    "a corridor light handed round",
    (
        At(datetime(2026, 3, 2, 9, 0, tzinfo=CHINA)),
        PutOnRoster(MANAGER, VOLUNTEER, ("electrical",), (f"{WANXIN}/b7",)),
        PutOnRoster(MANAGER, STAFF, ("plumbing",), (WANXIN,)),
        ReportRepair(
            "light",
            RESIDENT,
            f"{WANXIN}/b7/0301",
            "corridor light out on the third floor",
            "lighting",
            contact="13870030301",
        ),
        Match("light", MANAGER, VOLUNTEER, "electrician, lives in building 7"),
        minutes(20),
        DeclineAssignment("light", VOLUNTEER, "away this week"),
        Escalate("light", MANAGER, "no electrician free in building 7 this week"),
        Acknowledge("light", MANAGER, "the compound's property office takes it over"),
        Assign("light", MANAGER, STAFF, "staff plumber; can change a fitting"),
        AcceptTask("light", STAFF),
        minutes(30),
        StartWork("light", STAFF),
        FinishWork("light", STAFF, "replaced the fitting"),
        Resolve("light", STAFF, "the light works"),
        minutes(60 * 20),
        Reopen("light", RESIDENT, "it flickers again"),
        StartWork("light", STAFF),
        FinishWork("light", STAFF, "replaced the switch too"),
        Resolve("light", STAFF, "light and switch work"),
        Confirm("light", RESIDENT),
        Rate("light", RESIDENT, 4, "took two visits"),
        ReturnVisit("light", STAFF, "still fine a week later"),
        AddNote("light", STAFF, "fitting and switch from the stores"),
        Close("light", MANAGER, "confirmed and visited back"),
    ),
    shows=("light",),
    places={MANAGER.id: WANXIN, STAFF.id: WANXIN, VOLUNTEER.id: f"{WANXIN}/b7"},
)

BELOW = Actor("resident-b6-0501", Role.RESIDENT)
NEXT_DOOR = Actor("resident-b6-0502", Role.RESIDENT)
JIATING_MANAGER = Actor("property-manager-jiating", Role.PROPERTY_MANAGER)
PLUMBER = Actor("property-staff-gao", Role.PROPERTY_STAFF)
LEADER = Actor("building-leader-b6", Role.BUILDING_LEADER)
OWNER = "owner-b6-0601"

CEILING = Story(
    "a leak reported twice, and the row about the ceiling",
    (
        At(datetime(2026, 3, 3, 20, 0, tzinfo=CHINA)),
        PutOnRoster(JIATING_MANAGER, PLUMBER, ("plumbing",), (JIATING,)),
        ReportLeak(
            "leak",
            BELOW,
            f"{JIATING}/b6/0501",
            "water dripping through the bathroom ceiling from 0601",
            "0601",
            contact="13906060501",
        ),
        Match("leak", JIATING_MANAGER, PLUMBER, "the compound's plumber on duty"),
        minutes(2),
        AddReporter("leak", NEXT_DOOR, "wechat", contact="13906060502"),
        AcceptTask("leak", PLUMBER),
        AttemptContact("leak", PLUMBER, "phone", "reached", "the owner is coming home"),
        minutes(10),
        ArriveOnSite("leak", PLUMBER),
        StopWater("leak", PLUMBER, "owner_closed_valve"),
        RecordCause(
            "leak",
            PLUMBER,
            "a cracked pipe under 0601's bath",
            "bathroom ceiling stained",
            ("0501",),
        ),
        AddNote("leak", PLUMBER, "the owner asked for the plumber's number"),
        minutes(30),
        ReportDispute(
            "ceiling",
            BELOW,
            f"{JIATING}/b6/0501",
            "0601 will not pay to repaint our bathroom ceiling",
            "other",
            (BELOW.id, OWNER),
        ),
        LinkCases("leak", "ceiling", PLUMBER, "related"),
        Resolve("leak", PLUMBER, "pipe clamped; the owner will have it replaced"),
        Confirm("leak", BELOW),
        AwaitWorklist("ceiling", LEADER),
        Acknowledge("ceiling", LEADER, "the building takes it up"),
        Convene(
            "ceiling",
            "talk",
            LEADER,
            "building_talk",
            timedelta(days=1),
            "building 6 lobby",
            (Seat.of(LEADER), Seat.of(BELOW), Seat(OWNER, "resident")),
        ),
        After(timedelta(days=1)),
        HoldRound(
            "ceiling", "talk", LEADER, (LEADER.id, BELOW.id, OWNER), "failed", note="0601 left"
        ),
        MediationFailed("ceiling", "talk", LEADER, "0601 left the talk"),
        Escalate("ceiling", LEADER, "0601 will not talk in the building"),
    ),
    shows=("leak", "ceiling"),
    places={JIATING_MANAGER.id: JIATING, PLUMBER.id: JIATING, LEADER.id: f"{JIATING}/b6"},
)

WALKS: tuple[Story, ...] = (LIGHT, CEILING)
"""The walks, in the order the tests tell them."""
