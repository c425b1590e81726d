"""The assignment rule: who gets a piece of work, and the words that say why.

**Suitable** — a member may be given the work only if all of these hold (checked in this order;
the first that fails is the reason recorded):

1. *role*: leaks go to property staff; repairs to property staff or volunteers; residents' needs
   (service tasks) to volunteers (`skills.ROLES_FOR`);
2. *place*: one of the places they cover (a compound, or a building) contains the work's address;
3. *skill*: they have the skill the work needs (`skills.REPAIR_SKILL`, `LEAK_SKILL`, the need);
4. *not declined*: they have not declined this same piece of work before;
5. *available*: the moment of deciding falls in one of their weekly availability windows;
6. *capacity*: the work they hold now is below their `max_load`.

**Best** — among the suitable, the first by:

1. lowest *load* (work held now): the free hand starts soonest;
2. *nearest*: covering the work's building before covering the whole compound (微事不出楼栋:
   the party-member volunteer living in the building before the compound's staff);
3. *longest idle*: the one whose last piece of work was taken longest ago (never = first), so
   equal people share the work in turn;
4. *actor id*, alphabetically: the last tie-break, so that the same roster and the same moment
   always give the same answer, on any replica, in any replay.

Nobody suitable: the work waits in the queue, with the reasons counted ("2 off duty now, first
back at 18:00; 1 at capacity"). The rule is a pure function of the roster, the work and the time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from casework.domain.actors import Actor
from casework.domain.places import Address

from dispatch.domain.availability import available_at, next_available
from dispatch.domain.places import covers, place
from dispatch.domain.skills import ROLES_FOR, SKILLS

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KIND_LABEL = {"repair": "repair", "leak": "leak", "task": "resident's need"}


@dataclass(frozen=True)
class Work:
    """What needs a pair of hands: a case (repair, leak) or a service task."""

    work_id: str
    kind: str
    need: str
    address: Address
    declined_by: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Candidate:
    """A member as the rule sees them at the moment of deciding."""

    actor: Actor
    skills: tuple[str, ...]
    places: tuple[str, ...]
    availability: tuple[str, ...]
    timezone: str
    max_load: int
    load: int
    last_taken_at: datetime | None = None
    name: str = ""

    @classmethod
    def of(cls, member: Any) -> Candidate:
        """From a `Member` aggregate (duck-typed so the rule stays free of persistence)."""
        return cls(
            actor=member.actor,
            skills=tuple(member.skills),
            places=tuple(member.places),
            availability=tuple(member.availability),
            timezone=member.timezone,
            max_load=member.max_load,
            load=member.load,
            last_taken_at=member.last_taken_at,
            name=member.name,
        )


@dataclass(frozen=True)
class Assessment:
    candidate: Candidate
    refusal: str | None
    """None when suitable; else role, place, skill, declined, off_duty or at_capacity."""
    covering: str = ""
    distance: int = 0
    """0: covers the work's building; 1: covers the whole compound."""

    @property
    def suitable(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class Decision:
    chosen: Assessment | None
    why: str
    ranked: tuple[Assessment, ...]
    refused: tuple[Assessment, ...]
    back_on_duty_at: datetime | None = None
    """When nobody was free because of the hour: the first moment one of them is on duty."""


def assess(work: Work, candidate: Candidate, at: datetime) -> Assessment:
    return _Assessor(work, at).assess(candidate)


class _Assessor:
    """`assess` for one piece of work at one moment, over many candidates: where candidates
    list the same places, or the same duty windows, the answer for those is worked out once
    (a roster names a few compounds and rotas over and over); each answer is the same pure
    function's, so the assessments are exactly `assess`'s."""

    def __init__(self, work: Work, at: datetime) -> None:
        self.work = work
        self.at = at
        self.roles = ROLES_FOR[work.kind]
        self._reach: dict[tuple[str, ...], tuple[str, int] | None] = {}
        self._on_duty: dict[tuple[tuple[str, ...], str], bool] = {}

    def reach(self, places: tuple[str, ...]) -> tuple[str, int] | None:
        """The nearest of `places` containing the work's address and its distance, or None."""
        if places not in self._reach:
            covering = [p for p in places if covers(p, self.work.address)]
            if covering:
                nearest = max(covering, key=lambda p: p.count("/"))
                self._reach[places] = (nearest, 0 if place(nearest).building is not None else 1)
            else:
                self._reach[places] = None
        return self._reach[places]

    def on_duty(self, availability: tuple[str, ...], timezone: str) -> bool:
        key = (availability, timezone)
        if key not in self._on_duty:
            self._on_duty[key] = available_at(availability, timezone, self.at)
        return self._on_duty[key]

    def assess(self, candidate: Candidate) -> Assessment:
        work = self.work
        if candidate.actor.role not in self.roles:
            return Assessment(candidate, "role")
        reach = self.reach(candidate.places)
        if reach is None:
            return Assessment(candidate, "place")
        nearest, distance = reach

        def verdict(refusal: str | None) -> Assessment:
            return Assessment(candidate, refusal, nearest, distance)

        if work.need not in candidate.skills:
            return verdict("skill")
        if candidate.actor.id in work.declined_by:
            return verdict("declined")
        if not self.on_duty(candidate.availability, candidate.timezone):
            return verdict("off_duty")
        if candidate.load >= candidate.max_load:
            return verdict("at_capacity")
        return verdict(None)


def decide(work: Work, candidates: list[Candidate], at: datetime) -> Decision:
    assessor = _Assessor(work, at)
    assessments = [assessor.assess(c) for c in candidates]
    ranked = tuple(sorted((a for a in assessments if a.suitable), key=_sort_key))
    refused = tuple(
        sorted((a for a in assessments if not a.suitable), key=lambda a: a.candidate.actor.id)
    )
    if ranked:
        chosen = ranked[0]
        return Decision(chosen, _why_chosen(work, chosen, ranked[1:], at), ranked, refused)
    back = _back_on_duty(refused, at)
    return Decision(None, _why_waiting(work, refused, back), ranked, refused, back)


def _sort_key(a: Assessment) -> tuple[int, int, bool, datetime, str]:
    c = a.candidate
    never = c.last_taken_at is None
    return (c.load, a.distance, not never, c.last_taken_at or EPOCH, c.actor.id)


def _reach(a: Assessment) -> str:
    return "covers the building" if a.distance == 0 else "covers the whole compound"


def _why_chosen(
    work: Work, chosen: Assessment, others: tuple[Assessment, ...], at: datetime
) -> str:
    c = chosen.candidate
    parts = [
        f"{SKILLS[work.need]} {work.need}",
        f"{_reach(chosen)} ({chosen.covering})",
        "on duty now",
        f"load {c.load} of {c.max_load}",
    ]
    why = "; ".join(parts)
    if others:
        lost = ", ".join(f"{o.candidate.actor.id} ({_lost_on(chosen, o)})" for o in others[:3])
        more = f" and {len(others) - 3} more" if len(others) > 3 else ""
        why += f"; ahead of {lost}{more}"
    return why


def _lost_on(winner: Assessment, other: Assessment) -> str:
    w, o = winner.candidate, other.candidate
    if o.load != w.load:
        return f"load {o.load}"
    if other.distance != winner.distance:
        return _reach(other)
    if o.last_taken_at != w.last_taken_at:
        return "took work more recently"
    return "same standing; by id"


_REFUSAL_WORDS = {
    "declined": "declined it",
    "off_duty": "off duty now",
    "at_capacity": "at capacity",
}


def _back_on_duty(refused: tuple[Assessment, ...], at: datetime) -> datetime | None:
    moments = [
        m
        for a in refused
        if a.refusal == "off_duty"
        and (m := next_available(a.candidate.availability, a.candidate.timezone, at)) is not None
    ]
    return min(moments) if moments else None


def _why_waiting(work: Work, refused: tuple[Assessment, ...], back: datetime | None) -> str:
    what = f"{KIND_LABEL.get(work.kind, work.kind)} needing {work.need} at {work.address.path}"
    counts = Counter(a.refusal for a in refused if a.refusal in _REFUSAL_WORDS)
    if not counts:
        skilled_elsewhere = sum(1 for a in refused if a.refusal == "skill")
        if skilled_elsewhere:
            return (
                f"nobody suitable for this {what}: {skilled_elsewhere} cover the place but "
                f"none has {work.need}"
            )
        return f"nobody on the roster covers this {what}"
    pieces = []
    for code in ("off_duty", "at_capacity", "declined"):
        if counts[code]:
            piece = f"{counts[code]} {_REFUSAL_WORDS[code]}"
            if code == "off_duty" and back is not None:
                piece += f" (first back on duty {back.isoformat(timespec='minutes')})"
            pieces.append(piece)
    return f"nobody suitable is free for this {what}: " + "; ".join(pieces)
