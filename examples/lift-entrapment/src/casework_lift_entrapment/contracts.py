"""Version 1 of the lift entrapment's public events: `casework.lift.<event>.v1`.

One model per event `LiftEntrapment` records, its own and the shared ones (which take their
payloads from `casework.contracts.payloads`, as the library's kinds do). Registering the kind
checks that each recorded event has its model here with the same fields. (The `--8<--` comments
mark what the docs site's guide "Adding a kind" shows of this file.)
"""

from __future__ import annotations

from typing import Literal

from casework.contracts.envelope import CaseEvent
from casework.contracts.payloads import (
    AssignedFields,
    ContactGivenFields,
    DeadlinesSetFields,
    EscalatedFields,
    LinkedToCaseFields,
    NoteAddedFields,
    ReportedFields,
    ReporterAddedFields,
    ResolvedFields,
    ReturnVisitRecordedFields,
    SatisfactionRatedFields,
)
from pydantic import Field

from casework_lift_entrapment.domain import MAX_PEOPLE


# --8<-- [start:models]
class LiftEvent(CaseEvent):
    kind: Literal["lift"] = "lift"


class LiftReportedFields(ReportedFields):
    lift_id: str = Field(description="the lift, as painted in the car")
    people_inside: int = Field(ge=0, le=MAX_PEOPLE, description="how many are shut in; 0: unknown")


class LiftReportedV1(LiftReportedFields, LiftEvent):
    type: Literal["casework.lift.reported.v1"] = "casework.lift.reported.v1"


class LiftMaintenanceCalledV1(LiftEvent):
    type: Literal["casework.lift.maintenance_called.v1"] = "casework.lift.maintenance_called.v1"
    company: str


class LiftPeopleRescuedV1(LiftEvent):
    type: Literal["casework.lift.people_rescued.v1"] = "casework.lift.people_rescued.v1"
    rescued: int = Field(ge=0, le=MAX_PEOPLE)
    rescued_by: str


# --8<-- [end:models]


class LiftTakenOutOfServiceV1(LiftEvent):
    type: Literal["casework.lift.taken_out_of_service.v1"] = "casework.lift.taken_out_of_service.v1"


class LiftInspectedV1(LiftEvent):
    type: Literal["casework.lift.inspected.v1"] = "casework.lift.inspected.v1"
    inspector: str
    passed: bool
    findings: str


class LiftReporterAddedV1(ReporterAddedFields, LiftEvent):
    type: Literal["casework.lift.reporter_added.v1"] = "casework.lift.reporter_added.v1"


class LiftContactGivenV1(ContactGivenFields, LiftEvent):
    type: Literal["casework.lift.contact_given.v1"] = "casework.lift.contact_given.v1"


class LiftDeadlinesSetV1(DeadlinesSetFields, LiftEvent):
    type: Literal["casework.lift.deadlines_set.v1"] = "casework.lift.deadlines_set.v1"


class LiftAcknowledgedV1(LiftEvent):
    type: Literal["casework.lift.acknowledged.v1"] = "casework.lift.acknowledged.v1"


class LiftAssignedV1(AssignedFields, LiftEvent):
    type: Literal["casework.lift.assigned.v1"] = "casework.lift.assigned.v1"


class LiftAssignmentAcceptedV1(LiftEvent):
    type: Literal["casework.lift.assignment_accepted.v1"] = "casework.lift.assignment_accepted.v1"


class LiftAssignmentDeclinedV1(LiftEvent):
    type: Literal["casework.lift.assignment_declined.v1"] = "casework.lift.assignment_declined.v1"


class LiftQueuedForAssignmentV1(LiftEvent):
    type: Literal["casework.lift.queued_for_assignment.v1"] = (
        "casework.lift.queued_for_assignment.v1"
    )


class LiftEscalatedV1(EscalatedFields, LiftEvent):
    type: Literal["casework.lift.escalated.v1"] = "casework.lift.escalated.v1"


class LiftResolvedV1(ResolvedFields, LiftEvent):
    type: Literal["casework.lift.resolved.v1"] = "casework.lift.resolved.v1"


class LiftConfirmedByResidentV1(LiftEvent):
    type: Literal["casework.lift.confirmed_by_resident.v1"] = (
        "casework.lift.confirmed_by_resident.v1"
    )


class LiftReopenedV1(LiftEvent):
    type: Literal["casework.lift.reopened.v1"] = "casework.lift.reopened.v1"


class LiftSatisfactionRatedV1(SatisfactionRatedFields, LiftEvent):
    type: Literal["casework.lift.satisfaction_rated.v1"] = "casework.lift.satisfaction_rated.v1"


class LiftReturnVisitRecordedV1(ReturnVisitRecordedFields, LiftEvent):
    type: Literal["casework.lift.return_visit_recorded.v1"] = (
        "casework.lift.return_visit_recorded.v1"
    )


class LiftClosedV1(LiftEvent):
    type: Literal["casework.lift.closed.v1"] = "casework.lift.closed.v1"


class LiftNoteAddedV1(NoteAddedFields, LiftEvent):
    type: Literal["casework.lift.note_added.v1"] = "casework.lift.note_added.v1"


class LiftLinkedToCaseV1(LinkedToCaseFields, LiftEvent):
    type: Literal["casework.lift.linked_to_case.v1"] = "casework.lift.linked_to_case.v1"


LIFT_MODELS: tuple[type[CaseEvent], ...] = (
    LiftReportedV1,
    LiftMaintenanceCalledV1,
    LiftPeopleRescuedV1,
    LiftTakenOutOfServiceV1,
    LiftInspectedV1,
    LiftReporterAddedV1,
    LiftContactGivenV1,
    LiftDeadlinesSetV1,
    LiftAcknowledgedV1,
    LiftAssignedV1,
    LiftAssignmentAcceptedV1,
    LiftAssignmentDeclinedV1,
    LiftQueuedForAssignmentV1,
    LiftEscalatedV1,
    LiftResolvedV1,
    LiftConfirmedByResidentV1,
    LiftReopenedV1,
    LiftSatisfactionRatedV1,
    LiftReturnVisitRecordedV1,
    LiftClosedV1,
    LiftNoteAddedV1,
    LiftLinkedToCaseV1,
)
