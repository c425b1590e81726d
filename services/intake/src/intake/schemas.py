"""What goes over the wire: request bodies and answers, as the OpenAPI document shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import casework_web
from casework import Role, Status, Tier
from casework.domain.case import CHANNELS
from casework.domain.mediation_rules import DISPUTE_CATEGORIES
from casework.domain.repair import REPAIR_CATEGORIES
from casework.kinds import kind_named, kind_names, kinds
from casework_web.fields import TEXT_RULES, WORDS_RULES, Moment, WholeNumber
from casework_web.history import HistoryEntryPublic
from casework_web.unapplied import Unapplied
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StrictBool,
    model_validator,
)
from pydantic import ValidationError as ModelError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError


def _registered_kind(value: str) -> str:
    """A kind this installation knows (`casework.kinds`): the library's or an installed one."""
    names = kind_names()
    if value not in names:
        raise ValueError(f"kind must be one of {', '.join(names)}, not {value!r}")
    return value


class _KindsEnum:
    """The OpenAPI enum of `Kind`: the kinds registered when the document is built (at the
    app's first request for it), so an installed kind appears without a change here."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["enum"] = list(kind_names())
        return schema


Kind = Annotated[str, AfterValidator(_registered_kind), _KindsEnum()]
"""A registered kind's name: repair, leak, dispute, and whatever installed package adds one."""


class _DetailsSchema:
    """The OpenAPI schema of a report's `details`: one of the registered kinds' own report
    fields (`Kind.report_fields`)."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        handler(core_schema)
        shapes = []
        for kind in kinds():
            if kind.report_fields is not None:
                shape = kind.report_fields.model_json_schema()
                shape["title"] = f"{kind.name} details"
                shapes.append(shape)
        return {
            "anyOf": [*shapes, {"type": "null"}],
            "description": (
                "the kind's own report fields, for a kind that names them ("
                + (", ".join(k.name for k in kinds() if k.report_fields is not None) or "none")
                + "); the library's kinds take theirs as the fields above"
            ),
        }


PriorityName = Literal["routine", "urgent", "emergency"]
Channel = Literal["phone", "wechat", "walk_in", "talk_meeting", "app", "patrol"]
Category = Literal[
    "appliance",
    "plumbing",
    "electrical",
    "lighting",
    "door_access",
    "lift",
    "roof",
    "noise",
    "parking",
    "ev_charging",
    "flying_cables",
    "leak_between_flats",
    "green_space",
    "fees",
    "road_and_gates",
    "other",
]
assert set(Category.__args__) == set(REPAIR_CATEGORIES) | set(DISPUTE_CATEGORIES)  # type: ignore[attr-defined]
SEGMENT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
ADDRESS_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}(/[a-z0-9][a-z0-9_-]{0,62}){1,3}$"
assert set(Channel.__args__) == set(CHANNELS)  # type: ignore[attr-defined]


def _encodable(value: str) -> str:
    """Lone surrogates decode from JSON but cannot be stored; refuse them at the door."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogate characters)") from None
    return value


Text = Annotated[str, AfterValidator(_encodable)]
Words = Annotated[Text, *WORDS_RULES]
"""Free text a person must give: not blank, no control characters but newline and tab."""
FreeText = Annotated[Text, *TEXT_RULES]
"""Free text that may be empty, without control characters but newline and tab."""


class Body(BaseModel):
    """Request bodies: unknown fields are refused; flags and numbers take no look-alikes."""

    model_config = ConfigDict(extra="forbid")


class Reporter(Body):
    """Who reports. The contact goes into the case file sealed under the reporter's own key
    (personal data: shown to staff in scope and to the reporter, `[personal]` to auditors,
    `[erased]` after the reporter's erasure); NATS carries only the sealed string."""

    id: Text = Field(min_length=1, max_length=128, examples=["r-0302"])
    role: Role = Field(default=Role.RESIDENT)
    contact: (
        Annotated[str, Field(max_length=64), *TEXT_RULES, AfterValidator(_encodable)] | None
    ) = Field(default=None, description="phone or WeChat id, for a call back")


