"""Who acts, in which role, and what each role may do.

Every fact names its actor and role, so a permission check belongs in the domain: a command an
actor's role may not perform is refused before anything is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from casework.domain.errors import NotPermittedError, ValidationError


class Role(StrEnum):
    RESIDENT = "resident"
    BUILDING_LEADER = "building_leader"
    PROPERTY_STAFF = "property_staff"
    PROPERTY_MANAGER = "property_manager"
    VOLUNTEER = "volunteer"
    PARTY_SECRETARY = "party_secretary"
    OWNERS_COMMITTEE = "owners_committee_member"
    COMMUNITY_OFFICER = "community_officer"
    COUNTY_REPRESENTATIVE = "county_department_rep"
    AUDITOR = "auditor"
    DATA_PROTECTION_OFFICER = "data_protection_officer"
    SYSTEM = "system"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.RESIDENT: "居民",
    Role.BUILDING_LEADER: "楼栋长",
    Role.PROPERTY_STAFF: "物业人员",
    Role.PROPERTY_MANAGER: "物业经理",
    Role.VOLUNTEER: "志愿者",
    Role.PARTY_SECRETARY: "小区党支部书记",
    Role.OWNERS_COMMITTEE: "业委会委员",
    Role.COMMUNITY_OFFICER: "社区干部",
    Role.COUNTY_REPRESENTATIVE: "县直部门代表",
    Role.AUDITOR: "审计员",
    Role.DATA_PROTECTION_OFFICER: "个人信息保护负责人",
    Role.SYSTEM: "系统",
}


@dataclass(frozen=True)
class Actor:
    """An id and a role. Contact details never travel with an actor: events carry these two only."""

    id: str
    role: Role

    def __post_init__(self) -> None:
        if not self.id or len(self.id) > 128 or not self.id.isprintable():
            raise ValidationError("an actor id must be 1-128 printable characters")
        if not isinstance(self.role, Role):
            raise ValidationError(f"unknown role {self.role!r}")


SYSTEM = Actor("scheduler", Role.SYSTEM)
"""The actor of automatic facts, such as an escalation because a deadline passed."""

_STAFF = frozenset({Role.PROPERTY_STAFF, Role.PROPERTY_MANAGER})
_COMPOUND_LEADERS = frozenset({Role.PARTY_SECRETARY, Role.OWNERS_COMMITTEE})
_MEDIATORS = frozenset(
    {Role.BUILDING_LEADER, Role.PROPERTY_MANAGER, Role.COMMUNITY_OFFICER} | _COMPOUND_LEADERS
)
_WORKERS = _STAFF | {Role.VOLUNTEER}
_ALL_BUT_AUDITOR = frozenset(Role) - {Role.AUDITOR, Role.DATA_PROTECTION_OFFICER, Role.SYSTEM}
"""Everyone who takes part in cases. The data protection officer (PIPL's 个人信息保护负责人)
answers a person's requests about their data (export, erasure) and takes part in no case."""

PERMISSIONS: dict[str, frozenset[Role]] = {
    "report": _ALL_BUT_AUDITOR - {Role.COUNTY_REPRESENTATIVE},
    "add_reporter": _ALL_BUT_AUDITOR - {Role.COUNTY_REPRESENTATIVE},
    "acknowledge": _STAFF | _MEDIATORS,
    "assign": _STAFF | {Role.SYSTEM},
    "accept_assignment": _WORKERS,
    "decline_assignment": _WORKERS,
    "queue_for_assignment": _STAFF | {Role.SYSTEM},
    "start_work": _WORKERS,
    "finish_work": _WORKERS,
    "attempt_owner_contact": _STAFF | {Role.BUILDING_LEADER, Role.COMMUNITY_OFFICER},
    "arrive_on_site": _WORKERS | {Role.BUILDING_LEADER, Role.COMMUNITY_OFFICER},
    "stop_water": _WORKERS | {Role.BUILDING_LEADER, Role.COMMUNITY_OFFICER},
    "record_cause": _STAFF | {Role.BUILDING_LEADER, Role.COMMUNITY_OFFICER},
    "convene_mediation": _MEDIATORS,
    "hold_round": _MEDIATORS,
    "reach_agreement": _MEDIATORS,
    "record_mediation_failed": _MEDIATORS,
    "escalate": _STAFF | _MEDIATORS | {Role.SYSTEM},
    # The system resolves a repair when its assignee records the work done (dispatch), leaving
    # the resident to confirm or reopen it; people resolve everything else.
    "resolve": _STAFF | _MEDIATORS | {Role.SYSTEM},
    "confirm_resolution": frozenset({Role.RESIDENT}),
    "reopen": frozenset({Role.RESIDENT}) | _STAFF | _MEDIATORS | {Role.SYSTEM},
    "rate_satisfaction": frozenset({Role.RESIDENT}),
    "record_return_visit": _STAFF | _MEDIATORS | {Role.VOLUNTEER},
    "close_case": _STAFF | _MEDIATORS,
    "add_note": _ALL_BUT_AUDITOR | {Role.SYSTEM},
    "give_contact": _STAFF | {Role.SYSTEM},
    "link": _STAFF | _MEDIATORS | {Role.SYSTEM},
    "record_follow_up": _MEDIATORS | {Role.SYSTEM},
    "check_back_commitments": _MEDIATORS | {Role.SYSTEM},
    "erase_person": frozenset({Role.DATA_PROTECTION_OFFICER}),
}


def check_may(actor: Actor, action: str) -> None:
    """Refuse `action` unless the actor's role is allowed it (auditors read, never change).

    The shared lifecycle's actions and the library's kinds' are in `PERMISSIONS`; a registered
    kind names its own commands' roles in its `Kind.permissions`."""
    allowed = PERMISSIONS.get(action)
    if allowed is None:
        from casework.kinds.registry import permissions_of

        allowed = permissions_of(action)
    if allowed is None:
        raise LookupError(
            f"no roles are named for the action {action!r}; a kind names its commands' roles "
            "in its Kind.permissions"
        )
    if actor.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise NotPermittedError(
            f"a {actor.role.value} may not {action.replace('_', ' ')}; roles that may: {names}"
        )
