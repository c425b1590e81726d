"""Dispute (矛盾纠纷): settled by mediation in rounds, at the lowest tier that can settle it.

Each tier has its own forms of meeting (the "three meetings" 三会, evening talks, door-to-door
visits); county departments sit only at the community's deliberation council. An agreement has
terms and commitments (who does what by when); a broken commitment reopens the dispute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from casework.domain.actors import Actor, Role, check_may
from casework.domain.case import Case, Status, _require_text
from casework.domain.errors import InvalidTransitionError, ValidationError
from casework.domain.ladder import FAILED_ROUNDS_BEFORE_ESCALATION
from casework.domain.places import Address, Tier

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
        actor = Actor(str(p.get("id", "")), Role(p.get("role", "")))
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
        meeting_id: str
        form: str
        scheduled_for: datetime
        place: str
        participants: list[dict[str, str]]

        def apply_to(self, case: Any) -> None:
            case.status = Status.IN_MEDIATION
            case.meetings[self.meeting_id] = {"form": self.form, "tier": self.tier, "rounds": 0}
            if case.acknowledged_at is None:
                case.acknowledged_at = self.timestamp

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
            case.meetings[self.meeting_id]["rounds"] = self.round_no
            case.rounds_held += 1
            if self.tally:
                case.last_tally = dict(self.tally)

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
            case.commitments = [dict(c, status="pending") for c in self.commitments]

    @dataclass(frozen=True)
    class CommitmentFollowedUp(Case.Event):
        commitment_index: int
        kept: bool
        note: str

        def apply_to(self, case: Any) -> None:
            case.commitments[self.commitment_index]["status"] = "kept" if self.kept else "broken"

    def __init__(self) -> None:
        super().__init__()
        self.category = ""
        self.parties: list[str] = []
        self.meetings: dict[str, dict[str, Any]] = {}
        self.rounds_held = 0
        self.last_tally: dict[str, int] = {}
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
        if self.tier is not Tier.COMMUNITY and any(
            p["role"] == Role.COUNTY_REPRESENTATIVE.value for p in people
        ):
            raise InvalidTransitionError(
                "county departments sit at the community's deliberation council; escalate first"
            )
        self._record(
            self.MediationConvened,
            actor,
            at,
            meeting_id=meeting_id,
            form=form,
            scheduled_for=scheduled_for,
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
    ) -> None:
        check_may(actor, "hold_round")
        self.check_unsettled("hold a round")
        if meeting_id not in self.meetings:
            raise InvalidTransitionError(f"meeting {meeting_id} was not convened for this dispute")
        if self.meetings[meeting_id]["tier"] != self.tier.value:
            raise InvalidTransitionError(
                f"meeting {meeting_id} was convened at the {self.meetings[meeting_id]['tier']} "
                "tier; convene a new one at this tier"
            )
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
        if not attendees:
            raise ValidationError("a round needs its attendees")
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

    def record_mediation_failed(
        self, actor: Actor, at: datetime, meeting_id: str, reason: str
    ) -> None:
        check_may(actor, "record_mediation_failed")
        self.check_unsettled("record a failed mediation")
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
        """`commitments`: [{"who": id, "what": text, "due": ISO date}], checked back when due."""
        check_may(actor, "reach_agreement")
        self.check_status("reach an agreement", Status.IN_MEDIATION)
        if meeting_id not in self.meetings:
            raise InvalidTransitionError(f"meeting {meeting_id} was not convened for this dispute")
        clean_terms = [_require_text(t, "a term", 1000) for t in terms]
        if not clean_terms:
            raise ValidationError("an agreement needs at least one term")
        clean: list[dict[str, str]] = []
        for c in commitments:
            who, what, due = (str(c.get(k, "")).strip() for k in ("who", "what", "due"))
            if not who or not what:
                raise ValidationError("each commitment names who does what, and by when ('due')")
            try:
                datetime.fromisoformat(due)
            except ValueError:
                raise ValidationError(f"commitment due date {due!r} is not an ISO date") from None
            clean.append({"who": who, "what": what, "due": due})
        self._record(
            self.AgreementReached,
            actor,
            at,
            reason=basis.strip(),
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
        if self.commitments[commitment_index]["status"] != "pending":
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
            self._record(self.Reopened, actor, at, reason=f"commitment broken: {what}")

    def check_ready_to_resolve(self) -> None:
        if self.status is not Status.AGREED:
            raise InvalidTransitionError(
                f"dispute {self.id} is {self.status.value}; it needs an agreement to be resolved"
            )

    def close_case(self, actor: Actor, at: datetime, reason: str = "") -> None:
        pending = [i for i, c in enumerate(self.commitments) if c["status"] == "pending"]
        if pending:
            raise InvalidTransitionError(
                f"dispute {self.id} has commitments not yet followed up: "
                + ", ".join(f"#{i}" for i in pending)
            )
        super().close_case(actor, at, reason)

    def escalation_reason(self, now: datetime) -> str | None:
        if (
            self.failed_rounds_at_tier >= FAILED_ROUNDS_BEFORE_ESCALATION
            and self.status not in (Status.RESOLVED, Status.CONFIRMED, Status.CLOSED, Status.AGREED)
            and self.tier.next_up() is not None
        ):
            return f"mediation failed {self.failed_rounds_at_tier} rounds at the {self.tier.value}"
        return super().escalation_reason(now)

    def status_after_reopen(self) -> Status:
        self.terms = []
        return Status.IN_MEDIATION if self.meetings else Status.ACKNOWLEDGED

    def kind_snapshot(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "parties": list(self.parties),
            "meetings": {k: dict(v) for k, v in self.meetings.items()},
            "rounds_held": self.rounds_held,
            "failed_rounds_at_tier": self.failed_rounds_at_tier,
            "last_tally": dict(self.last_tally),
            "terms": list(self.terms),
            "commitments": [dict(c) for c in self.commitments],
        }
