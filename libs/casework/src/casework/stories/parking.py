"""(私占车位·微事不出楼栋) 万鑫国际 building 12: a neighbour's car in 0302's private space every
night, settled in one evening's building talk, never leaving the building."""

from __future__ import annotations

from datetime import datetime

from casework.domain.actors import Actor, Role
from casework.stories.steps import (
    Agree,
    At,
    AwaitWorklist,
    Commitment,
    Confirm,
    Convene,
    HoldRound,
    Rate,
    ReportDispute,
    Resolve,
    Seat,
    Story,
)
from casework.stories.when import CHINA, hours, minutes

WANXIN = "jiayu-xx/wanxin-intl"
RESIDENT = Actor("resident-b12-0302", Role.RESIDENT)
NEIGHBOUR = Actor("resident-b12-0501", Role.RESIDENT)
LEADER = Actor("building-leader-b12", Role.BUILDING_LEADER)
TALK_AT = datetime(2021, 4, 13, 19, 30, tzinfo=CHINA)

STORY = Story(
    "a parking dispute settled in the building (私占车位·微事不出楼栋)",
    (
        At(datetime(2021, 4, 12, 20, 0, tzinfo=CHINA)),
        # between two households of one building: not the compound's shared parking
        # (category `parking` always starts at the compound), so it starts in the building
        ReportDispute(
            "parking",
            RESIDENT,
            f"{WANXIN}/b12/0302",
            "私占车位：楼上0501的车天天停在我家的私家车位上 — the car of 0501 upstairs is "
            "parked in our private parking space every night",
            "other",
            (RESIDENT.id, NEIGHBOUR.id),
            channel="walk_in",
            contact="13812120302",
        ),
        AwaitWorklist("parking", LEADER),
        minutes(30),
        Convene(
            "parking",
            "talk",
            LEADER,
            "building_talk",
            TALK_AT,
            "building 12 ground-floor lobby",
            (Seat.of(LEADER), Seat.of(RESIDENT), Seat.of(NEIGHBOUR)),
        ),
        At(TALK_AT),
        HoldRound(
            "parking",
            "talk",
            LEADER,
            (LEADER.id, RESIDENT.id, NEIGHBOUR.id),
            "agreed",
            positions={
                RESIDENT.id: "wants the space back",
                NEIGHBOUR.id: "had nowhere else to park after 10 pm",
            },
            proposals=("0501 parks in the visitors' row after 10 pm",),
            note="settled in one evening in the lobby",
        ),
        minutes(30),
        Agree(
            "parking",
            "talk",
            LEADER,
            (
                "0501 no longer parks in 0302's space",
                "after 10 pm 0501 uses the visitors' row",
            ),
            (Commitment(NEIGHBOUR.id, "keep out of 0302's space", "2021-04-20"),),
            "both households agreed at the building talk",
        ),
        minutes(5),
        Resolve("parking", LEADER, "settled within the building"),
        hours(14),
        Confirm("parking", RESIDENT),
        Rate("parking", RESIDENT, 5),
    ),
    shows=("parking",),
    places={LEADER.id: f"{WANXIN}/b12"},
)
