"""The meeting commands of a dispute: convening a meeting, inviting to it, rescheduling or
cancelling it, and recording its rounds (with walk-ins and the attendance check).

A mixin of `Dispute`, kept apart so dispute.py stays readable: the events these commands record
are declared on `Dispute` (their stored topics name it), and are reached here as `self.<Event>`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from casework.domain.actors import Actor, Role, check_may
from casework.domain.case import _require_text
from casework.domain.errors import InvalidTransitionError, ValidationError
from casework.domain.mediation_checks import (
    check_attendance,
    check_county_seats,
    check_participants,
    check_round,
    check_walk_ins,
)
from casework.domain.mediation_records import Meeting, participant_dict
from casework.domain.mediation_rules import CONVENERS, MEETING_FORMS
from casework.domain.places import Tier
from casework.domain.windows import MEETING


class MeetingCommands:
    """What a mediator does with a dispute's meetings; see `Dispute` for the events."""

    meetings: dict[str, Meeting]
    parties: list[str]

    if TYPE_CHECKING:  # given by `Case` and `Dispute`, which this is mixed into
        MediationConvened: ClassVar[type[Any]]
        ParticipantJoined: ClassVar[type[Any]]
        ParticipantInvited: ClassVar[type[Any]]
        MeetingRescheduled: ClassVar[type[Any]]
        MeetingCancelled: ClassVar[type[Any]]
        RoundHeld: ClassVar[type[Any]]
        MediationFailed: ClassVar[type[Any]]
        tier: Tier
        reporter_ids: list[str]

        def _record(self, event_class: Any, actor: Actor, at: datetime, **kwargs: Any) -> None: ...

        def check_open(self, action: str) -> None: ...

        def check_unsettled(self, action: str) -> None: ...

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

    def check_mediator(self, actor: Actor, action: str) -> None:
        """Each tier has its own people: see `CONVENERS`."""
        if actor.role is Role.SYSTEM or actor.role in CONVENERS[self.tier]:
            return
        who = ", ".join(sorted(r.value for r in CONVENERS[self.tier]))
        raise InvalidTransitionError(
            f"a {actor.role.value} does not mediate at the {self.tier.value} tier, so may not "
            f"{action} there; who does: {who}"
        )
