"""The skills on the supply list, and which skill (and which roles) each kind of work needs.

A kind of case names its skills and who is sent (`casework.kinds.Kind`); the service tasks'
skills are dispatch's own.

Skills are a closed vocabulary so that the rule can match them: a free-text "good with pipes"
would never match a plumbing repair. Chinese labels are for display.
"""

from __future__ import annotations

from collections.abc import Mapping

from casework.domain.actors import Role
from casework.domain.errors import ValidationError
from casework.kinds import kinds
from casework.kinds.builtin import LEAK_SKILL, REPAIR_SKILL
from casework.kinds.live import Live

__all__ = [
    "ALIASES",
    "DEMAND_SKILLS",
    "LEAK_SKILL",
    "REPAIR_SKILL",
    "ROLES_FOR",
    "SKILLS",
    "WORKER_ROLES",
    "check_skills",
    "skill_for_repair",
]

DEMAND_SKILL_LABELS: dict[str, str] = {
    "carrying": "搬运代购",
    "cleaning": "保洁",
    "tutoring": "课业辅导",
    "visiting": "探访陪伴",
    "escorting": "陪诊陪办",
}
"""The skills of residents' standing needs (service tasks), dispatch's own."""


def _skills() -> dict[str, str]:
    found: dict[str, str] = {}
    for kind in kinds():
        for skill, label in kind.skills.items():
            found.setdefault(skill, label)
    return {**found, **DEMAND_SKILL_LABELS}


SKILLS: Mapping[str, str] = Live(_skills)
"""Skill -> its label: the skills every registered kind names (`Kind.skills`; the library's
repair and leak name plumbing, electrical, lifts, ...) and the service tasks' own."""

DEMAND_SKILLS = frozenset(DEMAND_SKILL_LABELS)
"""What residents' standing needs (the demand list) can ask for."""

WORKER_ROLES = frozenset({Role.PROPERTY_STAFF, Role.PROPERTY_MANAGER, Role.VOLUNTEER})
"""Who can be on the roster at all: the casework domain assigns work to these roles only."""

ROLES_FOR: Mapping[str, frozenset[Role]] = Live(
    lambda: {
        **{kind.name: kind.workers for kind in kinds() if kind.assignable},
        "task": frozenset({Role.VOLUNTEER}),
    }
)
"""Who is sent to what, as each kind says (`Kind.workers`): a leak is an emergency with keys
and valves, so property staff only; a repair may go to staff or a party-member volunteer; a
resident's need goes to volunteers (群众点单、党员接单). The property manager runs the roster and
is sent nothing automatically."""


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
