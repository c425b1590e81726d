"""Version 1 of every public case event, one model per (kind, event).

Named `casework.<kind>.<event>.v1`; the class is `<Kind><Event>V1`. Events every kind shares
(acknowledged, escalated, ...) have one model per kind, so a name says which kind of case it is.
"""

from __future__ import annotations

from typing import Literal

from casework.contracts.envelope import CaseEvent, DisputeEvent, LeakEvent, RepairEvent
from casework.contracts.payloads import (
    AgreementReachedFields,
    AssignedFields,
    CauseRecordedFields,
    CommitmentFellDueFields,
    CommitmentFollowedUpFields,
    ContactGivenFields,
    DeadlinesSetFields,
    DisputeReportedFields,
    EscalatedFields,
    LeadMediatorNamedFields,
    LeakReportedFields,
    LinkedToCaseFields,
    MediationConvenedFields,
    MediationFailedFields,
    MeetingCancelledFields,
    MeetingRescheduledFields,
    NoteAddedFields,
    OwnerContactAttemptedFields,
    ParticipantInvitedFields,
    ParticipantJoinedFields,
    RepairReportedFields,
    ReporterAddedFields,
    ResolvedFields,
    ReturnVisitRecordedFields,
    RoundHeldFields,
    SatisfactionRatedFields,
    WaterStoppedFields,
    WorkDoneFields,
)

# ------------------------------------------------------------ repair


class RepairReportedV1(RepairReportedFields, RepairEvent):
    type: Literal["casework.repair.reported.v1"] = "casework.repair.reported.v1"


class RepairWorkStartedV1(RepairEvent):
    type: Literal["casework.repair.work_started.v1"] = "casework.repair.work_started.v1"


class RepairWorkDoneV1(WorkDoneFields, RepairEvent):
    type: Literal["casework.repair.work_done.v1"] = "casework.repair.work_done.v1"


class RepairReporterAddedV1(ReporterAddedFields, RepairEvent):
    type: Literal["casework.repair.reporter_added.v1"] = "casework.repair.reporter_added.v1"


class RepairContactGivenV1(ContactGivenFields, RepairEvent):
    type: Literal["casework.repair.contact_given.v1"] = "casework.repair.contact_given.v1"


class RepairDeadlinesSetV1(DeadlinesSetFields, RepairEvent):
    type: Literal["casework.repair.deadlines_set.v1"] = "casework.repair.deadlines_set.v1"


class RepairAcknowledgedV1(RepairEvent):
    type: Literal["casework.repair.acknowledged.v1"] = "casework.repair.acknowledged.v1"


class RepairAssignedV1(AssignedFields, RepairEvent):
    type: Literal["casework.repair.assigned.v1"] = "casework.repair.assigned.v1"


class RepairAssignmentAcceptedV1(RepairEvent):
    type: Literal["casework.repair.assignment_accepted.v1"] = (
        "casework.repair.assignment_accepted.v1"
    )


class RepairQueuedForAssignmentV1(RepairEvent):
    type: Literal["casework.repair.queued_for_assignment.v1"] = (
        "casework.repair.queued_for_assignment.v1"
    )


class RepairAssignmentDeclinedV1(RepairEvent):
    type: Literal["casework.repair.assignment_declined.v1"] = (
        "casework.repair.assignment_declined.v1"
    )


class RepairEscalatedV1(EscalatedFields, RepairEvent):
    type: Literal["casework.repair.escalated.v1"] = "casework.repair.escalated.v1"


class RepairResolvedV1(ResolvedFields, RepairEvent):
    type: Literal["casework.repair.resolved.v1"] = "casework.repair.resolved.v1"


class RepairConfirmedByResidentV1(RepairEvent):
    type: Literal["casework.repair.confirmed_by_resident.v1"] = (
        "casework.repair.confirmed_by_resident.v1"
    )


class RepairReopenedV1(RepairEvent):
    type: Literal["casework.repair.reopened.v1"] = "casework.repair.reopened.v1"


class RepairSatisfactionRatedV1(SatisfactionRatedFields, RepairEvent):
    type: Literal["casework.repair.satisfaction_rated.v1"] = "casework.repair.satisfaction_rated.v1"


class RepairReturnVisitRecordedV1(ReturnVisitRecordedFields, RepairEvent):
    type: Literal["casework.repair.return_visit_recorded.v1"] = (
        "casework.repair.return_visit_recorded.v1"
    )


