"""The words a story is told in: who does what to which case, when, and why.

A story is a tuple of these steps, plain data. It names its cases and meetings by labels of its
own ("leak", "talk") because their ids exist only once a teller has told the step that opens
them; a teller keeps the labels' ids. Time is a step too (`At`, `After`): the in-process teller
moves its hand-moved clock; a teller on real time may map it to its own means. A step's fields
are the command's, so that a teller maps each step to one call of its own medium.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from casework.domain.actors import Actor

# ---------------------------------------------------------------- time


@dataclass(frozen=True)
class At:
    """The story's clock stands at `when` before the next step."""

    when: datetime


@dataclass(frozen=True)
class After:
    """So much time passes before the next step."""

    delta: timedelta


# ---------------------------------------------------------------- reports


@dataclass(frozen=True)
class ReportRepair:
    case: str
    who: Actor
    address: str
    description: str
    category: str
    channel: str = "phone"
    contact: str = ""
    """How to reach the reporter (a phone number), recorded in the case file, sealed."""


@dataclass(frozen=True)
class ReportLeak:
    case: str
    who: Actor
    address: str
    description: str
    source_unit: str
    source_unoccupied: bool = False
    channel: str = "phone"
    contact: str = ""
    """How to reach the reporter (a phone number), recorded in the case file, sealed."""


@dataclass(frozen=True)
class ReportDispute:
    case: str
    who: Actor
    address: str
    description: str
    category: str
    parties: tuple[str, ...]
    channel: str = "phone"
    contact: str = ""
    """How to reach the reporter (a phone number), recorded in the case file, sealed."""


# ---------------------------------------------------------------- every kind of case


@dataclass(frozen=True)
class AddReporter:
    """Someone else reports the same case (a second reporter, not a second case). Over the
    services they report the same matter to the intake, which joins them to the open case when
    its rules call it the same (a leak from the same flat, a blocked road or gate)."""

    case: str
    who: Actor
    channel: str = "phone"
    contact: str = ""
    """How to reach this second reporter: their own, not the first reporter's."""


@dataclass(frozen=True)
class Reopen:
    case: str
    who: Actor
    why: str


@dataclass(frozen=True)
class Acknowledge:
    case: str
    who: Actor
    note: str = ""


@dataclass(frozen=True)
class Escalate:
    """Up one rung by hand, with why. Over the services a repair or a leak climbs through
    dispatch, a dispute through mediation (on grounds `other`, in these words)."""

    case: str
    who: Actor
    why: str


@dataclass(frozen=True)
class SchedulerTick:
    """What the deadline scheduler does every few minutes: escalate the case if a deadline has
    passed. It is the system's step, not a person's: a teller runs its own scheduler's check.
    The services' schedulers keep real time by themselves, so that teller has nothing to ask."""

    case: str


@dataclass(frozen=True)
class AddNote:
    case: str
    who: Actor
    text: str


@dataclass(frozen=True)
class LinkCases:
    case: str
    other: str
    who: Actor
    relation: str


@dataclass(frozen=True)
class Resolve:
    """The case is settled. Over the services dispatch settles a repair or a leak by itself
    once the work is done, so that teller waits for it; a dispute is resolved by `who`."""

    case: str
    who: Actor
    summary: str


@dataclass(frozen=True)
class Confirm:
    case: str
    who: Actor


@dataclass(frozen=True)
class Rate:
    case: str
    who: Actor
    score: int
    comment: str = ""


@dataclass(frozen=True)
class ReturnVisit:
    case: str
    who: Actor
    note: str


@dataclass(frozen=True)
class Close:
    case: str
    who: Actor
    why: str = ""


# ---------------------------------------------------------------- repairs


@dataclass(frozen=True)
class Assign:
    """`who` sends `assignee` to work nobody holds, by hand, with why. Over the services it is
    dispatch's queue (`assignee` on the roster; work somebody holds is refused)."""

    case: str
    who: Actor
    assignee: Actor
    why: str


@dataclass(frozen=True)
class PutOnRoster:
    """`member` joins the supply list (党员供给清单) with skills and places. The roster is
    dispatch's, not the library's: the in-process teller has nothing to record it in and lets
    it pass; over the services it is dispatch's roster that the matching reads."""

    who: Actor
    member: Actor
    skills: tuple[str, ...]
    places: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    """The case goes to `assignee`, the one on the roster who fits. Over the services
    dispatch's matcher does this by itself on the Reported event, so that teller waits for it
    and checks it chose `assignee`; in process `who` assigns by hand, with `why`."""

    case: str
    who: Actor
    assignee: Actor
    why: str


@dataclass(frozen=True)
class DeclineAssignment:
    case: str
    who: Actor
    why: str


@dataclass(frozen=True)
class AcceptTask:
    case: str
    who: Actor


