"""The library's own three kinds, registered like any other (the entry points `repair`, `leak`
and `dispute` of the group `casework.kinds` in the library's pyproject name these objects).

Their rows of the deadlines table stay in `casework.domain.ladder.DEADLINES`, their commands'
roles in `casework.domain.actors.PERMISSIONS`, and their contract models in
`casework.contracts.events`: each `Kind` takes its slice, so nothing was copied.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

from casework.contracts.envelope import CaseEvent
from casework.contracts.events import EVENT_MODELS
from casework.domain.actors import PERMISSIONS, Actor, Role
from casework.domain.case import Case
from casework.domain.dispute import Dispute
from casework.domain.ladder import DEADLINES, Deadlines
from casework.domain.leak import LeakEmergency
from casework.domain.places import Address, Tier
from casework.domain.repair import Repair
from casework.kinds.registry import Kind

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

REPAIR_SKILLS = {
    "plumbing": "水暖",
    "electrical": "电工",
    "appliances": "家电维修",
    "lifts": "电梯",
    "door_access": "门禁",
    "building_repairs": "房屋修缮",
    "general_repairs": "综合维修",
}
LEAK_SKILL = "plumbing"


def _rows(kind: str) -> Mapping[tuple[str, Tier], Deadlines]:
    return {(p, t): row for (k, p, t), row in DEADLINES.items() if k == kind}


def _models(kind: str) -> tuple[type[CaseEvent], ...]:
    return tuple(m for m in EVENT_MODELS if m.model_fields["kind"].default == kind)


def _may(*actions: str) -> dict[str, frozenset[Role]]:
    return {action: PERMISSIONS[action] for action in actions}


def _report_repair(
    actor: Actor,
    at: datetime,
    address: Address,
    description: str,
    *,
    priority: str | None = None,
    channel: str = "phone",
    contact: str = "",
    case_id: UUID | None = None,
    category: str = "other",
) -> Case:
    return Repair.report(
        actor,
        at,
        address,
        description,
        category,
        priority or "routine",
        channel,
        contact,
        case_id,
    )


def _report_leak(
    actor: Actor,
    at: datetime,
    address: Address,
    description: str,
    *,
    priority: str | None = None,
    channel: str = "phone",
    contact: str = "",
    case_id: UUID | None = None,
    source_unit: str = "",
    source_unoccupied: bool = False,
    reaches_other_flat: bool = False,
) -> Case:
    """A leak's priority follows from its flags; a `priority` given is not used."""
    return LeakEmergency.report(
        actor,
        at,
        address,
        description,
        source_unit,
        source_unoccupied=source_unoccupied,
        reaches_other_flat=reaches_other_flat,
        channel=channel,
        contact=contact,
        case_id=case_id,
    )


def _report_dispute(
    actor: Actor,
    at: datetime,
    address: Address,
    description: str,
    *,
    priority: str | None = None,
    channel: str = "phone",
    contact: str = "",
    case_id: UUID | None = None,
    category: str = "other",
    parties: list[str] | None = None,
    tier: str | None = None,
) -> Case:
    return Dispute.report(
        actor,
        at,
        address,
        description,
        category,
        parties,
        tier=Tier(tier) if tier is not None else None,
        priority=priority or "routine",
        channel=channel,
        contact=contact,
        case_id=case_id,
    )


def _repair_need(case: Case) -> str:
    return REPAIR_SKILL.get(str(getattr(case, "category", "other")), "general_repairs")


REPAIR = Kind(
    name="repair",
    label="报修",
    title="repair",
    aggregate=Repair,
    contracts=_models("repair"),
    deadlines=_rows("repair"),
    permissions=_may("start_work", "finish_work"),
    report=_report_repair,
    skills=REPAIR_SKILLS,
    need=_repair_need,
    workers=frozenset({Role.PROPERTY_STAFF, Role.VOLUNTEER}),
    need_reads_personal=False,  # the category alone
)
"""A repair may go to property staff or a party-member volunteer."""

LEAK = Kind(
    name="leak",
    label="漏水应急",
    title="leak emergency",
    aggregate=LeakEmergency,
    contracts=_models("leak"),
    deadlines=_rows("leak"),
    permissions=_may("attempt_owner_contact", "arrive_on_site", "stop_water", "record_cause"),
    report=_report_leak,
    skills={LEAK_SKILL: "水暖"},
    workers=frozenset({Role.PROPERTY_STAFF}),
)
"""A leak is an emergency with keys and valves: property staff only."""

DISPUTE = Kind(
    name="dispute",
    label="矛盾纠纷",
    title="dispute",
    aggregate=Dispute,
    contracts=_models("dispute"),
    deadlines=_rows("dispute"),
    permissions=_may(
        "convene_mediation",
        "hold_round",
        "reach_agreement",
        "record_mediation_failed",
        "record_follow_up",
        "check_back_commitments",
    ),
    report=_report_dispute,
)
"""A dispute is mediated, not assigned: it names no skills."""

BUILTIN_KINDS = (REPAIR, LEAK, DISPUTE)
