"""Request and response bodies: pydantic models, so every input is checked before the domain."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from casework import Role, Tier
from casework.domain.mediation_rules import (
    COUNTY_DEPARTMENTS,
    MATTERS,
    MEETING_FORMS,
)
from casework.domain.text import WORDS_PATTERN
from casework.domain.windows import COMMITMENT_DUE, MEETING
from casework_web.fields import (
    DueDate,
    Moment,
    Text4000,
    Words1000,
    Words4000,
    keys_like,
    window_words,
)
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


def _one_of(options: Iterable[str], what: str) -> Callable[[str], str]:
    allowed = tuple(options)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"{what} must be one of {', '.join(allowed)}")
        return value

    return check


def _enum(options: Iterable[str]) -> dict[str, Any]:
    return {"enum": list(options)}


MeetingForm = Annotated[
    str,
    AfterValidator(_one_of(MEETING_FORMS, "form")),
    Field(json_schema_extra=_enum(MEETING_FORMS)),
]
Department = Annotated[
    str,
    AfterValidator(_one_of(COUNTY_DEPARTMENTS, "department")),
    Field(json_schema_extra=_enum(COUNTY_DEPARTMENTS)),
]
Matter = Annotated[
    str, AfterValidator(_one_of(MATTERS, "matter")), Field(json_schema_extra=_enum(MATTERS))
]
Grounds = Literal["failed_rounds", "deadline_passed", "outside_powers", "other"]
Outcome = Literal["progress", "failed", "agreed"]

ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
Id = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=ID_PATTERN,
        description="an id as issued (1 to 128 characters, no control characters)",
    ),
]
Text = Words1000
LongText = Words4000


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParticipantIn(Body):
    """Someone at a meeting. Between its fields: only a county_department_rep names a
    `department`, and must (or give an id '<department>:<person>'); an auditor or the system
    takes part in no meeting. Refused otherwise (422)."""

    id: Id = Field(description="the person (or, for a county department, its representative)")
    role: Role
    department: Department | None = Field(
        default=None,
        description="for a county department representative: which department (县直部门)",
    )

    @model_validator(mode="after")
    def _department_for_county_only(self) -> ParticipantIn:
        county = self.role is Role.COUNTY_REPRESENTATIVE
        if self.department is not None and not county:
            raise ValueError("only a county_department_rep names a department")
        if (
            county
            and self.department is None
            and self.id.split(":", 1)[0] not in COUNTY_DEPARTMENTS
        ):
            raise ValueError(
                "a county_department_rep names its department: one of "
                + ", ".join(COUNTY_DEPARTMENTS)
            )
        if self.role in (Role.AUDITOR, Role.SYSTEM):
            raise ValueError(f"a {self.role.value} does not take part in a meeting")
        return self

    def as_participant(self) -> dict[str, str]:
        """County representatives are recorded as `<department>:<person>`."""
        pid = self.id
        if self.department is not None and pid != self.department:
            pid = f"{self.department}:{pid}"
        return {"id": pid, "role": self.role.value}


class WalkIn(ParticipantIn):
    reason: Text = Field(
        description="why someone not invited took part, e.g. 'lives above the path; asked to speak'"
    )


class MeetingCreate(Body):
    form: MeetingForm = Field(
        description="the form of meeting; each is held at given tiers (GET /mediation-rules)"
    )
    scheduled_for: Moment = Field(description="when, with its timezone; " + window_words(MEETING))
    place: Text = Field(description="where, e.g. 'building 3 lobby', 'door to door'")
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=500)


class RoundCreate(Body):
    attendees: list[Id] = Field(
        min_length=1,
        max_length=5000,
        description="who came, or for an opinion collection who was consulted",
    )
    outcome: Outcome = Field(description="progress, failed (counts towards escalation), or agreed")
    positions: dict[Id, Text] = Field(
        default_factory=dict,
        description="party -> position",
        json_schema_extra=keys_like({"minLength": 1, "maxLength": 128, "pattern": ID_PATTERN}),
    )
    proposals: list[Text] = Field(default_factory=list, max_length=100)
    options: list[Text] = Field(
        default_factory=list, max_length=100, description="the options put to the vote"
    )
    tally: dict[Text, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=dict,
        description="option -> how many chose it, in this round (options from `options`)",
        json_schema_extra=keys_like({"minLength": 1, "maxLength": 1000, "pattern": WORDS_PATTERN}),
    )
    note: Text4000 = ""
    walk_ins: list[WalkIn] = Field(
        default_factory=list,
        max_length=100,
        description="people who took part without being invited, each with the reason; they "
        "count as attendees. At a building talk, roundtable or council every other attendee "
        "must be a participant, a party or the mediator",
    )


class InvitationCreate(Body):
    participants: list[ParticipantIn] = Field(
        min_length=1,
        max_length=100,
        description="who is invited, as at the convening (county departments at a council only); "
        "nobody already invited: a participant, a party, the reporter or the convener",
    )
    reason: LongText = Field(
        description="why they are asked to come, e.g. 'lives above the path the cables cross'"
    )


class LeadIn(Body):
    id: Id = Field(description="the mediator who is to lead")
    role: Role = Field(description="their role: one of those who mediate at the dispute's tier")


class LeadCreate(Body):
    lead: LeadIn | None = Field(
        default=None,
        description="omitted: you take the lead yourself (you must mediate at the dispute's "
        "tier). Named: the tier's head (GET /mediation-rules, `head`) names one of its mediators",
    )
    reason: LongText = Field(
        description="why this lead, e.g. 'the cars are in the car park I run', for the case file"
    )


class MeetingReschedule(Body):
    scheduled_for: Moment = Field(
        description="the next round's new time, with its timezone; " + window_words(MEETING)
    )
    place: Text | None = Field(default=None, description="a new place; omitted keeps the place")
    reason: LongText = Field(description="why it moves, for the parties and the case file")


class MeetingCancel(Body):
    reason: LongText = Field(description="why it is called off; rounds already held stand")


class CommitmentIn(Body):
    who: Id
    what: Text
    due: DueDate = Field(
        description="an ISO date (due by the end of that day, China time) or date-time with its "
        "offset; " + window_words(COMMITMENT_DUE)
    )


class AgreementCreate(Body):
    meeting_id: Id = Field(description="the meeting that reached it")
    terms: list[Text] = Field(min_length=1, max_length=100)
    commitments: list[CommitmentIn] = Field(default_factory=list, max_length=100)
    basis: Text4000 = Field(
        default="",
        description="what decided it; the latest tally is cited after it automatically",
    )


class EscalationCreate(Body):
    grounds: Grounds = Field(
        description="failed_rounds, deadline_passed, outside_powers (name the matter) or other"
    )
    matter: Matter | None = Field(
        default=None, description="for outside_powers: the matter beyond this tier's powers"
    )
    reason: Text4000 = Field(default="", description="the mediator's words")


class FollowUpCreate(Body):
    commitment_index: int = Field(ge=0, le=1000)
    kept: bool
    note: LongText


class ResolutionCreate(Body):
    summary: LongText


# ------------------------------------------------------------------- answers


class Participant(BaseModel):
    id: str
    role: str
    department: str | None = None


class RoundPublic(BaseModel):
    meeting_id: str
    round_no: int
    at: datetime
    recorded_by: str
    outcome: str
    attendees: list[str]
    positions: dict[str, str]
    proposals: list[str]
    options: list[str]
    tally: dict[str, int]
    note: str


class MeetingChange(BaseModel):
    change: Literal["rescheduled", "cancelled", "joined", "invited"]
    at: datetime
    by: str
    role: str
    reason: str
    scheduled_for: datetime | None = None
    place: str | None = None
    participant: Participant | None = None


class MeetingPublic(BaseModel):
    meeting_id: str
    case_id: str
    form: str
    label: str
    tier: str
    scheduled_for: datetime = Field(description="when its latest round was or its next one is")
    place: str
    status: Literal["scheduled", "held", "cancelled"] = Field(
        description="scheduled: a round is awaited at scheduled_for; held: its rounds so far are "
        "recorded; cancelled: no more rounds"
    )
    checks_attendance: bool = Field(
        description="a seated form: attendees must be participants, parties or walk-ins"
    )
    participants: list[Participant]
    rounds: list[RoundPublic]
    changes: list[MeetingChange] = Field(
        description="reschedules, invitations, walk-ins, cancellation"
    )


class CommitmentPublic(BaseModel):
    index: int
    who: str
    what: str
    due: str
    status: Literal["pending", "due", "kept", "broken"]


class EscalationPublic(BaseModel):
    at: datetime
    from_tier: str
    to_tier: str
    automatic: bool
    by: str
    reason: str


class LeadPublic(BaseModel):
    id: str
    role: str
    named_by: str = Field(description="who took the lead (the lead) or named them (the head)")
    since: datetime
    reason: str


class DisputePublic(BaseModel):
    case_id: str
    version: int
    address: str
    category: str
    description: str
    parties: list[str]
    reporter_ids: list[str]
    tier: str
    entry_tier: str
    status: str
    priority: str
    respond_by: datetime | None
    settle_by: datetime | None
    escalation_due_at: datetime | None
    failed_rounds_at_tier: int
    escalations: list[EscalationPublic]
    meetings: list[MeetingPublic]
    terms: list[str]
    commitments: list[CommitmentPublic]
    tally_citation: str
    settled_tier: str | None
    links: list[dict[str, str]]
    next_action: str
    lead: LeadPublic | None = Field(
        description="who answers for the dispute at its tier; none when nobody took it or it "
        "climbed since (the lead lapses on a climb)"
    )


class RoundRecorded(BaseModel):
    round: RoundPublic
    dispute: DisputePublic


class WorkItem(BaseModel):
    case_id: str
    version: int
    address: str
    compound: str
    tier: str
    status: str
    category: str
    priority: str
    description: str
    reported_at: datetime
    respond_by: datetime | None
    settle_by: datetime | None
    escalation_due_at: datetime | None
    failed_rounds_at_tier: int
    escalations: int
    meetings_at_tier: int
    next_meeting_at: datetime | None
    commitments_open: int
    commitments_due: int
    next_commitment_due: datetime | None
    from_leak: str | None
    next_action: str
    attention_at: datetime | None = Field(
        description="the soonest of: a deadline that escalates it, its next meeting, a "
        "commitment's due date (the list is sorted by it)"
    )
    lead_id: str | None = Field(description="its lead mediator at its tier, if any")
    lead_role: str | None


class WorkPage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[WorkItem]


class FormRule(BaseModel):
    form: str
    label: str
    tiers: list[Tier]
    seats_county_departments: bool
    checks_attendance: bool


class TierRule(BaseModel):
    tier: Tier
    label: str
    mediators: list[str]
    head: str = Field(description="the role that may name which mediator leads a dispute here")
    forms: list[str]


class MatterRule(BaseModel):
    matter: str
    label: str
    decided_at: Tier


class MediationRules(BaseModel):
    forms: list[FormRule]
    tiers: list[TierRule]
    matters: list[MatterRule]
    county_departments: dict[str, str]
    escalation_grounds: list[str]
    failed_rounds_before_escalation: int


def as_datetime(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else value
