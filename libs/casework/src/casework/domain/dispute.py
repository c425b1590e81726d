"""Dispute (矛盾纠纷): settled by mediation in rounds, at the lowest tier that can settle it.

Each tier has its own forms of meeting (the "three meetings" 三会, evening talks, door-to-door
visits); county departments sit only at the community's deliberation council. An agreement has
terms and commitments (who does what by when); a broken commitment reopens the dispute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from casework.domain.actors import Actor, Role, check_may
from casework.domain.case import Case, Status, _require_text
from casework.domain.errors import InvalidTransitionError, NotPermittedError, ValidationError
from casework.domain.ladder import FAILED_ROUNDS_BEFORE_ESCALATION, LOCAL_TIME
from casework.domain.places import Address, Tier
from casework.domain.windows import COMMITMENT_DUE, MEETING

DISPUTE_CATEGORIES = (
    "noise",
    "parking",
    "ev_charging",
    "flying_cables",
    "leak_between_flats",
    "green_space",
    "fees",
    "road_and_gates",
    "other",
)

SHARED_AREA_CATEGORIES = frozenset(
    {"parking", "ev_charging", "flying_cables", "green_space", "fees", "road_and_gates"}
)

MEETING_FORMS: dict[str, tuple[str, frozenset[Tier]]] = {
    "building_talk": ("楼栋协商", frozenset({Tier.BUILDING})),
    "door_to_door": ("进户宣传", frozenset({Tier.BUILDING, Tier.COMPOUND})),
    "evening_courtyard_talk": ("星空夜话", frozenset({Tier.BUILDING, Tier.COMPOUND})),
    "residents_talk_meeting": ("民情恳谈会", frozenset({Tier.COMPOUND, Tier.COMMUNITY})),
    "roundtable": ("圆桌会议", frozenset({Tier.COMPOUND, Tier.COMMUNITY})),
    "opinion_collection": ("意见征集", frozenset({Tier.COMPOUND, Tier.COMMUNITY})),
    "deliberation_council": ("党群议事会", frozenset({Tier.COMMUNITY})),
}

ROUND_OUTCOMES = ("progress", "failed", "agreed")
OPEN_COMMITMENT = frozenset({"pending", "due"})
"""Commitment statuses still waiting for a follow-up (kept or broken)."""

COUNTY_DEPARTMENTS: dict[str, str] = {
    "housing-bureau": "县住建局",
    "fire-brigade": "县消防大队",
    "development-reform-bureau": "县发改局",
    "public-security-bureau": "县公安局",
    "urban-management-bureau": "县城管局",
    "natural-resources-bureau": "县自然资源局",
    "market-regulation-bureau": "县市场监管局",
    "civil-affairs-bureau": "县民政局",
}
"""County departments (县直部门) a deliberation council can seat. A county representative takes
part as `<department>` or `<department>:<person>`, so the case file names the department."""

COUNTY_SEAT_FORMS = frozenset({"deliberation_council"})
"""Only the party-residents deliberation council (党群议事会) seats county departments."""

CONVENERS: dict[Tier, frozenset[Role]] = {
    Tier.BUILDING: frozenset(
        {Role.BUILDING_LEADER, Role.PARTY_SECRETARY, Role.OWNERS_COMMITTEE, Role.PROPERTY_MANAGER}
    ),
    Tier.COMPOUND: frozenset(
        {Role.PARTY_SECRETARY, Role.OWNERS_COMMITTEE, Role.PROPERTY_MANAGER, Role.COMMUNITY_OFFICER}
    ),
    Tier.COMMUNITY: frozenset({Role.COMMUNITY_OFFICER, Role.PARTY_SECRETARY}),
}
"""Who mediates at each tier: the building leader in the building (the compound's trinity may
step in), the trinity at the compound (the community officer may sit in), the community at the
community, where the compound's party branch may lead, as in the article's gate case."""

TIER_HEADS: dict[Tier, Role] = {
    Tier.BUILDING: Role.BUILDING_LEADER,
    Tier.COMPOUND: Role.PARTY_SECRETARY,
    Tier.COMMUNITY: Role.COMMUNITY_OFFICER,
}
"""Who heads mediation at each tier, and so may name which of the tier's mediators leads a
dispute there: the building leader (楼栋长), the compound's party branch secretary (who often
chairs the owners' committee too, 一肩挑), the community officer (社区干部). Anyone in `CONVENERS`
for the tier may take the lead themself."""

MATTERS: dict[str, tuple[str, Tier]] = {
    "household_terms": ("住户间的赔偿与约定 terms between households", Tier.BUILDING),
    "shared_space_use": (
        "公共空间的使用 use of the compound's shared spaces (parking, sheds, green space)",
        Tier.COMPOUND,
    ),
    "property_fees": ("物业收费 property fees", Tier.COMPOUND),
    "compound_funds": ("维修资金与公共收益 the compound's maintenance fund", Tier.COMPOUND),
    "gates_and_traffic": (
        "出入口与交通组织 gates and traffic through the compound",
        Tier.COMMUNITY,
    ),
    "fire_lanes": ("消防通道 fire lanes", Tier.COMMUNITY),
    "building_works": ("需审批的建设 works that need county approval", Tier.COMMUNITY),
    "public_funds": ("财政资金 public funds", Tier.COMMUNITY),
}
"""Matters and the lowest tier with the power to decide them. A matter above a tier's powers is
a ground to escalate (one rung at a time, however high the matter goes)."""

OPEN_FORMS = frozenset(
    {"residents_talk_meeting", "evening_courtyard_talk", "opinion_collection", "door_to_door"}
)
"""Forms open to every resident who comes (a talk meeting, an evening in the courtyard) or whose
"attendees" are the residents consulted (door to door, a survey): nobody is invited by name, so
attendance is not checked against the participants. The others (building talk, roundtable,
deliberation council) seat the people invited; see `Dispute.check_attendance`."""

ESCALATION_GROUNDS = ("failed_rounds", "deadline_passed", "outside_powers", "other")
"""Why a mediator sends a dispute up a rung; each but `other` is checked against the case file."""


def county_department(participant_id: str) -> str | None:
    """The department code of a county representative's participant id, if it names one."""
    code = participant_id.split(":", 1)[0]
    return code if code in COUNTY_DEPARTMENTS else None


