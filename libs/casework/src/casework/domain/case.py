"""The lifecycle every case shares, whatever its kind.

A case is one event stream, the case file. Each event names its actor, role, time, the tier the
case was at and (where it changes course) a reason, and carries its hash and its predecessor's,
so that an auditor can read and verify the whole story from the stream alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from casework.domain.actors import Actor, Role, check_may
from casework.domain.chained import Chained, require_aware
from casework.domain.errors import InvalidTransitionError, OutOfOrderError, ValidationError
from casework.domain.ladder import (
    PRIORITIES,
    REOPEN_WITHIN,
    deadlines_for,
)
from casework.domain.places import Address, Tier
from casework.domain.text import require_text


class Status(StrEnum):
    REPORTED = "reported"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WORK_DONE = "work_done"
    IN_MEDIATION = "in_mediation"
    AGREED = "agreed"
    RESOLVED = "resolved"
    CONFIRMED = "confirmed"
    CLOSED = "closed"


class Priority(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


SETTLED = frozenset({Status.RESOLVED, Status.CONFIRMED, Status.CLOSED})

ANSWERS_A_TIER = frozenset(
    {
        "Acknowledged",
        "Assigned",
        "OwnerContactAttempted",
        "ArrivedOnSite",
        "WaterStopped",
        "CauseRecorded",
        "MediationConvened",
    }
)
"""Names of the events that answer a case at its tier (and, the first of them, at all).

