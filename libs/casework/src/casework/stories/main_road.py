"""(主干道拥堵·南门只进不出) 万鑫国际: the main road blocked by parked cars. The party secretary
takes the lead in the compound and asks building 12's leader to the residents' talk; the talk
fails, the case climbs to the community on the grounds that the gates are outside the
compound's powers, and a deliberation council with the county's housing bureau, fire brigade
and DRC decides, after asking the households, that the south gate is entry-only (大事不出社区)."""

from __future__ import annotations

from datetime import datetime

from casework.domain.actors import Actor, Role
from casework.stories.steps import (
    Agree,
    At,
    AwaitWorklist,
    Close,
    Commitment,
    Confirm,
    Convene,
    EscalateOnGrounds,
    FollowUp,
    HoldRound,
    Invite,
    ReportDispute,
    Resolve,
    ReturnVisit,
    Seat,
    Story,
    TakeLead,
)
from casework.stories.when import CHINA, hours, minutes

RESIDENT = Actor("resident-wanxin-b12-0302", Role.RESIDENT)
SECRETARY = Actor("party-secretary-wanxin", Role.PARTY_SECRETARY)
COMMITTEE = Actor("owners-committee-wanxin", Role.OWNERS_COMMITTEE)
MANAGER = Actor("property-manager-wanxin", Role.PROPERTY_MANAGER)
OFFICER = Actor("community-officer-jiayu-xx", Role.COMMUNITY_OFFICER)
LEADER = Actor("building-leader-b12", Role.BUILDING_LEADER)
WANXIN = "jiayu-xx/wanxin-intl"
HOUSING, FIRE, DRC = "housing-bureau", "fire-brigade", "development-reform-bureau"
COUNTY = tuple(Seat(d, "county_department_rep") for d in (HOUSING, FIRE, DRC))
COUNCIL = (OFFICER.id, SECRETARY.id, COMMITTEE.id, MANAGER.id, HOUSING, FIRE, DRC)
TALK_AT = datetime(2021, 3, 18, 19, 30, tzinfo=CHINA)
COUNCIL_AT = datetime(2021, 3, 24, 9, 30, tzinfo=CHINA)
OPTIONS = ("south gate entry-only", "keep every gate two-way")


def seats(*people: Actor) -> tuple[Seat, ...]:
    return tuple(Seat.of(p) for p in people)


