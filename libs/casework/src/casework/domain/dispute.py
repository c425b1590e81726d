"""Dispute (矛盾纠纷): settled by mediation in rounds, at the lowest tier that can settle it.

Each tier has its own forms of meeting (the "three meetings" 三会, evening talks, door-to-door
visits); county departments sit only at the community's deliberation council. An agreement has
terms and commitments (who does what by when); a broken commitment reopens the dispute. The rule
tables are in `mediation_rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from casework.domain.actors import Actor, Role, check_may
from casework.domain.case import Case, Status, _require_text
from casework.domain.errors import InvalidTransitionError, ValidationError
from casework.domain.ladder import FAILED_ROUNDS_BEFORE_ESCALATION
from casework.domain.mediation_checks import (
    check_commitments,
)
from casework.domain.mediation_lead import LeadCommands
from casework.domain.mediation_meetings import MeetingCommands
from casework.domain.mediation_records import (
    Commitment,
    Lead,
    Meeting,
    Round,
    participant_of,
)
from casework.domain.mediation_rules import (
    DISPUTE_CATEGORIES,
    ESCALATION_GROUNDS,
    MATTERS,
    starting_tier,
)
from casework.domain.personal import EACH_KEY, personal
from casework.domain.places import Address, Tier


class Dispute(LeadCommands, MeetingCommands, Case):
    KIND = "dispute"

    @dataclass(frozen=True)
    class Reported(Case.Opened):
        """Version 2 added `contact` (see `Case.Opened`)."""

        class_version = 2
        upcast_v1_v2 = staticmethod(Case.Opened.upcast_contact)

        category: str
        parties: list[str]

        def apply_to(self, case: Any) -> None:
            super().apply_to(case)
            assert isinstance(case, Dispute)
            case.category = self.category
            case.parties = list(self.parties)

    @dataclass(frozen=True)
    class MediationConvened(Case.Event):
        LABEL = "已召集调解"

        meeting_id: str
        form: str
        scheduled_for: datetime
        place: str
        participants: list[dict[str, str]]

        def apply_to(self, case: Any) -> None:
            assert isinstance(case, Dispute)
            case.status = Status.IN_MEDIATION
            case.meetings[self.meeting_id] = Meeting(
                form=self.form,
                tier=Tier(self.tier),
                scheduled_for=self.scheduled_for,
                place=self.place,
                participants=tuple(participant_of(p) for p in self.participants),
                convened_by=self.actor_id,
            )
            case.note_response(self.timestamp)  # convening is this tier's response

    @dataclass(frozen=True)
    class ParticipantJoined(Case.Event):
        """Someone not invited took part (a neighbour who walked in); `reason` says why."""

        LABEL = "临时加入调解"

        meeting_id: str
        participant: dict[str, str]

        def apply_to(self, case: Any) -> None:
            assert isinstance(case, Dispute)
            meeting = case.meetings[self.meeting_id]
            case.meetings[self.meeting_id] = meeting.joined_by(participant_of(self.participant))

    @dataclass(frozen=True)
    class ParticipantInvited(Case.Event):
        """Someone was invited to the meeting after its convening, before the round they are to
        sit at (a county department, a neighbour); `reason` says why."""

        LABEL = "追加邀请参会"

        meeting_id: str
        participant: dict[str, str]

        def apply_to(self, case: Any) -> None:
            assert isinstance(case, Dispute)
            meeting = case.meetings[self.meeting_id]
            case.meetings[self.meeting_id] = meeting.joined_by(participant_of(self.participant))

    @dataclass(frozen=True)
    class MeetingRescheduled(Case.Event):
        """The meeting's next round moves to a new time and place; `reason` says why."""

        LABEL = "调解会改期"

        meeting_id: str
        scheduled_for: datetime
        place: str

        def apply_to(self, case: Any) -> None:
            assert isinstance(case, Dispute)
            meeting = case.meetings[self.meeting_id]
            case.meetings[self.meeting_id] = meeting.rescheduled(self.scheduled_for, self.place)

    @dataclass(frozen=True)
    class MeetingCancelled(Case.Event):
        """The meeting is called off (its rounds, if any, stand); `reason` says why."""

        LABEL = "调解会取消"

        meeting_id: str

        def apply_to(self, case: Any) -> None:
            assert isinstance(case, Dispute)
            case.meetings[self.meeting_id] = case.meetings[self.meeting_id].called_off()

    @dataclass(frozen=True)
    class RoundHeld(Case.Event):
        """One round: who came, their positions, proposals, and for consultations the tally.

        Each stated position is personal data of the party who stated it."""

        LABEL = "调解一轮"
        PERSONAL = personal(positions=EACH_KEY)

        meeting_id: str
        round_no: int
        attendees: list[str]
        positions: dict[str, str]
        proposals: list[str]
        options: list[str]
        tally: dict[str, int]
        outcome: str

        def apply_to(self, case: Any) -> None:
            assert isinstance(case, Dispute)
            meeting = case.meetings[self.meeting_id]
            case.meetings[self.meeting_id] = meeting.after_round(self.round_no)
            case.rounds_held += 1
            if self.tally:
                case.last_tallied = Round(self.meeting_id, self.round_no, tuple(self.tally.items()))

    @dataclass(frozen=True)
    class MediationFailed(Case.Event):
        LABEL = "调解未成"

        meeting_id: str

        def apply_to(self, case: Any) -> None:
            assert isinstance(case, Dispute)
            case.failed_rounds_at_tier += 1

    @dataclass(frozen=True)
    class AgreementReached(Case.Event):
        """Terms and commitments; `reason` cites what decided it (e.g. the final tally)."""

        LABEL = "已达成协议"

        meeting_id: str
        terms: list[str]
        commitments: list[dict[str, str]]

        def apply_to(self, case: Any) -> None:
            assert isinstance(case, Dispute)
            case.status = Status.AGREED
            case.terms = list(self.terms)
            case.commitments = [
                Commitment(str(c.get("who", "")), str(c.get("what", "")), str(c.get("due", "")))
                for c in self.commitments
            ]

    @dataclass(frozen=True)
    class CommitmentFollowedUp(Case.Event):
        LABEL = "已跟进承诺"

        commitment_index: int
        kept: bool
        note: str

        def apply_to(self, case: Any) -> None:
            assert isinstance(case, Dispute)
            promised = case.commitments[self.commitment_index]
            case.commitments[self.commitment_index] = promised.followed_up(self.kept)

    @dataclass(frozen=True)
    class CommitmentFellDue(Case.Event):
        """The check-back: a commitment's due date passed with no follow-up yet recorded."""

        LABEL = "承诺到期待回访"

        commitment_index: int
        due: str

        def apply_to(self, case: Any) -> None:
            assert isinstance(case, Dispute)
            promised = case.commitments[self.commitment_index]
            case.commitments[self.commitment_index] = promised.fallen_due()

    @dataclass(frozen=True)
    class LeadMediatorNamed(Case.Event):
        """Who answers for the dispute at `tier` from now on: a mediator there who took the lead
        (`lead_id` is the actor) or whom the tier's head named; `reason` says why. The lead
        lapses when the dispute climbs: the tier above has its own people."""

        LABEL = "确定主调解人"

        lead_id: str
        lead_role: str

        def apply_to(self, case: Any) -> None:
            assert isinstance(case, Dispute)
            case.lead = Lead(
                id=self.lead_id,
                role=Role(self.lead_role),
                tier=Tier(self.tier),
                named_by=self.actor_id,
                since=self.timestamp,
            )

    def __init__(self) -> None:
        super().__init__()
        self.lead: Lead | None = None
        self.category = ""
        self.parties: list[str] = []
        self.meetings: dict[str, Meeting] = {}
        self.rounds_held = 0
        self.last_tallied: Round | None = None
        self.terms: list[str] = []
        self.commitments: list[Commitment] = []

    @classmethod
    def report(
        cls,
        actor: Actor,
        at: datetime,
        address: Address,
        description: str,
        category: str,
        parties: list[str] | None = None,
        *,
        tier: Tier | None = None,
        priority: str = "routine",
        channel: str = "phone",
        contact: str = "",
        case_id: UUID | None = None,
    ) -> Dispute:
        if category not in DISPUTE_CATEGORIES:
            raise ValidationError(
                f"dispute category must be one of {', '.join(DISPUTE_CATEGORIES)}, not {category!r}"
            )
        start = tier or starting_tier(category, address)
        return cls._open(
            cls.Reported,
            actor=actor,
            at=at,
            address=address,
            tier=start,
            priority=priority,
            description=description,
            channel=channel,
            contact=contact,
            case_id=case_id,
            category=category,
            parties=[p.strip() for p in (parties or []) if p.strip()],
        )

    def record_mediation_failed(
        self, actor: Actor, at: datetime, meeting_id: str, reason: str
    ) -> None:
        check_may(actor, "record_mediation_failed")
        self.check_unsettled("record a failed mediation")
        self.check_mediator(actor, "record a failed mediation")
        if meeting_id not in self.meetings:
            raise InvalidTransitionError(f"meeting {meeting_id} was not convened for this dispute")
        self._record(
            self.MediationFailed,
            actor,
            at,
            reason=_require_text(reason, "the reason"),
            meeting_id=meeting_id,
        )

    def reach_agreement(
        self,
        actor: Actor,
        at: datetime,
        meeting_id: str,
        terms: list[str],
        commitments: list[dict[str, str]],
        basis: str = "",
    ) -> None:
        """`commitments`: [{"who": id, "what": text, "due": ISO date}], checked back when due.

        Where rounds were tallied (an opinion collection), the reason cites the latest tally, so
        that the decision shows the count it rests on.
        """
        check_may(actor, "reach_agreement")
        self.check_status("reach an agreement", Status.IN_MEDIATION)
        self.check_mediator(actor, "record an agreement")
        if meeting_id not in self.meetings:
            raise InvalidTransitionError(f"meeting {meeting_id} was not convened for this dispute")
        if self.meetings[meeting_id].cancelled:
            raise InvalidTransitionError(
                f"meeting {meeting_id} was cancelled; record the agreement at the meeting that "
                "reached it"
            )
        clean_terms = [_require_text(t, "a term", 1000) for t in terms]
        if not clean_terms:
            raise ValidationError("an agreement needs at least one term")
        self._record(
            self.AgreementReached,
            actor,
            at,
            reason="; ".join(part for part in (basis.strip(), self.tally_citation()) if part),
            meeting_id=meeting_id,
            terms=clean_terms,
            commitments=check_commitments(commitments, at),
        )

    def record_follow_up(
        self, actor: Actor, at: datetime, commitment_index: int, kept: bool, note: str
    ) -> None:
        """A broken commitment reopens the dispute, whenever it falls due."""
        check_may(actor, "record_follow_up")
        self.check_open("follow up a commitment")
        if not 0 <= commitment_index < len(self.commitments):
            raise ValidationError(f"there is no commitment #{commitment_index} on this dispute")
        if not self.commitments[commitment_index].is_open:
            raise InvalidTransitionError(f"commitment #{commitment_index} was already followed up")
        self._record(
            self.CommitmentFollowedUp,
            actor,
            at,
            commitment_index=commitment_index,
            kept=kept,
            note=_require_text(note, "the follow-up note"),
        )
        if not kept and self.status in (Status.AGREED, Status.RESOLVED, Status.CONFIRMED):
            what = self.commitments[commitment_index].what
            self._reopen(actor, at, f"commitment broken: {what}")

    def check_back_commitments(self, actor: Actor, at: datetime) -> list[int]:
        """The scheduler's check-back: every commitment whose due date has passed and that
        nobody has followed up is marked due (once), for a mediator to call on and record."""
        check_may(actor, "check_back_commitments")
        self.check_open("check back its commitments")
        fell_due: list[int] = []
        for index, c in enumerate(self.commitments):
            if c.falls_due_by(at):
                self._record(
                    self.CommitmentFellDue,
                    actor,
                    at,
                    reason=f"{c.who} was to {c.what} by {c.due}; check it back",
                    commitment_index=index,
                    due=c.due,
                )
                fell_due.append(index)
        return fell_due

    def escalate_on_grounds(
        self,
        actor: Actor,
        at: datetime,
        grounds: str,
        reason: str = "",
        matter: str | None = None,
    ) -> None:
        """A mediator sends the dispute up one rung, on grounds the case file can bear out.

        `failed_rounds` needs the set number of failed rounds at this tier, `deadline_passed` a
        passed deadline, `outside_powers` a matter (see `MATTERS`) decided above this tier; for
        `other`, the reason alone. The recorded reason states the grounds, then the mediator's
        words.
        """
        check_may(actor, "escalate")
        self.check_unsettled("be escalated")
        said = reason.strip()
        if grounds == "failed_rounds":
            n = self.failed_rounds_at_tier
            if n < FAILED_ROUNDS_BEFORE_ESCALATION:
                raise InvalidTransitionError(
                    f"mediation has failed {n} round(s) at the {self.tier.value}; "
                    f"{FAILED_ROUNDS_BEFORE_ESCALATION} are needed (or give other grounds)"
                )
            stated = f"mediation failed {n} rounds at the {self.tier.value}"
        elif grounds == "deadline_passed":
            passed = Case.escalation_reason(self, at)
            if passed is None:
                raise InvalidTransitionError(
                    f"no deadline of dispute {self.id} has passed at the {self.tier.value} "
                    f"(settle by {self.settle_by.isoformat() if self.settle_by else '-'})"
                )
            stated = passed
        elif grounds == "outside_powers":
            if matter not in MATTERS:
                raise ValidationError(
                    "name the matter outside this tier's powers: one of " + ", ".join(MATTERS)
                )
            label, needs = MATTERS[matter]
            if needs.rank <= self.tier.rank:
                raise InvalidTransitionError(
                    f"{label} is within the {self.tier.value}'s powers; settle it here"
                )
            stated = f"outside the {self.tier.value}'s powers: {label} is decided at the {needs}"
        elif grounds == "other":
            stated = _require_text(said, "the reason for escalating")
            said = ""
        else:
            raise ValidationError(f"grounds must be one of {', '.join(ESCALATION_GROUNDS)}")
        self.escalate(actor, at, f"{stated}: {said}" if said else stated)

    @property
    def last_tally(self) -> dict[str, int]:
        """The counts of the latest tallied round (empty if no round was tallied)."""
        return self.last_tallied.counts if self.last_tallied else {}

    def tally_citation(self) -> str:
        """The latest tallied round's citation (see `Round.citation`), or empty."""
        return self.last_tallied.citation() if self.last_tallied else ""

    def check_ready_to_resolve(self) -> None:
        if self.status is not Status.AGREED:
            raise InvalidTransitionError(
                f"dispute {self.id} is {self.status.value}; it needs an agreement to be resolved"
            )

    def check_closable(self, at: datetime) -> None:
        """A commitment still pending or due may yet be broken, and a broken one reopens the
        dispute: so the file stays open until each has been checked back. Numbered as
        `record_follow_up` takes them (from 0)."""
        super().check_closable(at)
        waiting = [i for i, c in enumerate(self.commitments) if c.is_open]
        if waiting:
            raise InvalidTransitionError(
                f"dispute {self.id} has commitments not yet checked back "
                f"({', '.join(f'#{i}' for i in waiting)}); record their follow-ups first"
            )

    def escalation_reason(self, now: datetime) -> str | None:
        if (
            self.failed_rounds_at_tier >= FAILED_ROUNDS_BEFORE_ESCALATION
            and self.status not in (Status.RESOLVED, Status.CONFIRMED, Status.CLOSED, Status.AGREED)
            and self.tier.next_up() is not None
        ):
            return f"mediation failed {self.failed_rounds_at_tier} rounds at the {self.tier.value}"
        return super().escalation_reason(now)

    def settled_at_this_tier_in_time(self) -> bool:
        """An agreement reached at this tier settles the dispute in substance (resolving it is
        the formality after), so its settle deadline no longer makes it climb."""
        return self.status is Status.AGREED

    def status_after_reopen(self) -> Status:
        self.terms = []
        return Status.IN_MEDIATION if self.meetings else Status.ACKNOWLEDGED

    def kind_snapshot(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "parties": list(self.parties),
            "lead_mediator": self.lead_mediator.as_dict() if self.lead_mediator else None,
            "meetings": {k: v.as_dict() for k, v in self.meetings.items()},
            "rounds_held": self.rounds_held,
            "failed_rounds_at_tier": self.failed_rounds_at_tier,
            "last_tally": dict(self.last_tally),
            "tally_citation": self.tally_citation(),
            "terms": list(self.terms),
            "commitments": [c.as_dict() for c in self.commitments],
        }
