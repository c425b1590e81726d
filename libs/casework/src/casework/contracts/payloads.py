"""What each event says beyond the envelope, shared by the kinds that record it.

Field names match the domain events' own, so mapping is by name and a test catches drift.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, Field

from casework.contracts.envelope import ActorRole, Contract, TierName


class Participant(Contract):
    id: str
    role: ActorRole


class Commitment(Contract):
    """Who does what, by when (an ISO date)."""

    who: str
    what: str
    due: str


class ReportedFields(Contract):
    address: str = Field(description="community/compound[/building[/unit]]")
    priority: str
    description: str
    channel: str
    contact: str = Field(
        default="",
        description="how to reach the reporter; personal, so sealed (x-personal); "
        '"" when none was given (and on reports recorded before it was carried)',
    )


class RepairReportedFields(ReportedFields):
    category: str


class LeakReportedFields(ReportedFields):
    source_unit: str = Field(description="the flat the water comes from")
    source_unoccupied: bool
    reaches_other_flat: bool


class DisputeReportedFields(ReportedFields):
    category: str
    parties: list[str]


class ReporterAddedFields(Contract):
    reporter_id: str
    channel: str
    contact: str = Field(
        default="",
        description="how to reach the joining reporter; personal, sealed under their key",
    )


class ContactGivenFields(Contract):
    reporter_id: str
    contact: str = Field(description="how to reach the reporter; personal, sealed under their key")
    given_at: AwareDatetime = Field(description="when the reporter gave it (before this event)")


class DeadlinesSetFields(Contract):
    respond_by: AwareDatetime
    settle_by: AwareDatetime


class AssignedFields(Contract):
    assignee_id: str
    assignee_role: ActorRole


class EscalatedFields(Contract):
    to_tier: TierName
    automatic: bool = Field(description="true when a passed deadline did it")


class ResolvedFields(Contract):
    summary: str


class SatisfactionRatedFields(Contract):
    score: int = Field(ge=1, le=5)
    comment: str


class ReturnVisitRecordedFields(Contract):
    note: str


class NoteAddedFields(Contract):
    text: str


class LinkedToCaseFields(Contract):
    other_case_id: UUID
    relation: str


class WorkDoneFields(Contract):
    summary: str


class OwnerContactAttemptedFields(Contract):
    channel: str
    outcome: str


class WaterStoppedFields(Contract):
    method: str


class CauseRecordedFields(Contract):
    cause: str
    damage: str
    damaged_units: list[str]


class MediationConvenedFields(Contract):
    meeting_id: str
    form: str
    scheduled_for: AwareDatetime
    place: str
    participants: list[Participant]


class ParticipantJoinedFields(Contract):
    meeting_id: str
    participant: Participant = Field(
        description="who joined without being invited; `reason` says why"
    )


class ParticipantInvitedFields(Contract):
    meeting_id: str
    participant: Participant = Field(
        description="who was invited after the convening, before a round; `reason` says why"
    )


class LeadMediatorNamedFields(Contract):
    lead_id: str = Field(
        description="who leads the dispute at its tier from now: the actor, who took the lead, "
        "or a mediator the tier's head named; `reason` says why. Lapses when the dispute climbs"
    )
    lead_role: str


class MeetingRescheduledFields(Contract):
    meeting_id: str
    scheduled_for: AwareDatetime = Field(description="the next round's new time")
    place: str = Field(description="the next round's place (the same or a new one)")


class MeetingCancelledFields(Contract):
    meeting_id: str


class RoundHeldFields(Contract):
    meeting_id: str
    round_no: int = Field(ge=1)
    attendees: list[str]
    positions: dict[str, str]
    proposals: list[str]
    options: list[str]
    tally: dict[str, int]
    outcome: str


class MediationFailedFields(Contract):
    meeting_id: str


class AgreementReachedFields(Contract):
    meeting_id: str
    terms: list[str]
    commitments: list[Commitment]


class CommitmentFellDueFields(Contract):
    commitment_index: int = Field(ge=0)
    due: str = Field(description="the commitment's due date as agreed (ISO date or time)")


class CommitmentFollowedUpFields(Contract):
    commitment_index: int = Field(ge=0)
    kept: bool
    note: str