class RepairClosedV1(RepairEvent):
    type: Literal["casework.repair.closed.v1"] = "casework.repair.closed.v1"


class RepairNoteAddedV1(NoteAddedFields, RepairEvent):
    type: Literal["casework.repair.note_added.v1"] = "casework.repair.note_added.v1"


class RepairLinkedToCaseV1(LinkedToCaseFields, RepairEvent):
    type: Literal["casework.repair.linked_to_case.v1"] = "casework.repair.linked_to_case.v1"


# ------------------------------------------------------------ leak


class LeakReportedV1(LeakReportedFields, LeakEvent):
    type: Literal["casework.leak.reported.v1"] = "casework.leak.reported.v1"


class LeakOwnerContactAttemptedV1(OwnerContactAttemptedFields, LeakEvent):
    type: Literal["casework.leak.owner_contact_attempted.v1"] = (
        "casework.leak.owner_contact_attempted.v1"
    )


class LeakOwnerReachedV1(LeakEvent):
    type: Literal["casework.leak.owner_reached.v1"] = "casework.leak.owner_reached.v1"


class LeakArrivedOnSiteV1(LeakEvent):
    type: Literal["casework.leak.arrived_on_site.v1"] = "casework.leak.arrived_on_site.v1"


class LeakWaterStoppedV1(WaterStoppedFields, LeakEvent):
    type: Literal["casework.leak.water_stopped.v1"] = "casework.leak.water_stopped.v1"


class LeakCauseRecordedV1(CauseRecordedFields, LeakEvent):
    type: Literal["casework.leak.cause_recorded.v1"] = "casework.leak.cause_recorded.v1"


class LeakReporterAddedV1(ReporterAddedFields, LeakEvent):
    type: Literal["casework.leak.reporter_added.v1"] = "casework.leak.reporter_added.v1"


class LeakContactGivenV1(ContactGivenFields, LeakEvent):
    type: Literal["casework.leak.contact_given.v1"] = "casework.leak.contact_given.v1"


class LeakDeadlinesSetV1(DeadlinesSetFields, LeakEvent):
    type: Literal["casework.leak.deadlines_set.v1"] = "casework.leak.deadlines_set.v1"


class LeakAcknowledgedV1(LeakEvent):
    type: Literal["casework.leak.acknowledged.v1"] = "casework.leak.acknowledged.v1"


class LeakAssignedV1(AssignedFields, LeakEvent):
    type: Literal["casework.leak.assigned.v1"] = "casework.leak.assigned.v1"


class LeakAssignmentAcceptedV1(LeakEvent):
    type: Literal["casework.leak.assignment_accepted.v1"] = "casework.leak.assignment_accepted.v1"


class LeakQueuedForAssignmentV1(LeakEvent):
    type: Literal["casework.leak.queued_for_assignment.v1"] = (
        "casework.leak.queued_for_assignment.v1"
    )


class LeakAssignmentDeclinedV1(LeakEvent):
    type: Literal["casework.leak.assignment_declined.v1"] = "casework.leak.assignment_declined.v1"


class LeakEscalatedV1(EscalatedFields, LeakEvent):
    type: Literal["casework.leak.escalated.v1"] = "casework.leak.escalated.v1"


class LeakResolvedV1(ResolvedFields, LeakEvent):
    type: Literal["casework.leak.resolved.v1"] = "casework.leak.resolved.v1"


class LeakConfirmedByResidentV1(LeakEvent):
    type: Literal["casework.leak.confirmed_by_resident.v1"] = (
        "casework.leak.confirmed_by_resident.v1"
    )


class LeakReopenedV1(LeakEvent):
    type: Literal["casework.leak.reopened.v1"] = "casework.leak.reopened.v1"


class LeakSatisfactionRatedV1(SatisfactionRatedFields, LeakEvent):
    type: Literal["casework.leak.satisfaction_rated.v1"] = "casework.leak.satisfaction_rated.v1"


class LeakReturnVisitRecordedV1(ReturnVisitRecordedFields, LeakEvent):
    type: Literal["casework.leak.return_visit_recorded.v1"] = (
        "casework.leak.return_visit_recorded.v1"
    )


class LeakClosedV1(LeakEvent):
    type: Literal["casework.leak.closed.v1"] = "casework.leak.closed.v1"


class LeakNoteAddedV1(NoteAddedFields, LeakEvent):
    type: Literal["casework.leak.note_added.v1"] = "casework.leak.note_added.v1"