@dataclass(frozen=True)
class StartWork:
    case: str
    who: Actor


@dataclass(frozen=True)
class FinishWork:
    case: str
    who: Actor
    summary: str


# ---------------------------------------------------------------- leaks


@dataclass(frozen=True)
class AttemptContact:
    case: str
    who: Actor
    channel: str
    outcome: str
    note: str = ""


@dataclass(frozen=True)
class ArriveOnSite:
    case: str
    who: Actor


@dataclass(frozen=True)
class StopWater:
    case: str
    who: Actor
    method: str
    note: str = ""


@dataclass(frozen=True)
class RecordCause:
    case: str
    who: Actor
    cause: str
    damage: str
    damaged_units: tuple[str, ...]


@dataclass(frozen=True)
class OpenDamageDispute:
    """The leak's damage to another flat becomes a dispute for mediation, linked both ways.
    Over the services it is one request to dispatch (one transaction); in process `who`
    reports the dispute and links the two case files, as dispatch does."""

    case: str
    leak: str
    who: Actor
    address: str
    description: str
    parties: tuple[str, ...]


@dataclass(frozen=True)
class AwaitFindings:
    """Mediation, hearing of the link, notes the leak's findings on the dispute. Only the
    services have a mediation to do it, so the in-process teller lets the step pass."""

    case: str


# ---------------------------------------------------------------- disputes


@dataclass(frozen=True)
class Seat:
    """Someone seated at a meeting: an id and the role they sit in."""

    id: str
    role: str

    @classmethod
    def of(cls, actor: Actor) -> Seat:
        return cls(actor.id, actor.role.value)


@dataclass(frozen=True)
class Convene:
    case: str
    meeting: str
    who: Actor
    form: str
    scheduled_for: datetime | timedelta
    """When the meeting is to be held; a `timedelta` is that long after the story's now."""
    place: str
    seats: tuple[Seat, ...]


@dataclass(frozen=True)
class HoldRound:
    case: str
    meeting: str
    who: Actor
    attendees: tuple[str, ...]
    outcome: str
    positions: dict[str, str] = field(default_factory=dict)
    proposals: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    tally: dict[str, int] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class MediationFailed:
    """The mediation at `meeting` failed, and why. Mediation records it with the failed round
    that shows it, so over the services the round's step has asked for it and that teller
    checks the case file holds it."""

    case: str
    meeting: str
    who: Actor
    why: str


@dataclass(frozen=True)
class Commitment:
    who: str
    what: str
    due: str


@dataclass(frozen=True)
class Agree:
    case: str
    meeting: str
    who: Actor
    terms: tuple[str, ...]
    commitments: tuple[Commitment, ...]
    basis: str = ""


@dataclass(frozen=True)
class AwaitWorklist:
    """The dispute reaches `who`'s worklist: mediation's own read model, fed over NATS, so a
    teller on the services waits for it; in process the case is on the record already and
    there is no worklist to wait for, so that teller lets the step pass."""

    case: str
    who: Actor


@dataclass(frozen=True)
class TakeLead:
    """`who` answers for the dispute at its tier from now (until it climbs)."""

    case: str
    who: Actor
    why: str


@dataclass(frozen=True)
class Invite:
    case: str
    meeting: str
    who: Actor
    seats: tuple[Seat, ...]
    why: str


@dataclass(frozen=True)
class EscalateOnGrounds:
    """Up one rung on grounds the case file bears out (mediation's escalation)."""

    case: str
    who: Actor
    grounds: str
    why: str
    matter: str | None = None


@dataclass(frozen=True)
class FollowUp:
    case: str
    who: Actor
    index: int
    kept: bool
    note: str


Step = (
    At
    | After
    | ReportRepair
    | ReportLeak
    | ReportDispute
    | Acknowledge
    | Escalate
    | SchedulerTick
    | AddNote
    | LinkCases
    | Resolve
    | Confirm
    | Rate
    | ReturnVisit
    | Close
    | Assign
    | StartWork
    | FinishWork
    | AttemptContact
    | ArriveOnSite
    | StopWater
    | RecordCause
    | Convene
    | HoldRound
    | Agree
    | FollowUp
    | AwaitWorklist
    | PutOnRoster
    | Match
    | AcceptTask
    | AddReporter
    | Reopen
    | DeclineAssignment
    | MediationFailed
    | OpenDamageDispute
    | AwaitFindings
    | TakeLead
    | Invite
    | EscalateOnGrounds
)


@dataclass(frozen=True)
class Story:
    """One story of the article: its title, its steps, and the cases it shows at the end.

    `places` says where each person answers (an address prefix, by actor id): the services
    scope a person's token to it; the library's commands do not need it."""

    title: str
    steps: tuple[Step, ...]
    shows: tuple[str, ...]
    places: Mapping[str, str] = field(default_factory=dict)
