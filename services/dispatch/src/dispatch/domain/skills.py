"""The skills on the supply list, and which skill (and which roles) each kind of work needs.

Skills are a closed vocabulary so that the rule can match them: a free-text "good with pipes"
would never match a plumbing repair. Chinese labels are for display.
"""

from __future__ import annotations

from casework.domain.actors import Role
from casework.domain.errors import ValidationError

SKILLS: dict[str, str] = {
    "plumbing": "水暖",
    "electrical": "电工",
    "appliances": "家电维修",
    "lifts": "电梯",
    "door_access": "门禁",
    "building_repairs": "房屋修缮",
    "general_repairs": "综合维修",
    "carrying": "搬运代购",
    "cleaning": "保洁",
    "tutoring": "课业辅导",
    "visiting": "探访陪伴",
    "escorting": "陪诊陪办",
}

REPAIR_SKILL: dict[str, str] = {
    "plumbing": "plumbing",
    "electrical": "electrical",
    "lighting": "electrical",
    "appliance": "appliances",
    "lift": "lifts",
    "door_access": "door_access",
    "roof": "building_repairs",
    "other": "general_repairs",
}
"""A repair's category (casework.domain.repair.REPAIR_CATEGORIES) -> the skill it needs."""

LEAK_SKILL = "plumbing"

DEMAND_SKILLS = frozenset({"carrying", "cleaning", "tutoring", "visiting", "escorting"})
"""What residents' standing needs (the demand list) can ask for."""

WORKER_ROLES = frozenset({Role.PROPERTY_STAFF, Role.PROPERTY_MANAGER, Role.VOLUNTEER})
"""Who can be on the roster at all: the casework domain assigns work to these roles only."""

ROLES_FOR: dict[str, frozenset[Role]] = {
    "repair": frozenset({Role.PROPERTY_STAFF, Role.VOLUNTEER}),
    "leak": frozenset({Role.PROPERTY_STAFF}),
    "task": frozenset({Role.VOLUNTEER}),
}
"""Who is sent to what: a leak is an emergency with keys and valves, so property staff only; a
repair may go to staff or a party-member volunteer; a resident's need goes to volunteers
(群众点单、党员接单). The property manager runs the roster and is sent nothing automatically."""


ALIASES: dict[str, str] = {
    category: skill for category, skill in REPAIR_SKILL.items() if category != skill
}
"""A repair category names the skill it needs ("appliance" -> appliances), so a manager may
write either; the roster stores the skill."""


def check_skills(skills: list[str] | tuple[str, ...] | frozenset[str]) -> tuple[str, ...]:
    """Sorted, de-duplicated, each from the vocabulary (or a repair category); at least one."""
    skills = [ALIASES.get(s.strip().lower(), s.strip().lower()) for s in skills]
    unknown = sorted(set(skills) - set(SKILLS))
    if unknown:
        raise ValidationError(
            f"unknown skill(s) {', '.join(unknown)}; skills are: {', '.join(SKILLS)}"
        )
    if not skills:
        raise ValidationError("name at least one skill, e.g. plumbing or carrying")
    return tuple(sorted(set(skills)))


def skill_for_repair(category: str) -> str:
    return REPAIR_SKILL.get(category, "general_repairs")