class LeakLinkedToCaseV1(LinkedToCaseFields, LeakEvent):
    type: Literal["casework.leak.linked_to_case.v1"] = "casework.leak.linked_to_case.v1"


# ------------------------------------------------------------ dispute


class DisputeReportedV1(DisputeReportedFields, DisputeEvent):
    type: Literal["casework.dispute.reported.v1"] = "casework.dispute.reported.v1"


class DisputeMediationConvenedV1(MediationConvenedFields, DisputeEvent):
    type: Literal["casework.dispute.mediation_convened.v1"] = (
        "casework.dispute.mediation_convened.v1"
    )


class DisputeParticipantJoinedV1(ParticipantJoinedFields, DisputeEvent):
    type: Literal["casework.dispute.participant_joined.v1"] = (
        "casework.dispute.participant_joined.v1"
    )


class DisputeParticipantInvitedV1(ParticipantInvitedFields, DisputeEvent):
    type: Literal["casework.dispute.participant_invited.v1"] = (
        "casework.dispute.participant_invited.v1"
    )


class DisputeLeadMediatorNamedV1(LeadMediatorNamedFields, DisputeEvent):
    type: Literal["casework.dispute.lead_mediator_named.v1"] = (
        "casework.dispute.lead_mediator_named.v1"
    )


class DisputeMeetingRescheduledV1(MeetingRescheduledFields, DisputeEvent):
    type: Literal["casework.dispute.meeting_rescheduled.v1"] = (
        "casework.dispute.meeting_rescheduled.v1"
    )


class DisputeMeetingCancelledV1(MeetingCancelledFields, DisputeEvent):
    type: Literal["casework.dispute.meeting_cancelled.v1"] = "casework.dispute.meeting_cancelled.v1"


class DisputeRoundHeldV1(RoundHeldFields, DisputeEvent):
    type: Literal["casework.dispute.round_held.v1"] = "casework.dispute.round_held.v1"


class DisputeMediationFailedV1(MediationFailedFields, DisputeEvent):
    type: Literal["casework.dispute.mediation_failed.v1"] = "casework.dispute.mediation_failed.v1"


class DisputeAgreementReachedV1(AgreementReachedFields, DisputeEvent):
    type: Literal["casework.dispute.agreement_reached.v1"] = "casework.dispute.agreement_reached.v1"


class DisputeCommitmentFollowedUpV1(CommitmentFollowedUpFields, DisputeEvent):
    type: Literal["casework.dispute.commitment_followed_up.v1"] = (
        "casework.dispute.commitment_followed_up.v1"
    )


class DisputeCommitmentFellDueV1(CommitmentFellDueFields, DisputeEvent):
    type: Literal["casework.dispute.commitment_fell_due.v1"] = (
        "casework.dispute.commitment_fell_due.v1"
    )


class DisputeReporterAddedV1(ReporterAddedFields, DisputeEvent):
    type: Literal["casework.dispute.reporter_added.v1"] = "casework.dispute.reporter_added.v1"


class DisputeContactGivenV1(ContactGivenFields, DisputeEvent):
    type: Literal["casework.dispute.contact_given.v1"] = "casework.dispute.contact_given.v1"


class DisputeDeadlinesSetV1(DeadlinesSetFields, DisputeEvent):
    type: Literal["casework.dispute.deadlines_set.v1"] = "casework.dispute.deadlines_set.v1"


class DisputeAcknowledgedV1(DisputeEvent):
    type: Literal["casework.dispute.acknowledged.v1"] = "casework.dispute.acknowledged.v1"


class DisputeAssignedV1(AssignedFields, DisputeEvent):
    type: Literal["casework.dispute.assigned.v1"] = "casework.dispute.assigned.v1"


class DisputeAssignmentAcceptedV1(DisputeEvent):
    type: Literal["casework.dispute.assignment_accepted.v1"] = (
        "casework.dispute.assignment_accepted.v1"
    )


class DisputeQueuedForAssignmentV1(DisputeEvent):
    type: Literal["casework.dispute.queued_for_assignment.v1"] = (
        "casework.dispute.queued_for_assignment.v1"
    )


class DisputeAssignmentDeclinedV1(DisputeEvent):
    type: Literal["casework.dispute.assignment_declined.v1"] = (
        "casework.dispute.assignment_declined.v1"
    )


class DisputeEscalatedV1(EscalatedFields, DisputeEvent):
    type: Literal["casework.dispute.escalated.v1"] = "casework.dispute.escalated.v1"