STORY = Story(
    "the blocked main road and the south gate (主干道拥堵·南门只进不出)",
    (
        At(datetime(2021, 3, 15, 9, 0, tzinfo=CHINA)),
        ReportDispute(
            "road",
            RESIDENT,
            "jiayu-xx/wanxin-intl",
            "cars parked along the main road block it; cars get scraped, a child was grazed "
            "last week, neighbours quarrel every morning",
            "road_and_gates",
            ("residents parking on the main road", "residents driving through"),
            channel="walk_in",
            contact="13912020302",
        ),
        AwaitWorklist("road", SECRETARY),
        hours(1),
        TakeLead(
            "road",
            SECRETARY,
            "the main road is the compound's to keep clear; I chair the committee",
        ),
        minutes(5),
        Convene(
            "road",
            "talk",
            SECRETARY,
            "residents_talk_meeting",
            TALK_AT,
            "Wanxin International clubhouse",
            seats(SECRETARY, COMMITTEE, MANAGER, RESIDENT),
        ),
        minutes(5),
        Invite(
            "road",
            "talk",
            SECRETARY,
            (Seat.of(LEADER),),
            "the cars park outside building 12; its building leader knows the drivers",
        ),
        At(TALK_AT),
        HoldRound(
            "road",
            "talk",
            SECRETARY,
            (SECRETARY.id, COMMITTEE.id, MANAGER.id, RESIDENT.id, LEADER.id),
            "failed",
            positions={
                "drivers parking on the road": "there are not enough spaces; nowhere else to park",
                "drivers passing through": "the road must be kept clear",
            },
            proposals=("ban parking on the main road", "change how the gates are used"),
            note="no agreement: a parking ban alone moves the cars to the gates, and changing "
            "the gates needs the county",
        ),
        At(datetime(2021, 3, 19, 9, 0, tzinfo=CHINA)),
        EscalateOnGrounds(
            "road",
            SECRETARY,
            "outside_powers",
            "the gates and the fire lane are beyond the compound's powers; county departments "
            "needed",
            "gates_and_traffic",
        ),
        hours(1),
        TakeLead("road", OFFICER, "the gates are the community's to decide; I chair the council"),
        hours(1),
        Convene(
            "road",
            "council",
            OFFICER,
            "deliberation_council",
            COUNCIL_AT,
            "community service centre",
            seats(OFFICER, SECRETARY, COMMITTEE, MANAGER) + COUNTY,
        ),
        At(COUNCIL_AT),
        HoldRound(
            "road",
            "council",
            OFFICER,
            COUNCIL,
            "progress",
            positions={
                HOUSING: "an entry-only gate needs no building works",
                FIRE: "the main road is a fire lane and must stay clear",
                DRC: "no funds to widen the road this year",
            },
            proposals=(
                "south gate by the bus stop and Nanjia middle school entry-only; "
                "everyone leaves by the east and west gates",
                "widen the main road",
            ),
            note="ask the residents before deciding",
        ),
        hours(2),
        Convene(
            "road",
            "survey",
            OFFICER,
            "opinion_collection",
            datetime(2021, 3, 25, 9, 0, tzinfo=CHINA),
            "door to door and the owners' WeChat group",
            seats(OFFICER, COMMITTEE),
        ),
        At(datetime(2021, 3, 30, 18, 0, tzinfo=CHINA)),
        HoldRound(
            "road",
            "survey",
            OFFICER,
            (OFFICER.id, COMMITTEE.id),
            "progress",
            options=OPTIONS,
            tally={OPTIONS[0]: 1093, OPTIONS[1]: 187},
            note="opinions from 1,280 of 1,650 households",
        ),
        At(datetime(2021, 4, 2, 9, 30, tzinfo=CHINA)),
        HoldRound(
            "road",
            "council",
            OFFICER,
            COUNCIL,
            "agreed",
            note="the council decides for the south gate entry-only",
        ),
        hours(1),
        Agree(
            "road",
            "council",
            OFFICER,
            (
                "the south gate, by the bus stop and Nanjia middle school, is entry-only",
                "everyone leaves by the east and west gates",
                "no parking on the main road: it is kept clear as a fire lane",
            ),
            (
                Commitment(HOUSING, "approve the new traffic plan", "2021-04-06"),
                Commitment(MANAGER.id, "fit an entry-only barrier and signs", "2021-04-10"),
                Commitment(FIRE, "inspect the main road as a fire lane", "2021-04-20"),
            ),
            "opinion collection: 1,093 households for, 187 against",
        ),
        At(datetime(2021, 4, 6, 16, 0, tzinfo=CHINA)),
        FollowUp("road", OFFICER, 0, True, "traffic plan approved"),
        At(datetime(2021, 4, 10, 17, 0, tzinfo=CHINA)),
        FollowUp("road", OFFICER, 1, True, "barrier and signs in place"),
        hours(16),
        Resolve(
            "road",
            OFFICER,
            "south gate entry-only; exits by the east and west gates; main road clear",
        ),
        At(datetime(2021, 4, 20, 11, 0, tzinfo=CHINA)),
        FollowUp("road", OFFICER, 2, True, "fire lane inspected: clear"),
        hours(3),
        Confirm("road", RESIDENT),
        hours(24),
        ReturnVisit(
            "road",
            OFFICER,
            "walked the main road at the morning rush: clear, cars enter by the south gate",
        ),
        minutes(5),
        Close("road", OFFICER),
    ),
    shows=("road",),
    places={
        SECRETARY.id: WANXIN,
        COMMITTEE.id: WANXIN,
        MANAGER.id: WANXIN,
        OFFICER.id: "jiayu-xx",
        LEADER.id: f"{WANXIN}/b12",
    },
)
