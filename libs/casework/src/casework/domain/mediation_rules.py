"""The rule tables of mediation: which meetings each tier holds, who mediates and heads it,
which matters each tier may decide, what a county department is, and when a commitment is due.

Data the `Dispute` aggregate checks its commands against, kept apart so a reader finds the rules
in one place and the aggregate holds only what happened.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from casework.domain.actors import Role
from casework.domain.errors import ValidationError
from casework.domain.ladder import LOCAL_TIME
from casework.domain.places import Address, Tier
from casework.domain.windows import COMMITMENT_DUE

DISPUTE_CATEGORIES = (
    "noise",
    "parking",
    "ev_charging",
    "flying_cables",
    "leak_between_flats",
    "green_space",
    "fees",
    "road_and_gates",
    "other",
)

SHARED_AREA_CATEGORIES = frozenset(
    {"parking", "ev_charging", "flying_cables", "green_space", "fees", "road_and_gates"}
)

MEETING_FORMS: dict[str, tuple[str, frozenset[Tier]]] = {
    "building_talk": ("楼栋协商", frozenset({Tier.BUILDING})),
    "door_to_door": ("进户宣传", frozenset({Tier.BUILDING, Tier.COMPOUND})),
    "evening_courtyard_talk": ("星空夜话", frozenset({Tier.BUILDING, Tier.COMPOUND})),
    "residents_talk_meeting": ("民情恳谈会", frozenset({Tier.COMPOUND, Tier.COMMUNITY})),
    "roundtable": ("圆桌会议", frozenset({Tier.COMPOUND, Tier.COMMUNITY})),
    "opinion_collection": ("意见征集", frozenset({Tier.COMPOUND, Tier.COMMUNITY})),
    "deliberation_council": ("党群议事会", frozenset({Tier.COMMUNITY})),
}

ROUND_OUTCOMES = ("progress", "failed", "agreed")
OPEN_COMMITMENT = frozenset({"pending", "due"})
"""Commitment statuses still waiting for a follow-up (kept or broken)."""

COUNTY_DEPARTMENTS: dict[str, str] = {
    "housing-bureau": "县住建局",
    "fire-brigade": "县消防大队",
    "development-reform-bureau": "县发改局",
    "public-security-bureau": "县公安局",
    "urban-management-bureau": "县城管局",
    "natural-resources-bureau": "县自然资源局",
    "market-regulation-bureau": "县市场监管局",
    "civil-affairs-bureau": "县民政局",
}
"""County departments (县直部门) a deliberation council can seat. A county representative takes
part as `<department>` or `<department>:<person>`, so the case file names the department."""

COUNTY_SEAT_FORMS = frozenset({"deliberation_council"})
"""Only the party-residents deliberation council (党群议事会) seats county departments."""

CONVENERS: dict[Tier, frozenset[Role]] = {
    Tier.BUILDING: frozenset(
        {Role.BUILDING_LEADER, Role.PARTY_SECRETARY, Role.OWNERS_COMMITTEE, Role.PROPERTY_MANAGER}
    ),
    Tier.COMPOUND: frozenset(
        {Role.PARTY_SECRETARY, Role.OWNERS_COMMITTEE, Role.PROPERTY_MANAGER, Role.COMMUNITY_OFFICER}
    ),
    Tier.COMMUNITY: frozenset({Role.COMMUNITY_OFFICER, Role.PARTY_SECRETARY}),
}
"""Who mediates at each tier: the building leader in the building (the compound's trinity may
step in), the trinity at the compound (the community officer may sit in), the community at the
community, where the compound's party branch may lead, as in the article's gate case."""

TIER_HEADS: dict[Tier, Role] = {
    Tier.BUILDING: Role.BUILDING_LEADER,
    Tier.COMPOUND: Role.PARTY_SECRETARY,
    Tier.COMMUNITY: Role.COMMUNITY_OFFICER,
}
"""Who heads mediation at each tier, and so may name which of the tier's mediators leads a
dispute there: the building leader (楼栋长), the compound's party branch secretary (who often
chairs the owners' committee too, 一肩挑), the community officer (社区干部). Anyone in `CONVENERS`
for the tier may take the lead themself."""

MATTERS: dict[str, tuple[str, Tier]] = {
    "household_terms": ("住户间的赔偿与约定 terms between households", Tier.BUILDING),
    "shared_space_use": (
        "公共空间的使用 use of the compound's shared spaces (parking, sheds, green space)",
        Tier.COMPOUND,
    ),
    "property_fees": ("物业收费 property fees", Tier.COMPOUND),
    "compound_funds": ("维修资金与公共收益 the compound's maintenance fund", Tier.COMPOUND),
    "gates_and_traffic": (
        "出入口与交通组织 gates and traffic through the compound",
        Tier.COMMUNITY,
    ),
    "fire_lanes": ("消防通道 fire lanes", Tier.COMMUNITY),
    "building_works": ("需审批的建设 works that need county approval", Tier.COMMUNITY),
    "public_funds": ("财政资金 public funds", Tier.COMMUNITY),
}
"""Matters and the lowest tier with the power to decide them. A matter above a tier's powers is
a ground to escalate (one rung at a time, however high the matter goes)."""

OPEN_FORMS = frozenset(
    {"residents_talk_meeting", "evening_courtyard_talk", "opinion_collection", "door_to_door"}
)
"""Forms open to every resident who comes (a talk meeting, an evening in the courtyard) or whose
"attendees" are the residents consulted (door to door, a survey): nobody is invited by name, so
attendance is not checked against the participants. The others (building talk, roundtable,
deliberation council) seat the people invited; see `Dispute.check_attendance`."""

ESCALATION_GROUNDS = ("failed_rounds", "deadline_passed", "outside_powers", "other")
"""Why a mediator sends a dispute up a rung; each but `other` is checked against the case file."""


def county_department(participant_id: str) -> str | None:
    """The department code of a county representative's participant id, if it names one."""
    code = participant_id.split(":", 1)[0]
    return code if code in COUNTY_DEPARTMENTS else None


def commitment_due_at(due: str) -> datetime:
    """When a commitment falls due: a date means the end of that day, local time (so a
    commitment due "2021-04-06" is checked back from midnight that night); a time without a
    zone is local; a time with a zone is itself."""
    moment = datetime.fromisoformat(due)
    if "T" not in due and " " not in due.strip():
        return datetime.combine(moment.date(), time(), LOCAL_TIME) + timedelta(days=1)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL_TIME)


def check_commitment_due(due: str, now: datetime) -> str:
    """`due` if it is an ISO date or time inside `COMMITMENT_DUE` around `now`; else refused."""
    try:
        moment = commitment_due_at(due)
    except (ValueError, OverflowError):
        raise ValidationError(f"commitment due date {due!r} is not an ISO date") from None
    COMMITMENT_DUE.check(moment, now)
    return due


def starting_tier(category: str, address: Address, *, needs_county: bool = False) -> Tier:
    """微事不出楼栋、小事不出小区、大事不出社区, as a default rule intake may refine."""
    if needs_county:
        return Tier.COMMUNITY
    if category in SHARED_AREA_CATEGORIES or address.building is None:
        return Tier.COMPOUND
    return Tier.BUILDING