def commitment_due_at(due: str) -> datetime:
    """When a commitment falls due: a date means the end of that day, local time (so a
    commitment due "2021-04-06" is checked back from midnight that night); a time without a
    zone is local; a time with a zone is itself."""
    moment = datetime.fromisoformat(due)
    if "T" not in due and " " not in due.strip():
        return datetime.combine(moment.date(), time(), LOCAL_TIME) + timedelta(days=1)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL_TIME)


def check_commitment_due(due: str, now: datetime) -> str:
    """`due` if it is an ISO date or time inside `COMMITMENT_DUE` around `now`; else refused."""
    try:
        moment = commitment_due_at(due)
    except (ValueError, OverflowError):
        raise ValidationError(f"commitment due date {due!r} is not an ISO date") from None
    COMMITMENT_DUE.check(moment, now)
    return due


def starting_tier(category: str, address: Address, *, needs_county: bool = False) -> Tier:
    """微事不出楼栋、小事不出小区、大事不出社区, as a default rule intake may refine."""
    if needs_county:
        return Tier.COMMUNITY
    if category in SHARED_AREA_CATEGORIES or address.building is None:
        return Tier.COMPOUND
    return Tier.BUILDING


def _participants(raw: list[dict[str, str]]) -> list[dict[str, str]]:
    clean: list[dict[str, str]] = []
    for p in raw:
        try:
            actor = Actor(str(p.get("id", "")), Role(p.get("role", "")))
        except ValueError:
            known = ", ".join(role.value for role in Role if role is not Role.SYSTEM)
            raise ValidationError(
                f"participant {p.get('id')!r} has an unknown role {p.get('role')!r}; "
                f"the roles are: {known}"
            ) from None
        if actor.role is Role.COUNTY_REPRESENTATIVE and county_department(actor.id) is None:
            raise ValidationError(
                f"county representative {actor.id!r} must name the department: "
                "'<department>' or '<department>:<person>', department one of "
                + ", ".join(COUNTY_DEPARTMENTS)
            )
        if any(c["id"] == actor.id for c in clean):
            raise ValidationError(f"participant {actor.id!r} is listed twice")
        clean.append({"id": actor.id, "role": actor.role.value})
    return clean


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
        LABEL = "已召集调解"

        meeting_id: str
        form: str
        scheduled_for: datetime
        place: str
        participants: list[dict[str, str]]

        def apply_to(self, case: Any) -> None:
            case.status = Status.IN_MEDIATION
            case.meetings[self.meeting_id] = {
                "form": self.form,
                "tier": self.tier,
                "rounds": 0,
                "scheduled_for": self.scheduled_for.isoformat(),
                "place": self.place,
                "participants": [dict(p) for p in self.participants],
                "convened_by": self.actor_id,
                "awaits_round": True,
                "cancelled": False,
            }
            case.note_response(self.timestamp)  # convening is this tier's response

    @dataclass(frozen=True)
    class ParticipantJoined(Case.Event):
        """Someone not invited took part (a neighbour who walked in); `reason` says why."""

        LABEL = "临时加入调解"

        meeting_id: str
        participant: dict[str, str]

        def apply_to(self, case: Any) -> None:
            case.meetings[self.meeting_id]["participants"].append(dict(self.participant))

    @dataclass(frozen=True)
    class ParticipantInvited(Case.Event):
        """Someone was invited to the meeting after its convening, before the round they are to
        sit at (a county department, a neighbour); `reason` says why."""

        LABEL = "追加邀请参会"

        meeting_id: str
        participant: dict[str, str]

        def apply_to(self, case: Any) -> None:
            case.meetings[self.meeting_id]["participants"].append(dict(self.participant))

    @dataclass(frozen=True)
    class MeetingRescheduled(Case.Event):
        """The meeting's next round moves to a new time and place; `reason` says why."""

        LABEL = "调解会改期"

        meeting_id: str
        scheduled_for: datetime
        place: str

        def apply_to(self, case: Any) -> None:
            meeting = case.meetings[self.meeting_id]
            meeting["scheduled_for"] = self.scheduled_for.isoformat()
            meeting["place"] = self.place
            meeting["awaits_round"] = True

    @dataclass(frozen=True)
    class MeetingCancelled(Case.Event):
        """The meeting is called off (its rounds, if any, stand); `reason` says why."""

        LABEL = "调解会取消"

        meeting_id: str

        def apply_to(self, case: Any) -> None:
            case.meetings[self.meeting_id]["cancelled"] = True
            case.meetings[self.meeting_id]["awaits_round"] = False

    @dataclass(frozen=True)
    class RoundHeld(Case.Event):
        """One round: who came, their positions, proposals, and for consultations the tally."""

        LABEL = "调解一轮"

        meeting_id: str
        round_no: int
        attendees: list[str]
        positions: dict[str, str]
        proposals: list[str]
        options: list[str]
        tally: dict[str, int]
        outcome: str

        def apply_to(self, case: Any) -> None:
            case.meetings[self.meeting_id]["rounds"] = self.round_no
            case.meetings[self.meeting_id]["awaits_round"] = False
            case.rounds_held += 1
            if self.tally:
                case.last_tally = dict(self.tally)
                case.last_tally_round = (self.meeting_id, self.round_no)

    @dataclass(frozen=True)
    class MediationFailed(Case.Event):
        LABEL = "调解未成"

        meeting_id: str

        def apply_to(self, case: Any) -> None:
            case.failed_rounds_at_tier += 1

    @dataclass(frozen=True)
    class AgreementReached(Case.Event):
        """Terms and commitments; `reason` cites what decided it (e.g. the final tally)."""

        LABEL = "已达成协议"

        meeting_id: str
        terms: list[str]
        commitments: list[dict[str, str]]

        def apply_to(self, case: Any) -> None:
            case.status = Status.AGREED
            case.terms = list(self.terms)
            case.commitments = [dict(c, status="pending") for c in self.commitments]

    @dataclass(frozen=True)
    class CommitmentFollowedUp(Case.Event):
        LABEL = "已跟进承诺"

        commitment_index: int
        kept: bool
        note: str

        def apply_to(self, case: Any) -> None:
            case.commitments[self.commitment_index]["status"] = "kept" if self.kept else "broken"

    @dataclass(frozen=True)
    class CommitmentFellDue(Case.Event):
        """The check-back: a commitment's due date passed with no follow-up yet recorded."""

        LABEL = "承诺到期待回访"

        commitment_index: int
        due: str

        def apply_to(self, case: Any) -> None:
            case.commitments[self.commitment_index]["status"] = "due"

    @dataclass(frozen=True)
    class LeadMediatorNamed(Case.Event):
        """Who answers for the dispute at `tier` from now on: a mediator there who took the lead
        (`lead_id` is the actor) or whom the tier's head named; `reason` says why. The lead
        lapses when the dispute climbs: the tier above has its own people."""

        LABEL = "确定主调解人"

        lead_id: str
        lead_role: str

        def apply_to(self, case: Any) -> None:
            case.lead = {
                "id": self.lead_id,
                "role": self.lead_role,
                "tier": self.tier,
                "named_by": self.actor_id,
                "since": self.timestamp.isoformat(),
            }

    def __init__(self) -> None:
        super().__init__()
        self.lead: dict[str, str] | None = None
        self.category = ""
        self.parties: list[str] = []
        self.meetings: dict[str, dict[str, Any]] = {}
        self.rounds_held = 0
        self.last_tally: dict[str, int] = {}
        self.last_tally_round: tuple[str, int] | None = None
        self.terms: list[str] = []
        self.commitments: list[dict[str, str]] = []

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
        people = _participants(participants)
        county = [p for p in people if p["role"] == Role.COUNTY_REPRESENTATIVE.value]
        if county and self.tier is not Tier.COMMUNITY:
            raise InvalidTransitionError(
                "county departments sit at the community's deliberation council; escalate first"
            )
        if county and form not in COUNTY_SEAT_FORMS:
            raise InvalidTransitionError(
                f"county departments are seated at a deliberation council (党群议事会), "
                f"not at a {form} ({label})"
            )
        self._record(
            self.MediationConvened,
            actor,
            at,
            meeting_id=meeting_id,
            form=form,
            scheduled_for=MEETING.check(scheduled_for, at),
            place=_require_text(place, "the place"),
            participants=people,
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
        self._check_meeting_here(meeting_id, "take a round")
        if outcome not in ROUND_OUTCOMES:
            raise ValidationError(f"round outcome must be one of {', '.join(ROUND_OUTCOMES)}")
        tally = dict(tally or {})
        options = list(options or [])
        unknown = set(tally) - set(options)
        if unknown:
            raise ValidationError(
                f"tally names options not on the list: {', '.join(sorted(unknown))}"
            )
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in tally.values()):
            raise ValidationError("tally counts must be whole numbers, zero or more")
        joining = self._walk_ins(meeting_id, walk_ins or [])
        attendees = list(attendees) + [
            w["id"] for w in joining if w["id"] not in {a.strip() for a in attendees}
        ]
        if not attendees:
            raise ValidationError("a round needs its attendees")
        self.check_attendance(meeting_id, attendees, actor, joining)
        for w in joining:
            self._record(
                self.ParticipantJoined,
                actor,
                at,
                reason=w["reason"],
                meeting_id=meeting_id,
                participant={"id": w["id"], "role": w["role"]},
            )
        round_no = int(self.meetings[meeting_id]["rounds"]) + 1
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
        if not meeting.get("awaits_round", int(meeting["rounds"]) == 0):
            raise InvalidTransitionError(
                f"meeting {meeting_id} was held (round {meeting['rounds']}) and no next round "
                "is set; reschedule it for its next round, then invite, or convene a new meeting"
            )
        people = _participants(participants)
        if not people:
            raise ValidationError("name at least one person to invite")
        for person in people:
            already = self._invited_as(meeting_id, person["id"])
            if already:
                raise InvalidTransitionError(
                    f"{person['id']} is already invited to meeting {meeting_id} ({already})"
                )
        label = MEETING_FORMS[meeting["form"]][0]
        if any(p["role"] == Role.COUNTY_REPRESENTATIVE.value for p in people):
            if self.tier is not Tier.COMMUNITY:
                raise InvalidTransitionError(
                    "county departments sit at the community's deliberation council; escalate first"
                )
            if meeting["form"] not in COUNTY_SEAT_FORMS:
                raise InvalidTransitionError(
                    f"county departments are seated at a deliberation council (党群议事会), "
                    f"not at a {meeting['form']} ({label})"
                )
        why = _require_text(reason, "the reason for inviting them")
        for person in people:
            self._record(
                self.ParticipantInvited,
                actor,
                at,
                reason=why,
                meeting_id=meeting_id,
                participant=person,
            )

    def _invited_as(self, meeting_id: str, person: str) -> str:
        """How `person` is already invited to the meeting, in words; empty if they are not."""
        meeting = self.meetings[meeting_id]
        if any(p["id"] == person for p in meeting["participants"]):
            return "a participant"
        if person in self.parties:
            return "a party to the dispute"
        if person in self.reporter_ids:
            return "who reported the dispute"
        if person == meeting.get("convened_by"):
            return "who convened it"
        return ""

    def invited(self, meeting_id: str) -> set[str]:
        """Who may attend a round of this meeting without a reason: its participants, the
        dispute's parties and those who reported it (every meeting about a dispute is theirs),
        and whoever convened it."""
        meeting = self.meetings[meeting_id]
        return {
            *(p["id"] for p in meeting["participants"]),
            *self.parties,
            *self.reporter_ids,
            str(meeting.get("convened_by", "")),
        } - {""}

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
        cleaned = [a.strip() for a in attendees]
        if any(not a for a in cleaned):
            raise ValidationError("an attendee's id is empty")
        doubled = sorted({a for a in cleaned if cleaned.count(a) > 1})
        if doubled:
            raise ValidationError(f"attendees listed twice: {', '.join(doubled)}")
        if self.meetings[meeting_id]["form"] in OPEN_FORMS:
            return
        allowed = self.invited(meeting_id) | {actor.id} | {w["id"] for w in walk_ins or []}
        strangers = [a for a in cleaned if a not in allowed]
        if strangers:
            raise InvalidTransitionError(
                f"{', '.join(strangers)} {'was' if len(strangers) == 1 else 'were'} not invited "
                f"to meeting {meeting_id} (invited: {', '.join(sorted(self.invited(meeting_id)))})"
                "; name them as walk-ins with the reason they took part, or correct the attendees"
            )

    def _walk_ins(self, meeting_id: str, raw: list[dict[str, str]]) -> list[dict[str, str]]:
        people = _participants([{"id": w.get("id", ""), "role": w.get("role", "")} for w in raw])
        invited = self.invited(meeting_id)
        joining: list[dict[str, str]] = []
        for person, w in zip(people, raw, strict=True):
            if person["id"] in invited:
                raise ValidationError(
                    f"{person['id']} was invited to meeting {meeting_id}; list them among the "
                    "attendees, not as a walk-in"
                )
            if person["role"] == Role.COUNTY_REPRESENTATIVE.value and (
                self.meetings[meeting_id]["form"] not in COUNTY_SEAT_FORMS
            ):
                raise InvalidTransitionError(
                    "county departments are seated at a deliberation council (党群议事会) only"
                )
            reason = _require_text(str(w.get("reason", "")), f"the reason {person['id']} joined")
            joining.append({**person, "reason": reason})
        return joining

    def _check_meeting_here(self, meeting_id: str, action: str) -> dict[str, Any]:
        """The meeting exists, was convened at this tier and is not cancelled."""
        if meeting_id not in self.meetings:
            raise InvalidTransitionError(f"meeting {meeting_id} was not convened for this dispute")
        meeting = self.meetings[meeting_id]
        if meeting.get("cancelled"):
            raise InvalidTransitionError(
                f"meeting {meeting_id} was cancelled, so it cannot {action}; convene a new one"
            )
        if meeting["tier"] != self.tier.value:
            raise InvalidTransitionError(
                f"meeting {meeting_id} was convened at the {meeting['tier']} tier, so it cannot "
                f"{action}; convene a new one at this tier"
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
        same_time = datetime.fromisoformat(meeting["scheduled_for"]) == scheduled_for
        if same_time and where == meeting["place"] and meeting.get("awaits_round", True):
            raise ValidationError(
                f"meeting {meeting_id} is already set for {meeting['scheduled_for']} at "
                f"{meeting['place']}; give a new time or place"
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
        if self.meetings[meeting_id].get("cancelled"):
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
        if self.meetings[meeting_id].get("cancelled"):
            raise InvalidTransitionError(
                f"meeting {meeting_id} was cancelled; record the agreement at the meeting that "
                "reached it"
            )
        clean_terms = [_require_text(t, "a term", 1000) for t in terms]
        if not clean_terms:
            raise ValidationError("an agreement needs at least one term")
        clean: list[dict[str, str]] = []
        for c in commitments:
            who, what, due = (str(c.get(k, "")).strip() for k in ("who", "what", "due"))
            if not who or not what:
                raise ValidationError("each commitment names who does what, and by when ('due')")
            check_commitment_due(due, at)
            clean.append({"who": who, "what": what, "due": due})
        self._record(
            self.AgreementReached,
            actor,
            at,
            reason="; ".join(part for part in (basis.strip(), self.tally_citation()) if part),
            meeting_id=meeting_id,
            terms=clean_terms,
            commitments=clean,
        )

    def record_follow_up(
        self, actor: Actor, at: datetime, commitment_index: int, kept: bool, note: str
    ) -> None:
        """A broken commitment reopens the dispute, whenever it falls due."""
        check_may(actor, "record_follow_up")
        self.check_open("follow up a commitment")
        if not 0 <= commitment_index < len(self.commitments):
            raise ValidationError(f"there is no commitment #{commitment_index} on this dispute")
        if self.commitments[commitment_index]["status"] not in OPEN_COMMITMENT:
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
            what = self.commitments[commitment_index]["what"]
            self._reopen(actor, at, f"commitment broken: {what}")

    def check_back_commitments(self, actor: Actor, at: datetime) -> list[int]:
        """The scheduler's check-back: every commitment whose due date has passed and that
        nobody has followed up is marked due (once), for a mediator to call on and record."""
        check_may(actor, "check_back_commitments")
        self.check_open("check back its commitments")
        fell_due: list[int] = []
        for index, c in enumerate(self.commitments):
            if c["status"] == "pending" and commitment_due_at(c["due"]) <= at:
                self._record(
                    self.CommitmentFellDue,
                    actor,
                    at,
                    reason=f"{c['who']} was to {c['what']} by {c['due']}; check it back",
                    commitment_index=index,
                    due=c["due"],
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
    def lead_mediator(self) -> dict[str, str] | None:
        """Who leads the dispute at its current tier (`id`, `role`, `named_by`, `since`), or
        None: nobody took it, or its lead was at a tier it has since climbed from."""
        lead = self.lead
        if lead is None or lead["tier"] != self.tier.value:
            return None
        return dict(lead)

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
            if current is not None and current["id"] != actor.id and actor.role is not head:
                raise InvalidTransitionError(
                    f"{current['id']} ({current['role']}) leads dispute {self.id} at the "
                    f"{self.tier.value} since {current['since']}; the {head.value} ({head.label}) "
                    "can name another lead"
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
        if current is not None and current["id"] == lead.id:
            raise InvalidTransitionError(
                f"{lead.id} already leads dispute {self.id} at the {self.tier.value} "
                f"(since {current['since']})"
            )
        self._record(
            self.LeadMediatorNamed,
            actor,
            at,
            reason=_require_text(reason, "the reason for this lead"),
            lead_id=lead.id,
            lead_role=lead.role.value,
        )

    def tally_citation(self) -> str:
        """ "tally of round 3 of meeting m1: site A 41, site B 37" for the latest tallied round."""
        if self.last_tally_round is None:
            return ""
        meeting_id, round_no = self.last_tally_round
        counts = sorted(self.last_tally.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = ", ".join(f"{option} {count}" for option, count in counts)
        return f"tally of round {round_no} of meeting {meeting_id}: {shown}"

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
        waiting = [i for i, c in enumerate(self.commitments) if c["status"] in OPEN_COMMITMENT]
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
            "lead_mediator": self.lead_mediator,
            "meetings": {k: dict(v) for k, v in self.meetings.items()},
            "rounds_held": self.rounds_held,
            "failed_rounds_at_tier": self.failed_rounds_at_tier,
            "last_tally": dict(self.last_tally),
            "tally_citation": self.tally_citation(),
            "terms": list(self.terms),
            "commitments": [dict(c) for c in self.commitments],
        }
