"""What the dispatch API takes and gives: pydantic models, named `…In` / `…Public` like intake's."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from casework.domain.leak import CONTACT_CHANNELS, CONTACT_OUTCOMES, STOP_METHODS
from casework.domain.windows import RECURRENCE_START, TASK_DUE
from casework_web import Readiness
from casework_web.fields import (
    Day,
    Moment,
    Text100,
    Text200,
    Text2000,
    Words64,
    Words2000,
    window_words,
)
from casework_web.history import HistoryEntryPublic
from casework_web.unapplied import Unapplied
from pydantic import BaseModel, ConfigDict, Field

from dispatch.domain.availability import DEFAULT_TIMEZONE

WorkerRole = Literal["property_staff", "property_manager", "volunteer"]
Need = Literal["carrying", "cleaning", "tutoring", "visiting", "escorting"]
Channel = Literal[CONTACT_CHANNELS]  # type: ignore[valid-type]
ContactOutcome = Literal[CONTACT_OUTCOMES]  # type: ignore[valid-type]
StopMethod = Literal[STOP_METHODS]  # type: ignore[valid-type]
Reason = Field(default="", description="why (recorded on the event)")


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ roster


class MemberIn(In):
    actor_id: str = Field(min_length=1, max_length=128, description="their id in every service")
    role: WorkerRole
    name: Text100 = Field(default="", description="display name; default the id")
    skills: list[str] = Field(
        min_length=1,
        max_length=20,
        description="from the vocabulary (plumbing, electrical, appliances, lifts, door_access, "
        "building_repairs, general_repairs, carrying, cleaning, tutoring, visiting, "
        "escorting); a repair category (appliance, lighting, lift, roof) names its skill",
    )
    places: Annotated[list[str], Field(min_length=1, max_length=20)] | None = Field(
        default=None,
        description="compounds or buildings covered, e.g. jiayu-xx/wanxin-intl/b12; "
        "default: the place of the person adding them",
    )
    availability: list[str] = Field(
        default=["daily 00:00-24:00"],
        max_length=28,
        description="weekly windows such as 'mon-fri 08:00-18:00'; [] = not available now",
    )
    timezone: str = Field(default=DEFAULT_TIMEZONE, max_length=64)
    max_load: int = Field(default=3, ge=1, le=20, description="work held at once")
    reason: Text2000 = Reason


class SkillsIn(In):
    skills: list[str] = Field(min_length=1, max_length=20)
    reason: Text2000 = Reason


class PlacesIn(In):
    places: list[str] = Field(min_length=1, max_length=20)
    reason: Text2000 = Reason


class AvailabilityIn(In):
    availability: list[str] = Field(max_length=28)
    timezone: str = Field(default=DEFAULT_TIMEZONE, max_length=64)
    reason: Text2000 = Reason


class MaxLoadIn(In):
    max_load: int = Field(ge=1, le=20)
    reason: Text2000 = Reason


class LeaveIn(In):
    reason: Words2000
    hand_on: bool = Field(
        default=False,
        description="if they hold work: take each piece off them and give it to the next "
        "suitable person by the rule (or queue it), then take them off the roster; without "
        "it, leaving while holding work is refused with the list of it (property manager)",
    )


class MemberPublic(BaseModel):
    actor_id: str
    role: str
    name: str
    skills: list[str]
    places: list[str]
    availability: list[str]
    timezone: str
    max_load: int
    active: bool
    available_now: bool
    load: int
    holding: list[str]
    taken: int
    completed: int
    last_taken_at: datetime | None
    version: int


class HandedOn(BaseModel):
    work_id: str
    assigned_to: str | None = Field(description="who has it now; null: it waits in the queue")
    why: str


class MemberLeft(MemberPublic):
    handed_on: list[HandedOn] = Field(
        default=[], description="the work they held and where it went (hand_on)"
    )


class MemberPage(BaseModel):
    items: list[MemberPublic]


class MemberHistory(BaseModel):
    actor_id: str
    intact: bool = Field(description="the member's record verifies (hash chain)")
    events: list[HistoryEntryPublic]


# ------------------------------------------------------------------ work


class Person(BaseModel):
    id: str
    role: str


class WorkPublic(BaseModel):
    """A case (repair, leak) or a service task, as the person doing it needs it."""

    id: str
    kind: str = Field(description="a registered kind of case (repair, leak, ...), or task")
    status: str
    address: str
    description: str
    need: str | None = None
    priority: str | None = None
    tier: str | None = None
    respond_by: datetime | None = None
    settle_by: datetime | None = None
    due_by: datetime | None = None
    assignee: Person | None = None
    accepted_at: datetime | None = None
    queued_at: datetime | None = None
    why: str | None = Field(default=None, description="why it came to you (the rule's words)")
    source_unit: str | None = Field(default=None, description="a leak: the flat it comes from")
    owner_reached: bool | None = None
    water_stopped: bool | None = None
    version: int


class TaskList(BaseModel):
    items: list[WorkPublic] = Field(description="work you hold, oldest first")
    decisions: list[WorkPublic] = Field(
        description="leaks waiting at your rung: the compound may shut the riser valve, the "
        "community may enter with witnesses"
    )


class DeclineIn(In):
    reason: Words2000


class FinishIn(In):
    summary: Words2000


class ContactIn(In):
    channel: Channel
    outcome: ContactOutcome
    note: Text2000 = ""


class WaterStoppedIn(In):
    method: StopMethod
    note: Text2000 = ""


class CauseIn(In):
    cause: Words2000
    damage: Text2000 = ""
    damaged_units: list[str] = Field(default=[], max_length=50)


class DamageDisputeIn(In):
    address: str = Field(max_length=260, description="the damaged flat")
    description: Words2000
    parties: list[str] = Field(default=[], max_length=20, description="residents involved")


class DisputeOpened(BaseModel):
    dispute_id: str
    leak_id: str


class ReassignIn(In):
    reason: Words2000 = Field(
        description="why it is taken off its holder (ill, not answering, away): on the record",
    )
    to: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        default=None,
        description="the member (actor id on the roster) to give it to; omitted: the next "
        "suitable person by the rule, never the one taken off (or the queue if nobody is)",
    )


class EscalationIn(In):
    reason: Words2000 = Field(
        description="why it climbs now (nobody free in the building, a decision beyond it): "
        "on the record",
    )


class NoteIn(In):
    text: Words2000 = Field(description="what the case file should say: parts used, who was told")


class LinkIn(In):
    case_id: UUID = Field(description="the other case, of any kind, within your sight")
    relation: Words64 = Field(
        description="how the two relate, in a word or two", examples=["related", "same_cause"]
    )


class HandAssignIn(In):
    member: str = Field(min_length=1, max_length=128, description="actor id on the roster")
    why: Words2000


class WaitingPublic(BaseModel):
    work_id: str
    kind: str
    address: str
    since: datetime
    reason: str
    respond_by: datetime | None
    tier: str | None
    priority: str | None
    description: str


class QueuePage(BaseModel):
    items: list[WaitingPublic]


# ------------------------------------------------------------------ demand list


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockTime = Annotated[
    str,
    Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="local time, UTC+8, 24-hour clock",
        examples=["09:00"],
    ),
]
StartsOn = Field(
    default=None,
    description="first local day an occurrence may fall on (default: today, UTC+8); "
    + window_words(RECURRENCE_START),
)


class WeeklyIn(In):
    """On the given weekdays at a local time: `{"kind": "weekly", "weekdays": ["sat"],
    "time": "09:00"}` is every Saturday at 09:00 (UTC+8)."""

    kind: Literal["weekly"]
    weekdays: list[Weekday] = Field(min_length=1, max_length=7, description="each once")
    time: ClockTime
    starts_on: Day | None = StartsOn


class EveryNDaysIn(In):
    """Every N days at a local time, counted from `starts_on`: `{"kind": "every_n_days",
    "every_days": 3, "time": "16:30"}`."""

    kind: Literal["every_n_days"]
    every_days: int = Field(ge=1, le=366)
    time: ClockTime
    starts_on: Day | None = StartsOn


RecurrenceIn = Annotated[WeeklyIn | EveryNDaysIn, Field(discriminator="kind")]


class DemandIn(In):
    resident_id: str = Field(min_length=1, max_length=128)
    address: str = Field(max_length=260, description="the resident's flat")
    need: Need
    description: Words2000
    how_often: Text200 = Field(default="", description="e.g. every Saturday morning")
    recurrence: RecurrenceIn | None = Field(
        default=None,
        description="when set, the scheduler orders each occurrence's task itself when it falls "
        "due (as `scheduler`); without it, tasks are ordered by hand",
    )


class RecurrenceChangeIn(In):
    recurrence: RecurrenceIn
    reason: Text2000 = Reason


class RecurrencePublic(BaseModel):
    kind: Literal["weekly", "every_n_days"]
    weekdays: list[Weekday] | None = None
    every_days: int | None = None
    time: str
    starts_on: date
    words: str = Field(description="the rule in words, as recorded in reasons")


class DemandPublic(BaseModel):
    id: str
    resident_id: str
    address: str
    need: str
    description: str
    how_often: str
    active: bool
    tasks_ordered: int
    recorded_at: datetime
    recurrence: RecurrencePublic | None = None
    paused: bool = False
    next_occurrence: datetime | None = Field(
        default=None, description="when the next task will be raised (none: no rule, paused)"
    )
    last_occurrence: datetime | None = Field(
        default=None, description="the latest occurrence raised as a task"
    )


class DemandHistory(BaseModel):
    demand_id: str
    intact: bool = Field(description="the need's record verifies (hash chain)")
    events: list[HistoryEntryPublic]


class DemandPage(BaseModel):
    items: list[DemandPublic]


class RetireIn(In):
    reason: Words2000


class PauseIn(In):
    reason: Words2000


class OrderIn(In):
    description: Text2000 = Field(default="", description="this time's details")
    due_by: Moment | None = Field(
        default=None, description="by when, with its timezone; " + window_words(TASK_DUE)
    )


class CancelIn(In):
    reason: Words2000


class TaskOrdered(BaseModel):
    task: WorkPublic
    assigned_to: str | None
    why: str


class ServiceEntryPublic(BaseModel):
    member_id: str
    member_role: str
    work_id: str
    work_kind: str
    address: str
    summary: str
    for_whom: list[str]
    at: datetime


class ServiceList(BaseModel):
    items: list[ServiceEntryPublic]


class DispatchReadiness(Readiness, Unapplied):
    consumer: str = Field(description="bound, or why not")
    board_position: int = Field(description="notification id the board has read up to")
    roster_position: int = Field(
        description="notification id the roster the rule reads (followed in memory) is up to"
    )
