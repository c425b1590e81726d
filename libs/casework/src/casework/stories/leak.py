"""(装修房漏水) 嘉庭小区 building 3: water under the door of 0502, being renovated, nobody living
there. The leak goes to the property's staff on the roster, the owner is called until reached
(the compound takes over when he is not reached in time), the water is stopped, and the damage
below becomes a dispute settled in the building (微事不出楼栋)."""

from __future__ import annotations

from datetime import datetime

from casework.domain.actors import Actor, Role
from casework.stories.steps import (
    AcceptTask,
    Agree,
    ArriveOnSite,
    At,
    AttemptContact,
    AwaitFindings,
    AwaitWorklist,
    Close,
    Commitment,
    Confirm,
    Convene,
    FollowUp,
    HoldRound,
    Match,
    OpenDamageDispute,
    PutOnRoster,
    Rate,
    RecordCause,
    ReportLeak,
    Resolve,
    ReturnVisit,
    SchedulerTick,
    Seat,
    StopWater,
    Story,
)
from casework.stories.when import CHINA, minutes

NEIGHBOUR = Actor("resident-b3-0501", Role.RESIDENT)
BELOW = Actor("resident-b3-0402", Role.RESIDENT)
STAFF = Actor("property-staff-liu", Role.PROPERTY_STAFF)
MANAGER = Actor("property-manager-jiating", Role.PROPERTY_MANAGER)
LEADER = Actor("building-leader-b3", Role.BUILDING_LEADER)
OWNER = "owner-b3-0502"
JIATING = "jiayu-xx/jiating"
TALK_AT = datetime(2021, 3, 3, 19, 0, tzinfo=CHINA)

STORY = Story(
    "the leak from the flat under renovation (装修房漏水)",
    (
        At(datetime(2021, 3, 1, 8, 0, tzinfo=CHINA)),
        PutOnRoster(MANAGER, STAFF, ("plumbing", "general_repairs"), (JIATING,)),
        At(datetime(2021, 3, 1, 19, 40, tzinfo=CHINA)),
        ReportLeak(
            "leak",
            NEIGHBOUR,
            f"{JIATING}/b3/0501",
            "对门0502在装修没人住，水从门缝里渗出来 — water seeping out under the door of 0502 "
            "opposite; it is being renovated and nobody lives there yet, so nobody inside will "
            "notice",
            "0502",
            source_unoccupied=True,
            channel="wechat",
            contact="13852610501",
        ),
        Match("leak", MANAGER, STAFF, "on duty for the compound's plumbing tonight"),
        minutes(1),
        AcceptTask("leak", STAFF),
        minutes(1),
        AttemptContact("leak", STAFF, "phone", "no_answer", "owner's number on file"),
        minutes(3),
        AttemptContact("leak", STAFF, "wechat", "message_left", "sent photos of the water"),
        minutes(3),
        ArriveOnSite("leak", STAFF),
        minutes(4),
        SchedulerTick("leak"),
        minutes(1),
        AttemptContact("leak", STAFF, "via_agent", "no_answer", "renovation foreman"),
        minutes(3),
        SchedulerTick("leak"),  # 16 minutes and the owner not reached: up to the compound
        minutes(2),
        AttemptContact(
            "leak", STAFF, "phone", "reached", "owner answered the third call; on his way"
        ),
        minutes(22),
        StopWater(
            "leak",
            STAFF,
            "owner_closed_valve",
            "owner opened the flat and closed the kitchen valve",
        ),
        minutes(5),
        RecordCause(
            "leak",
            STAFF,
            "the renovation worker had left the water-supply valve open after work",
            "water came through the floor: stained kitchen ceiling and a soaked cabinet in 0402",
            ("0402",),
        ),
        minutes(15),
        OpenDamageDispute(
            "damage",
            "leak",
            STAFF,
            f"{JIATING}/b3/0402",
            "楼上装修漏水，厨房天花板被泡 — water from the renovation in 0502 came through the "
            "kitchen ceiling of 0402; who pays for repainting it and for the cabinet?",
            (BELOW.id, OWNER),
        ),
        AwaitFindings("damage"),
        minutes(10),
        Resolve(
            "leak",
            STAFF,
            "water stopped 40 minutes after the report; the renovation company now shuts the "
            "main valve every evening",
        ),
        At(datetime(2021, 3, 2, 8, 30, tzinfo=CHINA)),
        Confirm("leak", NEIGHBOUR),
        minutes(1),
        Rate("leak", NEIGHBOUR, 5, "the property office acted at once"),
        minutes(90),
        ReturnVisit("leak", STAFF, "called 0501 and the owner of 0502: no more water"),
        minutes(5),
        Close("leak", STAFF, "confirmed and visited back"),
        # The damage dispute stays in the building: 微事不出楼栋.
        AwaitWorklist("damage", LEADER),
        minutes(20),
        Convene(
            "damage",
            "talk",
            LEADER,
            "building_talk",
            TALK_AT,
            "building 3 ground-floor lobby",
            (
                Seat.of(LEADER),
                Seat.of(BELOW),
                Seat(OWNER, "resident"),
                Seat.of(STAFF),
            ),
        ),
        At(TALK_AT),
        HoldRound(
            "damage",
            "talk",
            LEADER,
            (LEADER.id, BELOW.id, OWNER, STAFF.id),
            "agreed",
            positions={
                BELOW.id: "wants the ceiling repainted and the cabinet replaced",
                OWNER: "accepts; his renovation company will do the painting",
            },
            proposals=("renovation company repaints the ceiling", "owner pays for the cabinet"),
            note="settled in one evening in the lobby",
        ),
        minutes(40),
        Agree(
            "damage",
            "talk",
            LEADER,
            (
                "the owner of 0502 has his renovation company repaint the kitchen ceiling of 0402",
                "the owner of 0502 pays 800 yuan towards a new cabinet",
            ),
            (
                Commitment(OWNER, "repaint the kitchen ceiling of 0402", "2021-03-07"),
                Commitment(OWNER, "pay 800 yuan for the cabinet", "2021-03-05"),
            ),
            "both households agreed at the building talk",
        ),
        At(datetime(2021, 3, 5, 18, 0, tzinfo=CHINA)),
        FollowUp("damage", LEADER, 1, True, "paid by WeChat transfer"),
        At(datetime(2021, 3, 7, 17, 0, tzinfo=CHINA)),
        FollowUp("damage", LEADER, 0, True, "ceiling repainted; 0402 satisfied"),
        minutes(10),
        Resolve("damage", LEADER, "damage repaired and paid for as agreed, within the building"),
    ),
    shows=("leak", "damage"),
    places={MANAGER.id: JIATING, STAFF.id: JIATING, LEADER.id: f"{JIATING}/b3"},
)
