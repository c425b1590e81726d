"""The envelope every public case event carries: which case, which event, who, when, where.

These models are what NATS carries and what other teams code against, so they depend on nothing
else in casework: a consumer imports `casework.contracts` and nothing more. Actors appear as an
id and a role only; contact details never leave the case file.
"""

from __future__ import annotations

from typing import Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

Kind = Literal["repair", "leak", "dispute"]
"""The library's own kinds; a registered kind (`casework.kinds`) adds its own contracts, whose
`kind` is its name."""
KIND_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
TierName = Literal["building", "compound", "community"]
ActorRole = Literal[
    "resident",
    "building_leader",
    "property_staff",
    "property_manager",
    "volunteer",
    "party_secretary",
    "owners_committee_member",
    "community_officer",
    "county_department_rep",
    "auditor",
    "data_protection_officer",
    "system",
]
PlaceSegment = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")


class Contract(BaseModel):
    """Frozen, and strict about unknown fields: any change of shape is a new version."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseEvent(Contract):
    """Fields common to every case event.

    `event_id` is `<case_id>:<version>`: unique, stable across re-publishes (it is also the NATS
    message id). `version` is the event's position in its case file, from 1. `tier` is the rung
    the case was at when it happened. `hash`/`prev_hash` let a consumer check the chain.
    """

    type: str = Field(description="contract name and version, e.g. casework.leak.water_stopped.v1")
    event_id: str = Field(description="<case_id>:<version>, unique per event")
    case_id: UUID
    kind: str = Field(pattern=KIND_PATTERN, description="the kind of case, e.g. leak")
    version: int = Field(ge=1, description="position of the event in its case file")
    occurred_at: AwareDatetime
    actor_id: str = Field(min_length=1, max_length=128)
    actor_role: ActorRole
    tier: TierName = Field(description="the rung of the ladder the case was at")
    reason: str = Field(default="", description="why, where the event changes course")
    community: str = PlaceSegment
    compound: str = PlaceSegment
    hash: str = Field(description="SHA-256 of this event in the case file's hash chain")
    prev_hash: str = Field(description="hash of the event before it ('' for the first)")

    @property
    def event_name(self) -> str:
        """`water_stopped` for `casework.leak.water_stopped.v1`: the event's short name, the third
        token of its type and of its subject, the same for every version of it."""
        return self.type.split(".")[2]

    @model_validator(mode="after")
    def _check_event_id(self) -> Self:
        expected = f"{self.case_id}:{self.version}"
        if self.event_id != expected:
            raise ValueError(f"event_id must be {expected!r} (case_id:version)")
        return self


class RepairEvent(CaseEvent):
    kind: Literal["repair"] = "repair"


class LeakEvent(CaseEvent):
    kind: Literal["leak"] = "leak"


class DisputeEvent(CaseEvent):
    kind: Literal["dispute"] = "dispute"