class DisputeResolvedV1(ResolvedFields, DisputeEvent):
    type: Literal["casework.dispute.resolved.v1"] = "casework.dispute.resolved.v1"


class DisputeConfirmedByResidentV1(DisputeEvent):
    type: Literal["casework.dispute.confirmed_by_resident.v1"] = (
        "casework.dispute.confirmed_by_resident.v1"
    )


class DisputeReopenedV1(DisputeEvent):
    type: Literal["casework.dispute.reopened.v1"] = "casework.dispute.reopened.v1"


class DisputeSatisfactionRatedV1(SatisfactionRatedFields, DisputeEvent):
    type: Literal["casework.dispute.satisfaction_rated.v1"] = (
        "casework.dispute.satisfaction_rated.v1"
    )


class DisputeReturnVisitRecordedV1(ReturnVisitRecordedFields, DisputeEvent):
    type: Literal["casework.dispute.return_visit_recorded.v1"] = (
        "casework.dispute.return_visit_recorded.v1"
    )


class DisputeClosedV1(DisputeEvent):
    type: Literal["casework.dispute.closed.v1"] = "casework.dispute.closed.v1"


class DisputeNoteAddedV1(NoteAddedFields, DisputeEvent):
    type: Literal["casework.dispute.note_added.v1"] = "casework.dispute.note_added.v1"


class DisputeLinkedToCaseV1(LinkedToCaseFields, DisputeEvent):
    type: Literal["casework.dispute.linked_to_case.v1"] = "casework.dispute.linked_to_case.v1"


EVENT_MODELS: tuple[type[CaseEvent], ...] = (
    RepairReportedV1,
    RepairWorkStartedV1,
    RepairWorkDoneV1,
    RepairReporterAddedV1,
    RepairContactGivenV1,
    RepairDeadlinesSetV1,
    RepairAcknowledgedV1,
    RepairAssignedV1,
    RepairAssignmentAcceptedV1,
    RepairAssignmentDeclinedV1,
    RepairQueuedForAssignmentV1,
    RepairEscalatedV1,
    RepairResolvedV1,
    RepairConfirmedByResidentV1,
    RepairReopenedV1,
    RepairSatisfactionRatedV1,
    RepairReturnVisitRecordedV1,
    RepairClosedV1,
    RepairNoteAddedV1,
    RepairLinkedToCaseV1,
    LeakReportedV1,
    LeakOwnerContactAttemptedV1,
    LeakOwnerReachedV1,
    LeakArrivedOnSiteV1,
    LeakWaterStoppedV1,
    LeakCauseRecordedV1,
    LeakReporterAddedV1,
    LeakContactGivenV1,
    LeakDeadlinesSetV1,
    LeakAcknowledgedV1,
    LeakAssignedV1,
    LeakAssignmentAcceptedV1,
    LeakAssignmentDeclinedV1,
    LeakQueuedForAssignmentV1,
    LeakEscalatedV1,
    LeakResolvedV1,
    LeakConfirmedByResidentV1,
    LeakReopenedV1,
    LeakSatisfactionRatedV1,
    LeakReturnVisitRecordedV1,
    LeakClosedV1,
    LeakNoteAddedV1,
    LeakLinkedToCaseV1,
    DisputeReportedV1,
    DisputeMediationConvenedV1,
    DisputeParticipantJoinedV1,
    DisputeParticipantInvitedV1,
    DisputeLeadMediatorNamedV1,
    DisputeMeetingRescheduledV1,
    DisputeMeetingCancelledV1,
    DisputeRoundHeldV1,
    DisputeMediationFailedV1,
    DisputeAgreementReachedV1,
    DisputeCommitmentFollowedUpV1,
    DisputeCommitmentFellDueV1,
    DisputeReporterAddedV1,
    DisputeContactGivenV1,
    DisputeDeadlinesSetV1,
    DisputeAcknowledgedV1,
    DisputeAssignedV1,
    DisputeAssignmentAcceptedV1,
    DisputeAssignmentDeclinedV1,
    DisputeQueuedForAssignmentV1,
    DisputeEscalatedV1,
    DisputeResolvedV1,
    DisputeConfirmedByResidentV1,
    DisputeReopenedV1,
    DisputeSatisfactionRatedV1,
    DisputeReturnVisitRecordedV1,
    DisputeClosedV1,
    DisputeNoteAddedV1,
    DisputeLinkedToCaseV1,
)
