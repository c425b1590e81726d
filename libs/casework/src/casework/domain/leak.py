"""Leak emergency (漏水应急): minutes, not days.

From the article: water seeps under the door of a flat under renovation that nobody lives in; the
property office calls the owner at once; the worker had left a valve open. Every contact attempt is
recorded; if the owner cannot be reached the case climbs (compound: shut the riser valve;
community: entry with witnesses); water stopped, cause and damage recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from casework.domain.actors import Actor, check_may
from casework.domain.case import Case, Status, _require_text
from casework.domain.errors import InvalidTransitionError, ValidationError
from casework.domain.ladder import OWNER_CONTACT_WITHIN
from casework.domain.places import Address, Tier

CONTACT_CHANNELS = ("phone", "wechat", "door", "via_neighbour", "via_agent")
CONTACT_OUTCOMES = ("reached", "no_answer", "busy", "wrong_number", "refused", "message_left")
STOP_METHODS = (
    "owner_closed_valve",
    "staff_closed_valve",
    "riser_valve_shut",
    "entry_with_witnesses",
    "other",
)


class LeakEmergency(Case):
    KIND = "leak"
    ASSIGNABLE = True

    @dataclass(frozen=True)
    class Reported(Case.Opened):
        """`source_unit` is where the water comes from; the address is where it was seen.

        Version 2 added `contact` (see `Case.Opened`).
        """

        class_version = 2
        upcast_v1_v2 = staticmethod(Case.Opened.upcast_contact)

        source_unit: str
        source_unoccupied: bool
        reaches_other_flat: bool

        def apply_to(self, case: Any) -> None:
            super().apply_to(case)
            case.source_unit = self.source_unit
            case.source_unoccupied = self.source_unoccupied
            case.reaches_other_flat = self.reaches_other_flat

    @dataclass(frozen=True)
    class OwnerContactAttempted(Case.Event):
        LABEL = "联系业主"

        channel: str
        outcome: str

        def apply_to(self, case: Any) -> None:
            case.contact_attempts += 1

    @dataclass(frozen=True)
    class OwnerReached(Case.Event):
        LABEL = "已联系上业主"

        def apply_to(self, case: Any) -> None:
            case.owner_reached_at = self.timestamp

    @dataclass(frozen=True)
    class ArrivedOnSite(Case.Event):
        LABEL = "已到场"

        def apply_to(self, case: Any) -> None:
            case.on_site_at = self.timestamp
            case.status = Status.IN_PROGRESS

    @dataclass(frozen=True)
    class WaterStopped(Case.Event):
        LABEL = "已止水"

        method: str

        def apply_to(self, case: Any) -> None:
            case.water_stopped_at = self.timestamp
            case.water_stopped_tier = case.tier
            case.status = Status.WORK_DONE if case.cause else Status.IN_PROGRESS

    @dataclass(frozen=True)
    class CauseRecorded(Case.Event):
        LABEL = "已查明原因"

        cause: str
        damage: str
        damaged_units: list[str]

        def apply_to(self, case: Any) -> None:
            case.cause = self.cause
            case.damage = self.damage
            case.damaged_units = list(self.damaged_units)
            if case.water_stopped_at is not None:
                case.status = Status.WORK_DONE

    def __init__(self) -> None:
        super().__init__()
        self.source_unit = ""
        self.source_unoccupied = False
        self.reaches_other_flat = False
        self.contact_attempts = 0
        self.owner_reached_at: datetime | None = None
        self.on_site_at: datetime | None = None
        self.water_stopped_at: datetime | None = None
        self.water_stopped_tier: Tier | None = None
        self.cause = ""
        self.damage = ""
        self.damaged_units: list[str] = []

    @classmethod
    def report(
        cls,
        actor: Actor,
        at: datetime,
        address: Address,
        description: str,
        source_unit: str,
        *,
        source_unoccupied: bool = False,
        reaches_other_flat: bool = False,
        channel: str = "phone",
        contact: str = "",
        case_id: UUID | None = None,
    ) -> LeakEmergency:
        """Water reaching another flat, or from a flat nobody lives in, is an emergency."""
        if not address.building:
            raise ValidationError("a leak needs the building it was seen in")
        if not source_unit.strip():
            raise ValidationError("name the flat the water comes from (source_unit), e.g. '0402'")
        emergency = source_unoccupied or reaches_other_flat
        return cls._open(
            cls.Reported,
            actor=actor,
            at=at,
            address=address,
            tier=Tier.BUILDING,
            priority="emergency" if emergency else "urgent",
            description=description,
            channel=channel,
            contact=contact,
            case_id=case_id,
            source_unit=source_unit.strip(),
            source_unoccupied=source_unoccupied,
            reaches_other_flat=reaches_other_flat,
        )

    def attempt_owner_contact(
        self, actor: Actor, at: datetime, channel: str, outcome: str, note: str = ""
    ) -> None:
        """Every attempt is a fact; reaching the owner is a second fact of its own."""
        check_may(actor, "attempt_owner_contact")
        self.check_unsettled("record a contact attempt")
        if channel not in CONTACT_CHANNELS:
            raise ValidationError(f"contact channel must be one of {', '.join(CONTACT_CHANNELS)}")
        if outcome not in CONTACT_OUTCOMES:
            raise ValidationError(f"contact outcome must be one of {', '.join(CONTACT_OUTCOMES)}")
        if outcome == "reached" and self.owner_reached_at is not None:
            raise InvalidTransitionError(f"the owner for case {self.id} was already reached")
        self._record(
            self.OwnerContactAttempted,
            actor,
            at,
            reason=note.strip(),
            channel=channel,
            outcome=outcome,
        )
        if outcome == "reached":
            self._record(self.OwnerReached, actor, at)

    def arrive_on_site(self, actor: Actor, at: datetime) -> None:
        check_may(actor, "arrive_on_site")
        self.check_unsettled("record arrival on site")
        if self.on_site_at is not None:
            raise InvalidTransitionError(f"someone is already recorded on site for case {self.id}")
        self._record(self.ArrivedOnSite, actor, at)

    def stop_water(self, actor: Actor, at: datetime, method: str, note: str = "") -> None:
        check_may(actor, "stop_water")
        self.check_unsettled("record the water stopped")
        if method not in STOP_METHODS:
            raise ValidationError(f"method must be one of {', '.join(STOP_METHODS)}")
        if self.water_stopped_at is not None:
            raise InvalidTransitionError(f"the water for case {self.id} is already stopped")
        if method == "riser_valve_shut" and self.tier.rank < Tier.COMPOUND.rank:
            raise InvalidTransitionError(
                "shutting the riser valve is a compound decision: escalate the case first"
            )
        if method == "entry_with_witnesses" and self.tier is not Tier.COMMUNITY:
            raise InvalidTransitionError(
                "entry with witnesses needs the community: escalate the case first"
            )
        self._record(self.WaterStopped, actor, at, reason=note.strip(), method=method)

    def record_cause(
        self, actor: Actor, at: datetime, cause: str, damage: str, damaged_units: list[str]
    ) -> None:
        check_may(actor, "record_cause")
        self.check_unsettled("record the cause")
        self._record(
            self.CauseRecorded,
            actor,
            at,
            cause=_require_text(cause, "the cause"),
            damage=damage.strip(),
            damaged_units=[u.strip() for u in damaged_units if u.strip()],
        )

    def check_ready_to_resolve(self) -> None:
        if self.water_stopped_at is None or not self.cause:
            raise InvalidTransitionError(
                f"leak {self.id}: stop the water and record the cause before resolving it"
            )

    def escalation_reason(self, now: datetime) -> str | None:
        if (
            self.tier.next_up() is not None
            and self.status not in (Status.RESOLVED, Status.CONFIRMED, Status.CLOSED)
            and self.water_stopped_at is None
            and self.owner_reached_at is None
            and self.tier_entered_at is not None
            and now > self.tier_entered_at + OWNER_CONTACT_WITHIN
        ):
            return "deadline passed: owner of the source flat not reached"
        return super().escalation_reason(now)

    def escalation_moments(self) -> list[datetime]:
        moments = super().escalation_moments()
        if (
            self.water_stopped_at is None
            and self.owner_reached_at is None
            and self.tier_entered_at is not None
        ):
            moments.append(self.tier_entered_at + OWNER_CONTACT_WITHIN)
        return moments

    def settled_at_this_tier_in_time(self) -> bool:
        return self.water_stopped_at is not None

    def status_after_reopen(self) -> Status:
        return Status.IN_PROGRESS

    def kind_snapshot(self) -> dict[str, Any]:
        return {
            "source_unit": self.source_unit,
            "source_unoccupied": self.source_unoccupied,
            "reaches_other_flat": self.reaches_other_flat,
            "contact_attempts": self.contact_attempts,
            "owner_reached_at": self.owner_reached_at.isoformat()
            if self.owner_reached_at
            else None,
            "water_stopped_at": self.water_stopped_at.isoformat()
            if self.water_stopped_at
            else None,
            "cause": self.cause,
            "damage": self.damage,
            "damaged_units": list(self.damaged_units),
        }