class CaseCreate(Body):
    """A report. Give `kind` if known; otherwise the description is triaged by the rules."""

    description: Words = Field(min_length=1, max_length=4000)
    address: Text = Field(
        min_length=3,
        max_length=260,
        pattern=ADDRESS_PATTERN,
        description="community/compound[/building[/unit]], as listed in the places registry",
        examples=["jiayu-xx/wanxin-intl/b12/0302"],
    )
    kind: Kind | None = None
    category: Category | None = Field(
        default=None, description="repair or dispute category; triage picks one if left out"
    )
    priority: PriorityName | None = Field(
        default=None, description="repairs and disputes; a leak's follows from its flags"
    )
    channel: Channel = "app"
    reporter: Reporter | None = Field(
        default=None, description="omit when reporting for yourself; staff give the resident"
    )
    photos: list[Annotated[Text, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=10, description="references to stored photos"
    )
    source_unit: (
        Annotated[str, Field(pattern=SEGMENT_PATTERN), AfterValidator(_encodable)] | None
    ) = Field(default=None, description="leak: the flat the water comes from")
    source_unoccupied: StrictBool | None = Field(
        default=None, description="leak: nobody lives there"
    )
    reaches_other_flat: StrictBool | None = Field(
        default=None, description="leak: water in another flat"
    )
    needs_county: StrictBool | None = Field(
        default=None, description="dispute: needs a county department (starts at the community)"
    )
    parties: list[Annotated[Text, Field(min_length=1, max_length=128)]] = Field(
        default_factory=list, max_length=20, description="dispute: actor ids of the parties"
    )
    details: Annotated[dict[str, Any] | None, _DetailsSchema()] = None

    @model_validator(mode="after")
    def _check_details(self) -> CaseCreate:
        """A registered kind's own fields are checked against its `report_fields` here, so a
        report the kind would refuse is refused with the field named, before anything is
        stored; the library's kinds take no `details`."""
        fields = kind_named(self.kind).report_fields if self.kind is not None else None
        if fields is None:
            if self.details is not None:
                raise ValueError(
                    "details are the own report fields of a kind that names them; give kind "
                    f"({', '.join(k.name for k in kinds() if k.report_fields is not None)}), "
                    "or leave details out"
                )
            return self
        try:
            checked = fields.model_validate(self.details or {})
        except ModelError as error:
            problems = "; ".join(
                f"details.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
            )
            raise ValueError(f"a {self.kind} report: {problems}") from None
        self.details = checked.model_dump()
        return self


class CaseReported(BaseModel):
    case_id: str
    outcome: Literal["opened", "linked", "already_reported"] = Field(
        description="opened a new case, or joined the open case of the same matter"
    )
    message: str
    kind: Kind
    category: str | None
    priority: PriorityName
    tier: Tier = Field(description="the rung the case is at (where it starts, if opened)")
    respond_by: datetime | None = Field(description="deadline of the first response")
    settle_by: datetime | None
    triage: list[str] = Field(description="why triage decided as it did")


class Assignee(BaseModel):
    id: str
    role: str


class Link(BaseModel):
    case_id: str
    relation: str


class CasePublic(BaseModel):
    """A case's current state. `contacts` only for staff in scope, or a resident's own; an
    auditor reads `[personal]` for every personal value (description, ...), anyone `[erased]`
    for the values of an erased person."""

    id: str
    kind: Kind
    version: int
    address: str
    priority: PriorityName
    tier: Tier
    entry_tier: Tier
    status: Status
    description: str
    channel: str
    reporter_ids: list[str]
    reported_at: datetime
    respond_by: datetime | None
    settle_by: datetime | None
    acknowledged_at: datetime | None = Field(description="the first response ever (受理)")
    responded_at_tier: datetime | None = Field(
        None,
        description=(
            "when the case was answered at the tier it is at now, after entering it: each tier "
            "owes its own response by its respond_by, or the case climbs again"
        ),
    )
    assignee: Assignee | None
    accepted_at: datetime | None = Field(None, description="when the assignee accepted the work")
    queued_at: datetime | None = Field(
        None, description="when the case began waiting for someone suitable and free"
    )
    escalations: int
    settled_tier: Tier | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    satisfaction: int | None
    return_visits: int
    note_count: int
    links: list[Link]
    chain_head: str
    details: dict[str, Any] = Field(description="what only this kind of case has")
    contacts: dict[str, str] | None = None


class CaseSummary(BaseModel):
    case_id: str
    kind: Kind
    category: str | None
    address: str
    tier: Tier
    status: Status
    priority: PriorityName
    reported_at: datetime
    updated_at: datetime
    version: int


class CasePage(BaseModel):
    total: int
    offset: int
    limit: int
    items: list[CaseSummary]
    index_position: int = Field(description="how far the index has read the event stream")


class CaseHistory(BaseModel):
    case_id: str
    as_of: datetime | None
    state: CasePublic
    events: list[HistoryEntryPublic]


class VerifyPublic(BaseModel):
    case_id: str
    ok: bool
    events: int
    head: str
    position: int | None
    problem: str
    description: str


class ExportedCheckpoint(BaseModel):
    """The notary's signed checkpoint, as `casework checkpoints latest` prints it."""

    format: Literal["casework.checkpoint.v2", "casework.checkpoint.v1"] = Field(
        description="v2 names the log (origin); v1 was signed before logs were named"
    )
    origin: str | None = Field(
        default=None,
        description="the log's name (CASEWORK_LOG_ORIGIN, or made on the notary's first start): "
        "signed, so one deployment's checkpoint cannot pass for another's; `casework "
        "verify-file --origin NAME` checks it",
    )
    size: int = Field(ge=0, description="leaves in the log when it was signed")
    root: str = Field(pattern=r"^[0-9a-f]{64}$", description="RFC 6962 root hash, hex")
    at: str = Field(description="when it was signed (ISO 8601, with its offset)")
    signature: str = Field(description="Ed25519 over the checkpoint's text, base64")


class ExportedEvent(BaseModel):
    version: int = Field(ge=1)
    topic: str
    hash: str = Field(description="the chain hash of (topic, case id, version, state)")
    state: dict[str, Any] = Field(
        description="the event as stored: personal values are sealed envelopes or `[erased]`"
    )
    position: int | None = Field(
        description="the event's leaf in the log; null when newer than the checkpoint"
    )
    proof: list[str] | None = Field(
        description="RFC 6962 inclusion proof (hex hashes) against the checkpoint"
    )


class CaseExport(BaseModel):
    """A self-verifying case file (docs/adr/014): canonical JSON, one line; check it offline with
    `casework verify-file FILE --pubkey KEY` or docs/verify_export.py. Any changed byte fails."""

    format: Literal["casework.export.v1"]
    case_id: str
    events: list[ExportedEvent]
    checkpoint: ExportedCheckpoint | None = Field(
        description="the latest signed checkpoint; null before the notary signed one"
    )


class ReopenIn(Body):
    reason: Words = Field(min_length=1, max_length=2000)


class RatingIn(Body):
    score: WholeNumber = Field(ge=1, le=5)
    comment: FreeText = Field(default="", max_length=2000)


class ReturnVisitIn(Body):
    note: Words = Field(min_length=1, max_length=2000)


class AcknowledgementIn(Body):
    note: FreeText = Field(
        default="", max_length=2000, examples=["the compound's property office takes it over"]
    )


class ClosureIn(Body):
    reason: FreeText = Field(
        default="", max_length=2000, examples=["confirmed, rated and visited back: all well"]
    )


class Readiness(casework_web.Readiness, Unapplied):
    """The shared readiness answer, and how far the case index has read."""

    index_position: int


class MeasuresQuery(BaseModel):
    """Which cases: a compound (default: every place you answer for) and a reporting window,
    'from' before 'to' when both are given."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    compound: Annotated[str, Field(min_length=1, max_length=130)] | None = Field(
        default=None,
        description="a compound id (wanxin-intl) or community/compound (jiayu-xx/wanxin-intl)",
    )
    from_: Moment | None = Field(
        default=None,
        alias="from",
        description="cases reported at or after this moment, e.g. 2026-11-01T00:00:00+08:00",
    )
    to: Moment | None = Field(
        default=None, description="cases reported before this moment (with its timezone)"
    )

    @model_validator(mode="after")
    def _window(self) -> MeasuresQuery:
        if self.from_ is not None and self.to is not None and self.from_ >= self.to:
            raise PydanticCustomError("window", "'from' must be before 'to'")
        return self


# ------------------------------------------------------------------- people


class ErasureIn(Body):
    """Why the person is erased: kept on their file with who erased them and when."""

    reason: Words = Field(
        min_length=1,
        max_length=500,
        description="why, e.g. the request's reference; holds no personal value (a phone or "
        "ID-card number in it would be sealed under the erased person's key and read [erased])",
        examples=["PIPL art. 47 request 2026-118, received 2026-11-20"],
    )


class ErasureSeen(BaseModel):
    """One recorded erasure: by whom, when, why, and the case files that held their data."""

    at: datetime
    by: dict[str, str] = Field(description='{"id": ..., "role": "data_protection_officer"}')
    reason: str
    case_ids: list[str]


class ErasurePublic(ErasureSeen):
    """An erasure as recorded, with whom it erased."""

    person_id: str


class FactPublic(BaseModel):
    """One personal value of the person: where it is kept and what it reads."""

    case_id: str
    version: int
    at: datetime
    event: str
    field: str = Field(description="the field path, e.g. contact or positions.r-0302")
    value: str = Field(description="the value, or [erased] once the person was erased")
    erased: bool


class ActPublic(BaseModel):
    """An event the person recorded themself (a report, a confirmation, a rating)."""

    case_id: str
    version: int
    at: datetime
    event: str
    role: str


class PersonExport(BaseModel):
    """Everything kept about one person across every case file (PIPL art. 45), as
    `casework person export` prints it."""

    person_id: str
    erased: ErasureSeen | None = Field(
        description="the latest erasure, or null: after one, every value reads [erased]"
    )
    erasures: int
    case_ids: list[str]
    facts: list[FactPublic]
    acts: list[ActPublic]