One list, read by `Case.Event.apply` and by whoever follows the events without the aggregate
(the intake's measures), so "responded" means the same everywhere. A leak's call to the owner,
arrival, water stopped or cause found is a response even if nobody pressed "acknowledge" (else a
leak stopped in five minutes would later climb for "no response"); convening a meeting is a
dispute's. Kinds' events are named here too: an event's class name is what the log carries.
"""
CHANNELS = ("phone", "wechat", "walk_in", "talk_meeting", "app", "patrol")

TCase = TypeVar("TCase", bound="Case")


def _require_text(value: str, what: str, limit: int = 4000) -> str:
    """A case's free text: at most 4000 characters unless said otherwise."""
    return require_text(value, what, limit)


class Case(Chained):
    """Shared lifecycle: report, respond, escalate, resolve, confirm or reopen, rate, close."""

    KIND: ClassVar[str] = "case"
    ASSIGNABLE: ClassVar[bool] = False

    @dataclass(frozen=True)
    class Event(Chained.Event):
        """Every fact: who (id and role), when (`timestamp`), at which tier, and why."""

        LABEL: ClassVar[str] = ""
        """What residents and officers call it (Chinese), shown beside the class name by the
        timeline; every recorded event declares its own (`casework.domain.catalogue`)."""

        tier: str

        def apply(self, aggregate: Any) -> None:
            assert isinstance(aggregate, Case)
            super().apply(aggregate)
            if type(self).__name__ in ANSWERS_A_TIER:
                aggregate.note_response(self.timestamp)

    @dataclass(frozen=True)
    class Opened(Event, Aggregate.Created):
        """Base of each kind's `Reported` event (the first in every case file)."""

        LABEL = "已上报"

        address: str
        priority: str
        description: str
        channel: str

        def apply_to(self, case: Any) -> None:
            assert isinstance(case, Case)
            case.address = Address.parse(self.address)
            case.priority = Priority(self.priority)
            case.tier = Tier(self.tier)
            case.entry_tier = case.tier
            case.description = self.description
            case.channel = self.channel
            case.reporter_ids = [self.actor_id]
            case.reported_at = self.timestamp

    @dataclass(frozen=True)
    class ReporterAdded(Event):
        """A second report of the same matter: the reporter joins the case instead of a new one."""

        LABEL = "追加报告人"

        reporter_id: str
        channel: str

        def apply_to(self, case: Any) -> None:
            case.reporter_ids.append(self.reporter_id)

    @dataclass(frozen=True)
    class DeadlinesSet(Event):
        """Recorded whenever the case enters a tier, so replay never consults the table or clock.

        Entering a tier starts its response clock afresh: what a lower tier did does not answer
        for this one (`responded_at_tier`).
        """

        LABEL = "已定时限"

        respond_by: datetime
        settle_by: datetime

        def apply_to(self, case: Any) -> None:
            case.respond_by = self.respond_by
            case.settle_by = self.settle_by
            case.tier_entered_at = self.timestamp
            case.responded_at_tier = None

    @dataclass(frozen=True)
    class Acknowledged(Event):
        """受理: someone at the case's tier has taken it up.

        The first one moves a reported case on; a later one, at a tier the case climbed to
        while already assigned or in mediation, records that tier's response and leaves the
        work where it stands.
        """

        LABEL = "已受理"

        def apply_to(self, case: Any) -> None:
            if case.status is Status.REPORTED:
                case.status = Status.ACKNOWLEDGED

    @dataclass(frozen=True)
    class Assigned(Event):
        """`reason` says why this person: skill, place, availability, load."""

        LABEL = "已派单"

        assignee_id: str
        assignee_role: str

        def apply_to(self, case: Any) -> None:
            case.status = Status.ASSIGNED
            case.assignee = Actor(self.assignee_id, Role(self.assignee_role))
            case.accepted_at = None
            case.queued_at = None

    @dataclass(frozen=True)
    class AssignmentAccepted(Event):
        """The assignee took the work on (接单); the case stays assigned until work starts."""

        LABEL = "已接单"

        def apply_to(self, case: Any) -> None:
            case.accepted_at = self.timestamp

    @dataclass(frozen=True)
    class AssignmentDeclined(Event):
        """The work given back undone, with the reason: by its assignee (退单), or taken off
        them by the property manager (`Case.take_off`: ill, not answering, gone away). Either
        way the one who held it is not offered this case by the rule again."""

        LABEL = "已退单"

        def apply_to(self, case: Any) -> None:
            case.declined_by.append(case.assignee.id if case.assignee else self.actor_id)
            case.assignee = None
            case.accepted_at = None
            case.status = Status.ACKNOWLEDGED

    @dataclass(frozen=True)
    class QueuedForAssignment(Event):
        """Nobody suitable was free; `reason` says why. Not a response: the deadline runs on."""

        LABEL = "排队待派"

        def apply_to(self, case: Any) -> None:
            case.queued_at = self.timestamp

    @dataclass(frozen=True)
    class Escalated(Event):
        """`tier`: where the case was; `to_tier`: the rung above; `automatic`: a deadline did it."""

        LABEL = "已升级"

        to_tier: str
        automatic: bool

        def apply_to(self, case: Any) -> None:
            case.tier = Tier(self.to_tier)
            case.escalations += 1
            case.failed_rounds_at_tier = 0

    @dataclass(frozen=True)
    class Resolved(Event):
        """Settled at `tier`: the headline measure of how well a compound is governed."""

        LABEL = "已解决"

        summary: str

        def apply_to(self, case: Any) -> None:
            case.status = Status.RESOLVED
            case.settled_tier = Tier(self.tier)
            case.resolved_at = self.timestamp
            case.visited_since_resolved = False

    @dataclass(frozen=True)
    class ConfirmedByResident(Event):
        LABEL = "居民已确认"

        def apply_to(self, case: Any) -> None:
            case.status = Status.CONFIRMED

    @dataclass(frozen=True)
    class Reopened(Event):
        LABEL = "已重开"

        def apply_to(self, case: Any) -> None:
            case.reopen_count += 1
            case.settled_tier = None
            case.resolved_at = None
            case.visited_since_resolved = False
            case.status = case.status_after_reopen()

    @dataclass(frozen=True)
    class SatisfactionRated(Event):
        LABEL = "已评满意度"

        score: int
        comment: str

        def apply_to(self, case: Any) -> None:
            case.satisfaction = self.score

    @dataclass(frozen=True)
    class ReturnVisitRecorded(Event):
        """回访: staff call back after the work to hear how it went."""

        LABEL = "已回访"

        note: str

        def apply_to(self, case: Any) -> None:
            case.return_visits += 1
            case.visited_since_resolved = True

    @dataclass(frozen=True)
    class Closed(Event):
        LABEL = "已结案"

        def apply_to(self, case: Any) -> None:
            case.status = Status.CLOSED
            case.closed_at = self.timestamp

    @dataclass(frozen=True)
    class NoteAdded(Event):
        LABEL = "已加备注"

        text: str

        def apply_to(self, case: Any) -> None:
            case.note_count += 1

    @dataclass(frozen=True)
    class LinkedToCase(Event):
        """`relation` e.g. 'damage_dispute' (a leak's damage opened it) or 'duplicate_of'."""

        LABEL = "已关联案件"

        other_case_id: str
        relation: str

        def apply_to(self, case: Any) -> None:
            case.links.append((self.other_case_id, self.relation))

    # ------------------------------------------------------------------ state

    def __init__(self) -> None:
        super().__init__()
        self.address: Address
        self.priority: Priority
        self.tier: Tier
        self.entry_tier: Tier
        self.description = ""
        self.channel = ""
        self.reporter_ids: list[str] = []
        self.reported_at: datetime
        self.status = Status.REPORTED
        self.respond_by: datetime | None = None
        self.settle_by: datetime | None = None
        self.tier_entered_at: datetime | None = None
        self.acknowledged_at: datetime | None = None
        self.responded_at_tier: datetime | None = None
        self.assignee: Actor | None = None
        self.accepted_at: datetime | None = None
        self.queued_at: datetime | None = None
        self.declined_by: list[str] = []
        self.escalations = 0
        self.failed_rounds_at_tier = 0
        self.settled_tier: Tier | None = None
        self.resolved_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.reopen_count = 0
        self.satisfaction: int | None = None
        self.return_visits = 0
        # A return visit (回访) since the case was last resolved: closing needs one about the
        # work as it was finally settled, not about an attempt the resident then reopened.
        self.visited_since_resolved = False
        self.note_count = 0
        self.links: list[tuple[str, str]] = []

    @property
    def kind(self) -> str:
        return self.KIND

    @property
    def reporter_id(self) -> str:
        return self.reporter_ids[0]

    def note_response(self, at: datetime) -> None:
        """A response (an event named in `ANSWERS_A_TIER`) answers both clocks: the first
        response ever (`acknowledged_at`, which the response rate reads) and the response at the
        tier the case is at now (`responded_at_tier`, which the ladder and the overdue list read;
        `DeadlinesSet` clears it when the case enters a tier).

        Called from `Event.apply`, so it reads only the event's own time.
        """
        if self.acknowledged_at is None:
            self.acknowledged_at = at
        if self.responded_at_tier is None:
            self.responded_at_tier = at

    # -------------------------------------------------------------- plumbing

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        """Chain every new event to its predecessor and stamp the tier it happened at."""
        kwargs.setdefault("tier", self.tier.value)
        super().trigger_event(event_class, **kwargs)

    def _record(self, event_class: Any, actor: Actor, at: datetime, **kwargs: Any) -> None:
        self.check_in_order(require_aware(at))
        self.record(event_class, actor, at, **kwargs)

    @classmethod
    def _open(
        cls: type[TCase],
        event_class: Any,
        *,
        actor: Actor,
        at: datetime,
        address: Address,
        tier: Tier,
        priority: str,
        description: str,
        channel: str,
        **kwargs: Any,
    ) -> TCase:
        check_may(actor, "report")
        if priority not in PRIORITIES:
            raise ValidationError(
                f"priority must be one of {', '.join(PRIORITIES)}, not {priority!r}"
            )
        if channel not in CHANNELS:
            raise ValidationError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
        case = cls.start(
            event_class,
            uuid4(),
            actor,
            at,
            tier=tier.value,
            address=address.path,
            priority=priority,
            description=_require_text(description, "the description"),
            channel=channel,
            **kwargs,
        )
        case._set_deadlines(actor, at)
        return case

    def _set_deadlines(self, actor: Actor, at: datetime) -> None:
        table = deadlines_for(self.KIND, self.priority.value, self.tier)
        self._record(
            self.DeadlinesSet,
            actor,
            at,
            respond_by=at + table.respond_within,
            settle_by=at + table.settle_within,
        )

    @property
    def last_event_at(self) -> datetime:
        """When the latest recorded event happened: no new event may be dated earlier."""
        return self.modified_on

    def check_in_order(self, at: datetime) -> None:
        """Refuse a fact dated before the case's latest: the file's order is its time order.

        Auditors read a case file as a timeline and `state_as_of(at=...)` cuts it by time; both
        are only true if no event is earlier than its predecessor. The same moment is allowed
        (one command may record several events at once).
        """
        last = self.last_event_at
        if at < last:
            raise OutOfOrderError(
                f"case {self.id}'s latest event is dated {last.isoformat()}; a command dated "
                f"{at.isoformat()}, earlier, would put its file out of time order (is this "
                "writer's clock behind?)"
            )

    # ----------------------------------------------------------------- rules

    def check_open(self, action: str) -> None:
        if self.status is Status.CLOSED:
            raise InvalidTransitionError(f"case {self.id} is closed; it cannot {action}")

    def check_unsettled(self, action: str) -> None:
        self.check_open(action)
        if self.status in SETTLED:
            raise InvalidTransitionError(
                f"case {self.id} is already {self.status.value}; reopen it before it can {action}"
            )

    def check_status(self, action: str, *allowed: Status) -> None:
        self.check_open(action)
        if self.status not in allowed:
            names = " or ".join(s.value for s in allowed)
            raise InvalidTransitionError(
                f"case {self.id} is {self.status.value}; it must be {names} to {action}"
            )

    def check_reporter(self, actor: Actor, action: str) -> None:
        if actor.role is Role.RESIDENT and actor.id not in self.reporter_ids:
            raise InvalidTransitionError(
                f"only a resident who reported case {self.id} may {action}"
            )

    def check_ready_to_resolve(self) -> None:
        """Each kind says what must have happened before the case can be called settled."""

    def status_after_reopen(self) -> Status:
        return Status.ACKNOWLEDGED

    # -------------------------------------------------------------- commands

    def add_reporter(self, actor: Actor, at: datetime, channel: str) -> None:
        check_may(actor, "add_reporter")
        self.check_unsettled("take another report")
        if actor.id in self.reporter_ids:
            raise InvalidTransitionError(f"{actor.id} has already reported case {self.id}")
        self._record(self.ReporterAdded, actor, at, reporter_id=actor.id, channel=channel)

    def acknowledge(self, actor: Actor, at: datetime, note: str = "") -> None:
        """Take the case up at its tier: once when reported, and again at each tier it climbs to.

        A case escalated while assigned (or in mediation) keeps its work going, but the tier it
        landed on owes its own response by its own `respond_by`; acknowledging is how that
        tier's people (the property manager at the compound, the community officer above)
        record it without undoing the assignment.
        """
        check_may(actor, "acknowledge")
        if self.status is not Status.REPORTED:
            self.check_unsettled("be acknowledged")
            if self.responded_at_tier is not None:
                raise InvalidTransitionError(
                    f"case {self.id} is {self.status.value} and was already answered at the "
                    f"{self.tier.value} tier (at {self.responded_at_tier.isoformat()}); "
                    "it can be acknowledged again only when it climbs to another tier"
                )
        self._record(self.Acknowledged, actor, at, reason=note)

    def assign(self, actor: Actor, at: datetime, assignee: Actor, why: str) -> None:
        check_may(actor, "assign")
        if not self.ASSIGNABLE:
            raise InvalidTransitionError(f"a {self.KIND} is mediated, not assigned")
        if assignee.role not in (Role.PROPERTY_STAFF, Role.PROPERTY_MANAGER, Role.VOLUNTEER):
            raise ValidationError(
                f"work goes to property staff or volunteers, not to a {assignee.role.value}"
            )
        self.check_status("be assigned", Status.REPORTED, Status.ACKNOWLEDGED)
        self._record(
            self.Assigned,
            actor,
            at,
            reason=_require_text(why, "why this assignee"),
            assignee_id=assignee.id,
            assignee_role=assignee.role.value,
        )

    def check_assignee(self, actor: Actor, action: str) -> None:
        if self.assignee is None or self.assignee.id != actor.id:
            who = self.assignee.id if self.assignee else "nobody"
            raise InvalidTransitionError(
                f"case {self.id} is assigned to {who}; {actor.id} cannot {action}"
            )

    def accept_assignment(self, actor: Actor, at: datetime) -> None:
        check_may(actor, "accept_assignment")
        self.check_status("be accepted", Status.ASSIGNED)
        self.check_assignee(actor, "accept it")
        if self.accepted_at is not None:
            raise InvalidTransitionError(f"{actor.id} has already accepted case {self.id}")
        self._record(self.AssignmentAccepted, actor, at)

    def queue_for_assignment(self, actor: Actor, at: datetime, why: str) -> None:
        """Record that the case waits for someone suitable to be free, and why; once per wait."""
        check_may(actor, "queue_for_assignment")
        if not self.ASSIGNABLE:
            raise InvalidTransitionError(f"a {self.KIND} is mediated, not assigned")
        self.check_status("wait for an assignee", Status.REPORTED, Status.ACKNOWLEDGED)
        if self.queued_at is not None:
            raise InvalidTransitionError(f"case {self.id} is already waiting for an assignee")
        self._record(self.QueuedForAssignment, actor, at, reason=_require_text(why, "why it waits"))

    def decline_assignment(self, actor: Actor, at: datetime, reason: str) -> None:
        check_may(actor, "decline_assignment")
        self.check_status("be declined", Status.ASSIGNED)
        self.check_assignee(actor, "decline it")
        self._record(self.AssignmentDeclined, actor, at, reason=_require_text(reason, "the reason"))

    def take_off(self, actor: Actor, at: datetime, reason: str) -> None:
        """The manager takes held work off its assignee (before or during the work), so it can
        go to someone else: recorded as the assignment declined, by the manager, with the reason.
        Who may do it beyond `assign` (the property manager only) is the caller's rule."""
        check_may(actor, "assign")
        self.check_status("be taken off its assignee", Status.ASSIGNED, Status.IN_PROGRESS)
        if self.assignee is None:
            raise InvalidTransitionError(f"case {self.id} has nobody to take it off")
        self._record(self.AssignmentDeclined, actor, at, reason=_require_text(reason, "the reason"))

    def escalate(self, actor: Actor, at: datetime, reason: str, *, automatic: bool = False) -> None:
        """Up exactly one rung, with a reason; `automatic` marks a deadline's doing."""
        check_may(actor, "escalate")
        self.check_unsettled("be escalated")
        above = self.tier.next_up()
        if above is None:
            raise InvalidTransitionError(
                f"case {self.id} is already at the community, the top of the ladder"
            )
        if automatic and actor.role is not Role.SYSTEM:
            raise ValidationError("only the scheduler records automatic escalations")
        self._record(
            self.Escalated,
            actor,
            at,
            reason=_require_text(reason, "the reason for escalating"),
            to_tier=above.value,
            automatic=automatic,
        )
        self._set_deadlines(actor, at)

    def escalation_reason(self, now: datetime) -> str | None:
        """Why the case should climb now, or None. Reads deadlines recorded on the case."""
        if self.status in SETTLED or self.tier.next_up() is None:
            return None
        if self.awaits_response_at_tier() and self.respond_by and now > self.respond_by:
            return "deadline passed: no response"
        if self.settle_by and now > self.settle_by and not self.settled_at_this_tier_in_time():
            return "deadline passed: not settled at this tier"
        return None

    def escalation_due_at(self) -> datetime | None:
        """After which moment `escalation_reason` gives a reason, if nothing more is recorded.

        What a scheduler sleeps until, read from the deadlines recorded on the case (never the
        table or the clock). None when no deadline can make the case climb any more. Only
        reasons that a passing moment brings; one that already holds whatever the time (a
        dispute's failed rounds) is for the caller to ask `escalation_reason(now)` about.
        """
        if self.status in SETTLED or self.tier.next_up() is None:
            return None
        moments = self.escalation_moments()
        return min(moments) if moments else None

    def escalation_moments(self) -> list[datetime]:
        """Each deadline still able to make the case climb; kinds with more of them add theirs."""
        moments: list[datetime] = []
        if self.respond_by and self.awaits_response_at_tier():
            moments.append(self.respond_by)
        if self.settle_by and not self.settled_at_this_tier_in_time():
            moments.append(self.settle_by)
        return moments

    def awaits_response_at_tier(self) -> bool:
        """Nobody has answered at this tier since the case entered it, and its substance is not
        settled here either (a leak's water stopped, a dispute agreed): then "no response" is
        still a reason to climb once `respond_by` passes."""
        return self.responded_at_tier is None and not self.settled_at_this_tier_in_time()

    def settled_at_this_tier_in_time(self) -> bool:
        """Kinds with an earlier milestone than `resolved` (a leak: water stopped) override."""
        return False

    def resolve(self, actor: Actor, at: datetime, summary: str) -> None:
        check_may(actor, "resolve")
        self.check_unsettled("be resolved")
        self.check_ready_to_resolve()
        self._record(self.Resolved, actor, at, summary=_require_text(summary, "the summary"))

    def confirm_resolution(self, actor: Actor, at: datetime) -> None:
        check_may(actor, "confirm_resolution")
        self.check_status("be confirmed", Status.RESOLVED)
        self.check_reporter(actor, "confirm it")
        self._record(self.ConfirmedByResident, actor, at)

    def reopen(self, actor: Actor, at: datetime, reason: str) -> None:
        check_may(actor, "reopen")
        self.check_status("be reopened", Status.RESOLVED, Status.CONFIRMED)
        self.check_reporter(actor, "reopen it")
        assert self.resolved_at is not None
        if at - self.resolved_at > REOPEN_WITHIN:
            raise InvalidTransitionError(
                f"case {self.id} was resolved more than {REOPEN_WITHIN.days} days ago; "
                "report the problem again as a new case"
            )
        self._reopen(actor, at, _require_text(reason, "the reason"))

    def _reopen(self, actor: Actor, at: datetime, reason: str) -> None:
        """Reopening puts the matter back before the tier it was settled at, so that tier owes a
        new response and a new settlement: fresh deadlines from now, or the old, long-passed
        ones would make the case climb the moment it reopened."""
        self._record(self.Reopened, actor, at, reason=reason)
        self._set_deadlines(actor, at)

    def rate_satisfaction(self, actor: Actor, at: datetime, score: int, comment: str = "") -> None:
        check_may(actor, "rate_satisfaction")
        self.check_status("be rated", Status.RESOLVED, Status.CONFIRMED)
        self.check_reporter(actor, "rate it")
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise ValidationError(f"satisfaction is a whole number from 1 to 5, not {score!r}")
        self._record(self.SatisfactionRated, actor, at, score=score, comment=comment.strip())

    def record_return_visit(self, actor: Actor, at: datetime, note: str) -> None:
        check_may(actor, "record_return_visit")
        self.check_status("get a return visit", Status.RESOLVED, Status.CONFIRMED)
        self._record(self.ReturnVisitRecorded, actor, at, note=_require_text(note, "the note"))

    def close_case(self, actor: Actor, at: datetime, reason: str = "") -> None:
        """Close the case file (结案) once nothing is left for anyone to do on it.

        Closing is final: a closed case can no longer be reopened, rated or visited back. So
        whoever closes (a desk, a service, a script through the library) is held to
        `check_closable` here, in the aggregate, not in one caller.
        """
        check_may(actor, "close_case")
        self.check_closable(require_aware(at))
        self._record(self.Closed, actor, at, reason=reason.strip())

    def check_closable(self, at: datetime) -> None:
        """Refuse, with what is still missing, to close at `at` a case someone may still act on.

        The resident has had their say (they confirmed the work, or the reopening window since
        it was resolved has passed, so they can no longer reopen it), and staff have made the
        return visit (回访) since it was last resolved. Kinds add their own (a dispute: every
        commitment checked back). Reads only the case and `at`, never the clock.
        """
        if self.status is Status.CLOSED:
            raise InvalidTransitionError(f"case {self.id} is already closed")
        if self.status not in (Status.RESOLVED, Status.CONFIRMED):
            raise InvalidTransitionError(
                f"case {self.id} is {self.status.value}; it is closed only after it is resolved"
            )
        if self.status is Status.RESOLVED:
            assert self.resolved_at is not None
            window_ends = self.resolved_at + REOPEN_WITHIN
            if at <= window_ends:
                raise InvalidTransitionError(
                    f"case {self.id} waits for its reporter to confirm the work; unconfirmed, it "
                    f"can be closed after {window_ends.isoformat(timespec='minutes')}, when the "
                    f"{REOPEN_WITHIN.days}-day reopening window ends"
                )
        if not self.visited_since_resolved:
            raise InvalidTransitionError(
                f"case {self.id} has no return visit (回访) since it was resolved; record one first"
            )

    def add_note(self, actor: Actor, at: datetime, text: str) -> None:
        check_may(actor, "add_note")
        self.check_open("take a note")
        self._record(self.NoteAdded, actor, at, text=_require_text(text, "the note"))

    def link(self, actor: Actor, at: datetime, other_case_id: UUID, relation: str) -> None:
        check_may(actor, "link")
        self.check_open("be linked")
        if other_case_id == self.id:
            raise ValidationError("a case cannot be linked to itself")
        if (str(other_case_id), relation) in self.links:
            raise InvalidTransitionError(f"case {self.id} is already linked to {other_case_id}")
        self._record(
            self.LinkedToCase,
            actor,
            at,
            other_case_id=str(other_case_id),
            relation=_require_text(relation, "the relation", 64),
        )

    # ---------------------------------------------------------------- export

    def snapshot(self) -> dict[str, Any]:
        """Plain current state for views and for comparing replays."""
        return {
            "id": str(self.id),
            "kind": self.KIND,
            "version": self.version,
            "address": self.address.path,
            "priority": self.priority.value,
            "tier": self.tier.value,
            "entry_tier": self.entry_tier.value,
            "status": self.status.value,
            "description": self.description,
            "channel": self.channel,
            "reporter_ids": list(self.reporter_ids),
            "reported_at": self.reported_at.isoformat(),
            "respond_by": self.respond_by.isoformat() if self.respond_by else None,
            "settle_by": self.settle_by.isoformat() if self.settle_by else None,
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
            "responded_at_tier": (
                self.responded_at_tier.isoformat() if self.responded_at_tier else None
            ),
            "accepted_at": self.accepted_at.isoformat() if self.accepted_at else None,
            "queued_at": self.queued_at.isoformat() if self.queued_at else None,
            "assignee": (
                {"id": self.assignee.id, "role": self.assignee.role.value}
                if self.assignee
                else None
            ),
            "escalations": self.escalations,
            "settled_tier": self.settled_tier.value if self.settled_tier else None,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "reopen_count": self.reopen_count,
            "satisfaction": self.satisfaction,
            "return_visits": self.return_visits,
            "note_count": self.note_count,
            "links": [{"case_id": c, "relation": r} for c, r in self.links],
            "chain_head": self.chain_head,
            **self.kind_snapshot(),
        }

    def kind_snapshot(self) -> dict[str, Any]:
        return {}
