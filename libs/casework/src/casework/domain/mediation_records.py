"""What a dispute's case file holds about its mediation: meetings, tallied rounds, commitments
and the lead mediator, as frozen values the `Dispute` aggregate replaces when an event applies.

Each value carries the rules that read only itself (is a meeting awaiting its round, is a
commitment still open, when does it fall due); the rules across a dispute stay on `Dispute`.
`as_dict` gives the plain JSON-able form `Dispute.snapshot` has always shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from casework.domain.actors import Actor, Role
from casework.domain.mediation_rules import (
    COUNTY_SEAT_FORMS,
    MEETING_FORMS,
    OPEN_COMMITMENT,
    OPEN_FORMS,
    commitment_due_at,
)
from casework.domain.places import Tier


def participant_dict(person: Actor) -> dict[str, str]:
    """A participant as events and snapshots write one: `{"id", "role"}`."""
    return {"id": person.id, "role": person.role.value}


def participant_of(raw: dict[str, str]) -> Actor:
    """A participant as an event stored it (validated when the command was taken)."""
    return Actor(raw["id"], Role(raw["role"]))


@dataclass(frozen=True)
class Meeting:
    """A meeting convened about the dispute at `tier`: where and when its next round is, who is
    invited by name, how many rounds it has held, and whether it was called off."""

    form: str
    tier: Tier
    scheduled_for: datetime
    place: str
    participants: tuple[Actor, ...]
    convened_by: str
    rounds: int = 0
    awaits_round: bool = True
    cancelled: bool = False

    @property
    def label(self) -> str:
        """The form's name as the compound says it (楼栋协商, 党群议事会, ...)."""
        return MEETING_FORMS[self.form][0]

    @property
    def checks_attendance(self) -> bool:
        """An open form (`OPEN_FORMS`) welcomes whoever comes; the others seat the invited."""
        return self.form not in OPEN_FORMS

    @property
    def seats_county(self) -> bool:
        """Only a deliberation council seats county departments (`COUNTY_SEAT_FORMS`)."""
        return self.form in COUNTY_SEAT_FORMS

    @property
    def expects_round(self) -> bool:
        """A round is expected at `scheduled_for`: convened or rescheduled, no round recorded
        since, and not cancelled."""
        return self.awaits_round and not self.cancelled

    @property
    def status(self) -> Literal["scheduled", "held", "cancelled"]:
        if self.cancelled:
            return "cancelled"
        return "scheduled" if self.expects_round else "held"

    def names(self, person: str) -> bool:
        """Whether `person` is one of the participants invited by name."""
        return any(p.id == person for p in self.participants)

    def joined_by(self, person: Actor) -> Meeting:
        return replace(self, participants=(*self.participants, person))

    def rescheduled(self, scheduled_for: datetime, place: str) -> Meeting:
        return replace(self, scheduled_for=scheduled_for, place=place, awaits_round=True)

    def called_off(self) -> Meeting:
        return replace(self, cancelled=True, awaits_round=False)

    def after_round(self, round_no: int) -> Meeting:
        return replace(self, rounds=round_no, awaits_round=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "tier": self.tier.value,
            "rounds": self.rounds,
            "scheduled_for": self.scheduled_for.isoformat(),
            "place": self.place,
            "participants": [participant_dict(p) for p in self.participants],
            "convened_by": self.convened_by,
            "awaits_round": self.awaits_round,
            "cancelled": self.cancelled,
        }


@dataclass(frozen=True)
class Round:
    """A round held at a meeting, as far as the dispute keeps it: where an agreement cites a
    tally, the latest tallied round (counts per option, in the order they were given)."""

    meeting_id: str
    round_no: int
    tally: tuple[tuple[str, int], ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.tally)

    def citation(self) -> str:
        """ "tally of round 3 of meeting m1: site A 41, site B 37": most votes first, ties by
        name, so the same count always reads the same."""
        counts = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = ", ".join(f"{option} {count}" for option, count in counts)
        return f"tally of round {self.round_no} of meeting {self.meeting_id}: {shown}"


class CommitmentStatus(StrEnum):
    PENDING = "pending"
    DUE = "due"
    KEPT = "kept"
    BROKEN = "broken"


@dataclass(frozen=True)
class Commitment:
    """One commitment of an agreement: `who` does `what` by `due` (an ISO date or time, kept as
    it was written), and how its check-back went."""

    who: str
    what: str
    due: str
    status: CommitmentStatus = CommitmentStatus.PENDING

    @property
    def is_open(self) -> bool:
        """Still waiting for a follow-up (kept or broken): pending, or fallen due."""
        return self.status.value in OPEN_COMMITMENT

    def due_at(self) -> datetime:
        """When it falls due (see `commitment_due_at`). Read, not stored: a due date from
        before the domain refused it stays in the file, and only its reader fails."""
        return commitment_due_at(self.due)

    def falls_due_by(self, at: datetime) -> bool:
        """Whether the check-back marks it due at `at`: pending, and its due moment passed."""
        return self.status is CommitmentStatus.PENDING and self.due_at() <= at

    def followed_up(self, kept: bool) -> Commitment:
        return replace(self, status=CommitmentStatus.KEPT if kept else CommitmentStatus.BROKEN)

    def fallen_due(self) -> Commitment:
        return replace(self, status=CommitmentStatus.DUE)

    def as_dict(self) -> dict[str, str]:
        return {"who": self.who, "what": self.what, "due": self.due, "status": self.status.value}


@dataclass(frozen=True)
class Lead:
    """Who answers for the dispute at `tier`, who named them, and since when."""

    id: str
    role: Role
    tier: Tier
    named_by: str
    since: datetime

    def leads_at(self, tier: Tier) -> bool:
        """A lead lapses when the dispute climbs: the tier above has its own people."""
        return self.tier is tier

    def as_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "role": self.role.value,
            "tier": self.tier.value,
            "named_by": self.named_by,
            "since": self.since.isoformat(),
        }
