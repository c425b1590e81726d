"""The lifecycle every case shares, whatever its kind: its events, its state, its rules.

A case is one event stream, the case file. Each event names its actor, role, time, the tier the
case was at and (where it changes course) a reason, and carries its hash and its predecessor's,
so that an auditor can read and verify the whole story from the stream alone.

The events stay here, nested in `Case` (each kind re-declares them under its own name, and the
store keeps that topic, e.g. `casework.domain.repair:Repair.Assigned`); the commands come in
groups from mixins: `case_assignment`, `case_tiers`,
`case_settlement`; its plain view is `case_snapshot`. The lifecycle's
terms (`Status`, `Priority`, ...) live in `casework.domain.lifecycle` and are re-exported here.

Over 500 lines, on purpose: the shared events must stay nested in `Case` (each kind re-declares
them and the stored topics name them there), so they cannot move to a module of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from casework.domain.actors import Actor, Role, check_may
from casework.domain.case_assignment import AssignmentCommands
from casework.domain.case_settlement import SettlementCommands
from casework.domain.case_snapshot import snapshot_of
from casework.domain.case_tiers import TierCommands
from casework.domain.chained import Chained, require_aware
from casework.domain.errors import InvalidTransitionError, OutOfOrderError, ValidationError
from casework.domain.ladder import PRIORITIES, deadlines_for
from casework.domain.lifecycle import (
    ANSWERS_A_TIER,
    CHANNELS,
    SETTLED,
    Priority,
    Status,
    require_case_text,
)
from casework.domain.personal import ACTOR, REPORTER, personal
from casework.domain.places import Address, Tier

__all__ = ["ANSWERS_A_TIER", "CHANNELS", "SETTLED", "Case", "Priority", "Status", "TCase"]
__all__ += ["_require_text"]

TCase = TypeVar("TCase", bound="Case")

_require_text = require_case_text
"""A case's free text (the kinds' modules import it by this name)."""


class Case(AssignmentCommands, TierCommands, SettlementCommands, Chained):
    """Shared lifecycle: report, respond, escalate, resolve, confirm or reopen, rate, close."""

    KIND: ClassVar[str] = "case"
    ASSIGNABLE: ClassVar[bool] = False

    @dataclass(frozen=True)
    class Event(Chained.Event):
        """Every fact: who (id and role), when (`timestamp`), at which tier, and why."""

        LABEL: ClassVar[str] = ""
        """What residents and officers call it (Chinese), shown beside the class name by the
        timeline; every recorded event declares its own (`casework.domain.catalogue`)."""

        ANSWERS: ClassVar[bool] = False
        """True: the event answers the case at its tier, as those named in `ANSWERS_A_TIER`
        do (a registered kind marks its own events so, without editing that list)."""

        tier: str

        def apply(self, aggregate: Any) -> None:
            assert isinstance(aggregate, Case)
            super().apply(aggregate)
            if self.ANSWERS or type(self).__name__ in ANSWERS_A_TIER:
                aggregate.note_response(self.timestamp)

    @dataclass(frozen=True)
    class Opened(Event, Aggregate.Created):
        """Base of each kind's `Reported` event (the first in every case file)."""

        LABEL = "已上报"
        PERSONAL = personal(description=ACTOR, contact=ACTOR)

        address: str
        priority: str
        description: str
        channel: str
        contact: str
        """How to reach the reporter (a phone number), "" if none was given: personal, sealed
        under the reporter's key, so it lives in the case file (and its backups) and nowhere
        else. Added in each kind's next class version; older reports read back as ""."""

        @staticmethod
        def upcast_contact(state: dict[str, Any]) -> None:
            """Reports stored before the contact moved into the case file had none."""
            state.setdefault("contact", "")

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
            if self.contact:
                case.contacts[self.actor_id] = self.contact
                case.contacts_given_at[self.actor_id] = self.timestamp

    @dataclass(frozen=True)
    class ReporterAdded(Event):
        """A second report of the same matter: the reporter joins the case instead of a new one.

        Version 2 added `contact` (personal, the joining reporter's, sealed under their key);
        version 1 events read back with none (docs/adr/002-event-versioning.md).
        """

        LABEL = "追加报告人"
        PERSONAL = personal(contact="reporter_id")
        class_version = 2

        reporter_id: str
        channel: str
        contact: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.setdefault("contact", "")

        def apply_to(self, case: Any) -> None:
            case.reporter_ids.append(self.reporter_id)
            if self.contact:
                case.contacts[self.reporter_id] = self.contact
                case.contacts_given_at[self.reporter_id] = self.timestamp

    @dataclass(frozen=True)
    class ContactGiven(Event):
        """How to reach a reporter, recorded after their report: contacts kept beside the case
        files before they moved in (the intake's old `intake.db`), migrated once by an operator.

        `given_at` is when the reporter gave it; the event's own time is when it was recorded
        here. The contact is personal, sealed under that reporter's key, like the report's."""

        LABEL = "已留联系方式"
        PERSONAL = personal(contact="reporter_id")

        reporter_id: str
        contact: str
        given_at: datetime

        def apply_to(self, case: Any) -> None:
            case.contacts[self.reporter_id] = self.contact
            case.contacts_given_at[self.reporter_id] = self.given_at

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
        PERSONAL = personal(comment=ACTOR)

        score: int
        comment: str

        def apply_to(self, case: Any) -> None:
            case.satisfaction = self.score

    @dataclass(frozen=True)
    class ReturnVisitRecorded(Event):
        """回访: staff call back after the work to hear how it went."""

        LABEL = "已回访"
        PERSONAL = personal(note=REPORTER)

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
        PERSONAL = personal(text=REPORTER)

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
        self.contacts: dict[str, str] = {}
        """Reporter id -> how to reach them, as each gave it (personal; not in `snapshot`)."""
        self.contacts_given_at: dict[str, datetime] = {}
        """Reporter id -> when the contact in `contacts` was given (a newer one is not
        overwritten by an older one: `give_contact`)."""
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
        contact: str = "",
        case_id: UUID | None = None,
        **kwargs: Any,
    ) -> TCase:
        """`case_id` is given when the report must open at most one case however often it is
        sent (derived from its Idempotency-Key); otherwise a new random one."""
        check_may(actor, "report")
        if priority not in PRIORITIES:
            raise ValidationError(
                f"priority must be one of {', '.join(PRIORITIES)}, not {priority!r}"
            )
        if channel not in CHANNELS:
            raise ValidationError(f"channel must be one of {', '.join(CHANNELS)}, not {channel!r}")
        case = cls.start(
            event_class,
            case_id or uuid4(),
            actor,
            at,
            tier=tier.value,
            address=address.path,
            priority=priority,
            description=_require_text(description, "the description"),
            channel=channel,
            contact=contact.strip(),
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

    def add_reporter(self, actor: Actor, at: datetime, channel: str, contact: str = "") -> None:
        check_may(actor, "add_reporter")
        self.check_unsettled("take another report")
        if actor.id in self.reporter_ids:
            raise InvalidTransitionError(f"{actor.id} has already reported case {self.id}")
        self._record(
            self.ReporterAdded,
            actor,
            at,
            reporter_id=actor.id,
            channel=channel,
            contact=contact.strip(),
        )

    def give_contact(
        self,
        actor: Actor,
        at: datetime,
        reporter_id: str,
        contact: str,
        given_at: datetime,
        why: str,
    ) -> bool:
        """Record a reporter's contact given at `given_at`; False (nothing recorded) if the case
        file already holds theirs given then or later, so a migration run twice records once.

        Allowed on a closed case too: the contact was given while the case was open, and only
        its recording is late (the event's time is now, `given_at` the reporter's)."""
        check_may(actor, "give_contact")
        if reporter_id not in self.reporter_ids:
            raise InvalidTransitionError(f"{reporter_id} has not reported case {self.id}")
        require_aware(given_at)
        if given_at > at:
            raise ValidationError("a contact cannot have been given after it is recorded")
        known = self.contacts_given_at.get(reporter_id)
        if known is not None and known >= given_at:
            return False
        self._record(
            self.ContactGiven,
            actor,
            at,
            reporter_id=reporter_id,
            contact=_require_text(contact, "the contact", 64),
            given_at=given_at,
            reason=_require_text(why, "the reason"),
        )
        return True

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
        return snapshot_of(self)

    def kind_snapshot(self) -> dict[str, Any]:
        return {}
