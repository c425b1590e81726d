"""Lift entrapment (电梯困人): people shut in a lift that stopped between floors.

Minutes count. The property office calls the lift's maintenance company at once (the law wants
its technician on site within half an hour); if nobody has called it within
`MAINTENANCE_CALL_WITHIN` the case climbs a rung. The people inside are got out (by the
technician, or the fire brigade), the lift is taken out of service, and it stays out until an
inspection passes it. Only then may the case be called resolved.

The `--8<--` comments mark what the docs site's guide "Adding a kind" shows of this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from casework.domain.actors import Actor, check_may
from casework.domain.case import SETTLED, Case, Status, _require_text
from casework.domain.errors import InvalidTransitionError, ValidationError
from casework.domain.places import Address, Tier

MAINTENANCE_CALL_WITHIN = timedelta(minutes=5)
"""A case whose maintenance company is not called within this time climbs a rung."""

RESCUERS = ("maintenance_technician", "property_staff", "fire_brigade")
"""Who got the people out."""

MAX_PEOPLE = 30
"""More than a large lift's rated load: a typing slip, not a report."""


# --8<-- [start:aggregate]
class LiftEntrapment(Case):
    KIND = "lift"
    ASSIGNABLE = True

    @dataclass(frozen=True)
    class Reported(Case.Opened):
        """`lift_id` names the lift (as painted in the car, e.g. "b12-east"); `people_inside`
        is how many the reporter believes are shut in (0 if not known)."""

        lift_id: str
        people_inside: int

        def apply_to(self, case: Any) -> None:
            super().apply_to(case)
            case.lift_id = self.lift_id
            case.people_inside = self.people_inside

    @dataclass(frozen=True)
    class MaintenanceCalled(Case.Event):
        """The lift's maintenance company was called (`company`, as on the lift's certificate)."""

        LABEL = "已通知维保单位"
        ANSWERS = True

        company: str

        def apply_to(self, case: Any) -> None:
            case.maintenance_called_at = self.timestamp
            case.maintenance_company = self.company
            case.status = Status.IN_PROGRESS

    # --8<-- [end:aggregate]

    @dataclass(frozen=True)
    class PeopleRescued(Case.Event):
        """Everyone inside is out: how many, and by whom."""

        LABEL = "已解救被困人员"
        ANSWERS = True

        rescued: int
        rescued_by: str

        def apply_to(self, case: Any) -> None:
            case.rescued_at = self.timestamp
            case.rescued = self.rescued
            case.status = Status.IN_PROGRESS

    @dataclass(frozen=True)
    class TakenOutOfService(Case.Event):
        """The lift is stopped and signed off (`reason` says why) until it is inspected."""

        LABEL = "已停用待检"

        def apply_to(self, case: Any) -> None:
            case.out_of_service_at = self.timestamp
            case.inspected_at = None

    @dataclass(frozen=True)
    class Inspected(Case.Event):
        """An inspection of the lift: `passed` puts it back in service; otherwise it stays out."""

        LABEL = "已检验"

        inspector: str
        passed: bool
        findings: str

        def apply_to(self, case: Any) -> None:
            case.inspected_at = self.timestamp
            case.passed = self.passed
            if self.passed:
                case.out_of_service_at = None
                case.status = Status.WORK_DONE

    def __init__(self) -> None:
        super().__init__()
        self.lift_id = ""
        self.people_inside = 0
        self.maintenance_called_at: datetime | None = None
        self.maintenance_company = ""
        self.rescued_at: datetime | None = None
        self.rescued = 0
        self.out_of_service_at: datetime | None = None
        self.inspected_at: datetime | None = None
        self.passed = False

    # --8<-- [start:report]
    @classmethod
    def report(
        cls,
        actor: Actor,
        at: datetime,
        address: Address,
        description: str,
        *,
        lift_id: str,
        people_inside: int = 0,
        priority: str | None = None,
        channel: str = "phone",
        contact: str = "",
        case_id: UUID | None = None,
    ) -> LiftEntrapment:
        """People shut in a lift are always an emergency (a `priority` given is not used), at
        the building the lift serves."""
        if not address.building:
            raise ValidationError("a lift entrapment needs the building the lift is in")
        if not lift_id.strip():
            raise ValidationError("name the lift (lift_id), as painted in the car, e.g. 'east'")
        if isinstance(people_inside, bool) or not 0 <= people_inside <= MAX_PEOPLE:
            raise ValidationError(f"people_inside is 0 (not known) to {MAX_PEOPLE}")
        return cls._open(
            cls.Reported,
            actor=actor,
            at=at,
            address=address,
            tier=Tier.BUILDING,
            priority="emergency",
            description=description,
            channel=channel,
            contact=contact,
            case_id=case_id,
            lift_id=_require_text(lift_id, "the lift", 64),
            people_inside=people_inside,
        )

    # --8<-- [end:report]

    # --8<-- [start:command]
    def call_maintenance(self, actor: Actor, at: datetime, company: str) -> None:
        check_may(actor, "call_maintenance")
        self.check_unsettled("record the maintenance company called")
        if self.maintenance_called_at is not None:
            raise InvalidTransitionError(
                f"the maintenance company for case {self.id} was already called"
            )
        self._record(
            self.MaintenanceCalled, actor, at, company=_require_text(company, "the company", 128)
        )

    # --8<-- [end:command]

    def rescue(self, actor: Actor, at: datetime, rescued: int, rescued_by: str) -> None:
        check_may(actor, "rescue")
        self.check_unsettled("record the people rescued")
        if self.rescued_at is not None:
            raise InvalidTransitionError(f"the people in case {self.id}'s lift are already out")
        if rescued_by not in RESCUERS:
            raise ValidationError(f"rescued_by must be one of {', '.join(RESCUERS)}")
        if not 0 <= rescued <= MAX_PEOPLE:
            raise ValidationError(f"rescued is 0 to {MAX_PEOPLE}")
        self._record(self.PeopleRescued, actor, at, rescued=rescued, rescued_by=rescued_by)

    def take_out_of_service(self, actor: Actor, at: datetime, reason: str) -> None:
        check_may(actor, "take_lift_out_of_service")
        self.check_unsettled("take the lift out of service")
        if self.out_of_service_at is not None:
            raise InvalidTransitionError(f"case {self.id}'s lift is already out of service")
        self._record(self.TakenOutOfService, actor, at, reason=_require_text(reason, "the reason"))

    def record_inspection(
        self, actor: Actor, at: datetime, inspector: str, passed: bool, findings: str
    ) -> None:
        check_may(actor, "record_inspection")
        self.check_unsettled("record an inspection")
        if self.out_of_service_at is None:
            raise InvalidTransitionError(
                f"case {self.id}'s lift is not out of service: take it out before inspecting it"
            )
        self._record(
            self.Inspected,
            actor,
            at,
            inspector=_require_text(inspector, "the inspector", 128),
            passed=passed,
            findings=findings.strip(),
        )

    # --8<-- [start:rules]
    def check_ready_to_resolve(self) -> None:
        if self.rescued_at is None or not self.passed or self.out_of_service_at is not None:
            raise InvalidTransitionError(
                f"lift {self.id}: get the people out, take the lift out of service and have an "
                "inspection pass it before resolving the case"
            )

    def escalation_reason(self, now: datetime) -> str | None:
        if self._maintenance_overdue_at() is not None and now > self._maintenance_due():
            return "deadline passed: the lift's maintenance company not called"
        return super().escalation_reason(now)

    def escalation_moments(self) -> list[datetime]:
        moments = super().escalation_moments()
        if self._maintenance_overdue_at() is not None:
            moments.append(self._maintenance_due())
        return moments

    # --8<-- [end:rules]

    def _maintenance_overdue_at(self) -> datetime | None:
        """When the call is due, if it is still to be made on an unsettled case below the top."""
        if (
            self.tier.next_up() is None
            or self.status in SETTLED
            or self.maintenance_called_at is not None
            or self.tier_entered_at is None
        ):
            return None
        return self._maintenance_due()

    def _maintenance_due(self) -> datetime:
        assert self.tier_entered_at is not None
        return self.tier_entered_at + MAINTENANCE_CALL_WITHIN

    def settled_at_this_tier_in_time(self) -> bool:
        return self.rescued_at is not None

    def status_after_reopen(self) -> Status:
        return Status.IN_PROGRESS

    def kind_snapshot(self) -> dict[str, Any]:
        return {
            "lift_id": self.lift_id,
            "people_inside": self.people_inside,
            "maintenance_company": self.maintenance_company,
            "maintenance_called_at": _iso(self.maintenance_called_at),
            "rescued_at": _iso(self.rescued_at),
            "rescued": self.rescued,
            "out_of_service": self.out_of_service_at is not None,
            "inspected_at": _iso(self.inspected_at),
            "passed": self.passed,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
