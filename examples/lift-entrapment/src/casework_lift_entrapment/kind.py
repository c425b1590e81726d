"""`LIFT`: the lift entrapment kind, as the entry point `lift` in `casework.kinds` names it.

Its deadlines are minutes at every priority (people shut in are an emergency whatever the
report says); its own commands' roles; the skill dispatch sends for it (`lifts`, property staff
only: a stopped lift is keys and a machine room); its report fields, which intake validates.
"""

from __future__ import annotations

from datetime import timedelta

from casework.domain.actors import Role
from casework.domain.ladder import Deadlines
from casework.domain.places import Tier
from casework.kinds import Kind
from pydantic import BaseModel, ConfigDict, Field

from casework_lift_entrapment.contracts import LIFT_MODELS
from casework_lift_entrapment.domain import MAX_PEOPLE, LiftEntrapment


def _d(respond_minutes: int, settle_minutes: int) -> Deadlines:
    return Deadlines(timedelta(minutes=respond_minutes), timedelta(minutes=settle_minutes))


_AT_ONCE = {
    Tier.BUILDING: _d(5, 60),
    Tier.COMPOUND: _d(10, 2 * 60),
    Tier.COMMUNITY: _d(15, 4 * 60),
}
"""First response in minutes; settled (the people out) within the hour at the building."""

DEADLINES = {
    (priority, tier): row
    for priority in ("routine", "urgent", "emergency")
    for tier, row in _AT_ONCE.items()
}

_STAFF = frozenset({Role.PROPERTY_STAFF, Role.PROPERTY_MANAGER})
_ON_CALL = _STAFF | {Role.BUILDING_LEADER, Role.COMMUNITY_OFFICER}


class LiftReport(BaseModel):
    """What a lift entrapment's report says beyond the common fields (intake's `details`)."""

    model_config = ConfigDict(extra="forbid")

    lift_id: str = Field(
        min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", examples=["east"]
    )
    people_inside: int = Field(
        default=0, ge=0, le=MAX_PEOPLE, description="how many are shut in; 0 if not known"
    )


LIFT = Kind(
    name="lift",
    label="电梯困人",
    title="lift entrapment",
    aggregate=LiftEntrapment,
    contracts=LIFT_MODELS,
    deadlines=DEADLINES,
    permissions={
        "call_maintenance": _ON_CALL,
        "rescue": _ON_CALL,
        "take_lift_out_of_service": _STAFF,
        "record_inspection": _STAFF | {Role.COMMUNITY_OFFICER},
    },
    report=LiftEntrapment.report,
    report_fields=LiftReport,
    skills={"lifts": "电梯"},
    workers=frozenset({Role.PROPERTY_STAFF}),
)
