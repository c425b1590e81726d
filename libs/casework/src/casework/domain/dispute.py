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

from casework.domain.actors import Actor, Role, check_may
from casework.domain.case import Case, Status, _require_text
from casework.domain.errors import InvalidTransitionError, NotPermittedError, ValidationError
from casework.domain.ladder import FAILED_ROUNDS_BEFORE_ESCALATION
from casework.domain.mediation_checks import (
    check_attendance,
    check_commitments,
    check_county_seats,
    check_participants,
    check_round,
    check_walk_ins,
)
from casework.domain.mediation_records import (
    Commitment,
    Lead,
    Meeting,
    Round,
    participant_dict,
    participant_of,
)
from casework.domain.mediation_rules import (
    CONVENERS,
    DISPUTE_CATEGORIES,
    ESCALATION_GROUNDS,
    MATTERS,
    MEETING_FORMS,
    TIER_HEADS,
    starting_tier,
)
from casework.domain.places import Address, Tier
from casework.domain.windows import MEETING


class Dispute(Case):
    KIND = "dispute"

    @dataclass(frozen=True)
    class Reported(Case.Opened):
        category: str
        parties: list[str]

        def apply_to(self, case: Any) -> None:
            super().apply_to(case)
            case.category = self.category
            case.parties = list(self.parties)

    @dataclass(frozen=True)
    class MediationConvened(Case.Event):
        meeting_id: str
        form: str
        scheduled_for: datetime
        place: str
        participants: list[dict[str, str]]

        def apply_to(self, case: Any) -> None:
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

        meeting_id: str
        participant: dict[str, str]

        def apply_to(self, case: Any) -> None:
            meeting = case.meetings[self.meeting_id]
            case.meetings[self.meeting_id] = meeting.joined_by(participant_of(self.participant))

    @dataclass(frozen=True)
    class ParticipantInvited(Case.Event):
        """Someone was invited to the meeting after its convening, before the round they are to
        sit at (a county department, a neighbour); `reason` says why."""

        meeting_id: str
        participant: dict[str, str]

        def apply_to(self, case: Any) -> None:
            meeting = case.meetings[self.meeting_id]
            case.meetings[self.meeting_id] = meeting.joined_by(participant_of(self.participant))

    @dataclass(frozen=True)
    class MeetingRescheduled(Case.Event):
        """The meeting's next round moves to a new time and place; `reason` says why."""

        meeting_id: str
        scheduled_for: datetime
        place: str

        def apply_to(self, case: Any) -> None:
            meeting = case.meetings[self.meeting_id]
            case.meetings[self.meeting_id] = meeting.rescheduled(self.scheduled_for, self.place)

    @dataclass(frozen=True)
    class MeetingCancelled(Case.Event):
        """The meeting is called off (its rounds, if any, stand); `reason` says why."""

        meeting_id: str

        def apply_to(self, case: Any) -> None:
            case.meetings[self.meeting_id] = case.meetings[self.meeting_id].called_off()

    @dataclass(frozen=True)
    class RoundHeld(Case.Event):
        """One round: who came, their positions, proposals, and for consultations the tally."""

        meeting_id: str
        round_no: int
        attendees: list[str]
        positions: dict[str, str]
        proposals: list[str]
        options: list[str]
        tally: dict[str, int]
        outcome: str

        def apply_to(self, case: Any) -> None:
            meeting = case.meetings[self.meeting_id]
            case.meetings[self.meeting_id] = meeting.after_round(self.round_no)
            case.rounds_held += 1
            if self.tally:
                case.last_tallied = Round(self.meeting_id, self.round_no, tuple(self.tally.items()))

    @dataclass(frozen=True)
    class MediationFailed(Case.Event):
        meeting_id: str

        def apply_to(self, case: Any) -> None:
            case.failed_rounds_at_tier += 1

    @dataclass(frozen=True)
    class AgreementReached(Case.Event):
        """Terms and commitments; `reason` cites what decided it (e.g. the final tally)."""

        meeting_id: str
        terms: list[str]
        commitments: list[dict[str, str]]

        def apply_to(self, case: Any) -> None:
            case.status = Status.AGREED
            case.terms = list(self.terms)
            case.commitments = [
                Commitment(str(c.get("who", "")), str(c.get("what", "")), str(c.get("due", "")))
                for c in self.commitments
            ]

    @dataclass(frozen=True)
    class CommitmentFollowedUp(Case.Event):
        commitment_index: int
        kept: bool
        note: str

        def apply_to(self, case: Any) -> None:
            promised = case.commitments[self.commitment_index]
            case.commitments[self.commitment_index] = promised.followed_up(self.kept)

    @dataclass(frozen=True)
    class CommitmentFellDue(Case.Event):
        """The check-back: a commitment's due date passed with no follow-up yet recorded."""

        commitment_index: int
        due: str

        def apply_to(self, case: Any) -> None:
            promised = case.commitments[self.commitment_index]
            case.commitments[self.commitment_index] = promised.fallen_due()

    @dataclass(frozen=True)
    class LeadMediatorNamed(Case.Event):
        """Who answers for the dispute at `tier` from now on: a mediator there who took the lead
        (`lead_id` is the actor) or whom the tier's head named; `reason` says why. The lead
        lapses when the dispute climbs: the tier above has its own people."""

        lead_id: str
        lead_role: str

        def apply_to(self, case: Any) -> None:
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
            category=category,
            parties=[p.strip() for p in (parties or []) if p.strip()],
        )

    def convene_mediation(
        self,
        actor: Actor,
        at: datetime,
        meeting_id: str,
        form: str,
        scheduled_for: datetime,
        place: str,
        participants: list[dict[str, str]],
    ) -> None:
        check_may(actor, "convene_mediation")
        self.check_unsettled("convene mediation")
        self.check_mediator(actor, "convene a meeting")
        if form not in MEETING_FORMS:
            raise ValidationError(f"meeting form must be one of {', '.join(MEETING_FORMS)}")
        label, tiers = MEETING_FORMS[form]
        if self.tier not in tiers:
            where = ", ".join(t.value for t in sorted(tiers, key=lambda t: t.rank))
            raise InvalidTransitionError(
                f"a {form} ({label}) is held at the {where} tier; this dispute is at the "
                f"{self.tier.value}"
            )
        if meeting_id in self.meetings:
            raise InvalidTransitionError(f"meeting {meeting_id} is already convened")
        people = check_participants(participants)
        check_county_seats(people, self.tier, form)
        self._record(
            self.MediationConvened,
            actor,
            at,
            meeting_id=meeting_id,
            form=form,
            scheduled_for=MEETING.check(scheduled_for, at),
            place=_require_text(place, "the place"),
            participants=[participant_dict(p) for p in people],
        )

    def hold_round(
        self,
        actor: Actor,
        at: datetime,
        meeting_id: str,
        attendees: list[str],
        outcome: str,
        positions: dict[str, str] | None = None,
        proposals: list[str] | None = None,
        options: list[str] | None = None,
        tally: dict[str, int] | None = None,
        note: str = "",
        walk_ins: list[dict[str, str]] | None = None,
    ) -> None:
        """`walk_ins`: [{"id", "role", "reason"}], people who took part without being invited;
        each is recorded as `ParticipantJoined` (with its reason) before the round, and counts
        as an attendee. Every other attendee must have been invited: see `check_attendance`."""
        check_may(actor, "hold_round")
        self.check_unsettled("hold a round")
        self.check_mediator(actor, "record a round")
        meeting = self._check_meeting_here(meeting_id, "take a round")
        tally = dict(tally or {})
        options = list(options or [])
        check_round(outcome, options, tally)
        joining = check_walk_ins(meeting_id, meeting, self.invited(meeting_id), walk_ins or [])
        attendees = list(attendees) + [
            w.id for w, _ in joining if w.id not in {a.strip() for a in attendees}
        ]
        if not attendees:
            raise ValidationError("a round needs its attendees")
        also = {actor.id} | {w.id for w, _ in joining}
        check_attendance(meeting_id, meeting, attendees, self.invited(meeting_id), also)
        for person, why in joining:
            self._record(
                self.ParticipantJoined,
                actor,
                at,
                reason=why,
                meeting_id=meeting_id,
                participant=participant_dict(person),
            )
        round_no = meeting.rounds + 1
        self._record(
            self.RoundHeld,
            actor,
            at,
            reason=note.strip(),
            meeting_id=meeting_id,
            round_no=round_no,
            attendees=list(attendees),
            positions=dict(positions or {}),
            proposals=list(proposals or []),
            options=options,
            tally=tally,
            outcome=outcome,
        )
        if outcome == "failed":
            self._record(
                self.MediationFailed,
                actor,
                at,
                reason=note.strip() or f"round {round_no} of meeting {meeting_id} failed",
                meeting_id=meeting_id,
            )

    def check_attendance(
        self,
        meeting_id: str,
        attendees: list[str],
        actor: Actor,
        walk_ins: list[dict[str, str]] | None = None,
    ) -> None:
        """A round's attendees are people the meeting invited (see `invited`), the mediator
        recording it, or walk-ins named with a reason, so the case file never shows someone at
        a table nobody asked them to. An open form's attendance is not checked (`OPEN_FORMS`)."""
        walked_in = {actor.id} | {str(w.get("id", "")) for w in walk_ins or []}
        invited = self.invited(meeting_id)
        check_attendance(meeting_id, self.meetings[meeting_id], attendees, invited, walked_in)

    def invite_participants(
        self,
        actor: Actor,
        at: datetime,
        meeting_id: str,
        participants: list[dict[str, str]],
        reason: str,
    ) -> None:
        """Invite more people to a meeting that awaits its round: the same people, and the same
        mediators, as its convening could have named. Each invitee is recorded as
        `ParticipantInvited` with the reason, and sits at the round as one of the invited."""
        check_may(actor, "convene_mediation")
        self.check_unsettled("invite people to a meeting")
        self.check_mediator(actor, "invite people to a meeting")
        meeting = self._check_meeting_here(meeting_id, "take invitations")
        if not meeting.awaits_round:
            raise InvalidTransitionError(
                f"meeting {meeting_id} was held (round {meeting.rounds}) and no next round "
                "is set; reschedule it for its next round, then invite, or convene a new meeting"
            )
        people = check_participants(participants)
        if not people:
            raise ValidationError("name at least one person to invite")
        for person in people:
            already = self._invited_as(meeting_id, person.id)
            if already:
                raise InvalidTransitionError(
                    f"{person.id} is already invited to meeting {meeting_id} ({already})"
                )
        check_county_seats(people, self.tier, meeting.form)
        why = _require_text(reason, "the reason for inviting them")
        for person in people:
            self._record(
                self.ParticipantInvited,
                actor,
                at,
                reason=why,
                meeting_id=meeting_id,
                participant=participant_dict(person),
            )

    def _invited_as(self, meeting_id: str, person: str) -> str:
        """How `person` is already invited to the meeting, in words; empty if they are not."""
        meeting = self.meetings[meeting_id]
        if meeting.names(person):
            return "a participant"
        if person in self.parties:
            return "a party to the dispute"
        if person in self.reporter_ids:
            return "who reported the dispute"
        if person == meeting.convened_by:
            return "who convened it"
        return ""

    def invited(self, meeting_id: str) -> set[str]:
        """Who may attend a round of this meeting without a reason: its participants, the
        dispute's parties and those who reported it (every meeting about a dispute is theirs),
        and whoever convened it."""
        meeting = self.meetings[meeting_id]
        return {
            *(p.id for p in meeting.participants),
            *self.parties,
            *self.reporter_ids,
            meeting.convened_by,
        } - {""}

    def _check_meeting_here(self, meeting_id: str, action: str) -> Meeting:
        """The meeting exists, was convened at this tier and is not cancelled."""
        if meeting_id not in self.meetings:
            raise InvalidTransitionError(f"meeting {meeting_id} was not convened for this dispute")
        meeting = self.meetings[meeting_id]
        if meeting.cancelled:
            raise InvalidTransitionError(
                f"meeting {meeting_id} was cancelled, so it cannot {action}; convene a new one"
            )
        if meeting.tier is not self.tier:
            raise InvalidTransitionError(
                f"meeting {meeting_id} was convened at the {meeting.tier.value} tier, so it "
                f"cannot {action}; convene a new one at this tier"
            )
        return meeting

    def reschedule_meeting(
        self,
        actor: Actor,
        at: datetime,
        meeting_id: str,
        scheduled_for: datetime,
        place: str,
        reason: str,
    ) -> None:
        """The meeting's next round moves: a new time and/or place, and why (a party is away,
        the hall is taken), so the parties' notice and the worklist follow the case file."""
        check_may(actor, "convene_mediation")
        self.check_unsettled("reschedule a meeting")
        self.check_mediator(actor, "reschedule a meeting")
        meeting = self._check_meeting_here(meeting_id, "be rescheduled")
        if scheduled_for.tzinfo is None:
            raise ValidationError("the new time needs its timezone")
        MEETING.check(scheduled_for, at)
        where = _require_text(place, "the place")
        same_time = meeting.scheduled_for == scheduled_for
        if same_time and where == meeting.place and meeting.awaits_round:
            raise ValidationError(
                f"meeting {meeting_id} is already set for {meeting.scheduled_for.isoformat()} "
                f"at {meeting.place}; give a new time or place"
            )
        self._record(
            self.MeetingRescheduled,
            actor,
            at,
            reason=_require_text(reason, "the reason for rescheduling"),
            meeting_id=meeting_id,
            scheduled_for=scheduled_for,
            place=where,
        )

    def cancel_meeting(self, actor: Actor, at: datetime, meeting_id: str, reason: str) -> None:
        """The meeting is called off, with the reason; rounds already held stand, no more can be
        recorded at it. A meeting left behind at a lower tier can be cancelled too, to tidy up."""
        check_may(actor, "convene_mediation")
        self.check_open("cancel a meeting")
        self.check_mediator(actor, "cancel a meeting")
        if meeting_id not in self.meetings:
            raise InvalidTransitionError(f"meeting {meeting_id} was not convened for this dispute")
        if self.meetings[meeting_id].cancelled:
            raise InvalidTransitionError(f"meeting {meeting_id} was already cancelled")
        self._record(
            self.MeetingCancelled,
            actor,
            at,
            reason=_require_text(reason, "the reason for cancelling"),
            meeting_id=meeting_id,
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
    def lead_mediator(self) -> Lead | None:
        """Who leads the dispute at its current tier, or None: nobody took it, or its lead was
        at a tier it has since climbed from."""
        lead = self.lead
        if lead is None or not lead.leads_at(self.tier):
            return None
        return lead

    def name_lead_mediator(self, actor: Actor, at: datetime, lead: Actor, reason: str) -> None:
        """Make `lead` the one who answers for the dispute at its tier, so a dispute with no
        meeting yet is still on someone's own list. A mediator of the tier (`CONVENERS`) takes it
        themself (`lead` is the actor), unless a colleague leads it already; the tier's head
        (`TIER_HEADS`) names any of them, a colleague's lead included. Either way with a reason."""
        check_may(actor, "convene_mediation")
        self.check_unsettled("take a lead mediator")
        head = TIER_HEADS[self.tier]
        current = self.lead_mediator
        if lead.id == actor.id:
            if lead.role is not actor.role:
                raise ValidationError(
                    f"{actor.id} acts as a {actor.role.value}, so leads as one, not as a "
                    f"{lead.role.value}"
                )
            self.check_mediator(actor, "lead its mediation")
            if current is not None and current.id != actor.id and actor.role is not head:
                raise InvalidTransitionError(
                    f"{current.id} ({current.role.value}) leads dispute {self.id} at the "
                    f"{self.tier.value} since {current.since.isoformat()}; the {head.value} "
                    f"({head.label}) can name another lead"
                )
        else:
            if actor.role is not head:
                raise NotPermittedError(
                    f"only the {head.value} ({head.label}) names who leads a dispute at the "
                    f"{self.tier.value}; a {actor.role.value} may take the lead themself"
                )
            if lead.role not in CONVENERS[self.tier]:
                who = ", ".join(sorted(r.value for r in CONVENERS[self.tier]))
                raise InvalidTransitionError(
                    f"a {lead.role.value} does not mediate at the {self.tier.value} tier, so "
                    f"cannot lead a dispute there; who does: {who}"
                )
        if current is not None and current.id == lead.id:
            raise InvalidTransitionError(
                f"{lead.id} already leads dispute {self.id} at the {self.tier.value} "
                f"(since {current.since.isoformat()})"
            )
        self._record(
            self.LeadMediatorNamed,
            actor,
            at,
            reason=_require_text(reason, "the reason for this lead"),
            lead_id=lead.id,
            lead_role=lead.role.value,
        )

    @property
    def last_tally(self) -> dict[str, int]:
        """The counts of the latest tallied round (empty if no round was tallied)."""
        return self.last_tallied.counts if self.last_tallied else {}

    def tally_citation(self) -> str:
        """The latest tallied round's citation (see `Round.citation`), or empty."""
        return self.last_tallied.citation() if self.last_tallied else ""

    def check_mediator(self, actor: Actor, action: str) -> None:
        """Each tier has its own people: see `CONVENERS`."""
        if actor.role is Role.SYSTEM or actor.role in CONVENERS[self.tier]:
            return
        who = ", ".join(sorted(r.value for r in CONVENERS[self.tier]))
        raise InvalidTransitionError(
            f"a {actor.role.value} does not mediate at the {self.tier.value} tier, so may not "
            f"{action} there; who does: {who}"
        )

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
