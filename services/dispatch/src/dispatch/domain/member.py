"""A member of the roster: one line of the party members' supply list (党员供给清单), and more.

Property staff and volunteers: their skills, the places they cover, when they are available and
how much work they take at once. The member also holds the work they have in hand (their load,
which the rule reads) and records each piece of work done: those `WorkCompleted` events, across
all members, are the volunteer service list (志愿服务清单: what was done, for whom, when).

Load lives here, not in a projection, so that assigning a case and counting it against its
assignee commit in one transaction: two dispatchers choosing the same person at once clash on
this aggregate's version, and the loser chooses again on fresh counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from casework.domain.actors import Actor, Role
from casework.domain.errors import InvalidTransitionError, NotPermittedError, ValidationError
from casework.domain.places import Address

from dispatch.domain.audited import Audited, named_id, require_text
from dispatch.domain.availability import check_timezone, parse_windows
from dispatch.domain.skills import WORKER_ROLES, check_skills

ROSTER_KEEPERS = frozenset({Role.PROPERTY_MANAGER, Role.PARTY_SECRETARY})
"""Who keeps the roster: the property manager (staff and volunteers alike) and the compound
party-branch secretary (the party members' supply list is the branch's)."""

MAX_LOAD_LIMIT = 20
MAX_PLACES = 20


@lru_cache(maxsize=65536)
def member_id(actor_id: str) -> Any:
    return named_id("member", actor_id)


def check_keeper(actor: Actor, action: str) -> None:
    if actor.role not in ROSTER_KEEPERS:
        names = ", ".join(sorted(r.value for r in ROSTER_KEEPERS))
        raise NotPermittedError(f"a {actor.role.value} may not {action}; roles that may: {names}")


def check_places(places: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Compound or building paths (`jiayu-xx/wanxin-intl`, `jiayu-xx/wanxin-intl/b12`)."""
    if not places:
        raise ValidationError("name at least one place covered, e.g. jiayu-xx/wanxin-intl/b12")
    if len(places) > MAX_PLACES:
        raise ValidationError(f"at most {MAX_PLACES} places, not {len(places)}")
    checked: list[str] = []
    for place in places:
        address = Address.parse(place)
        if address.unit is not None:
            raise ValidationError(
                f"place {place!r} is a flat; cover a compound or a building "
                "(community/compound[/building])"
            )
        if address.path not in checked:
            checked.append(address.path)
    return tuple(checked)


def check_max_load(max_load: int) -> int:
    if isinstance(max_load, bool) or not isinstance(max_load, int):
        raise ValidationError("max_load is a whole number")
    if not 1 <= max_load <= MAX_LOAD_LIMIT:
        raise ValidationError(f"max_load must be 1 to {MAX_LOAD_LIMIT}, not {max_load}")
    return max_load


@dataclass(frozen=True)
class Held:
    """A piece of work in a member's hands."""

    work_id: str
    work_kind: str
    address: str
    taken_at: datetime
    why: str


class Member(Audited):
    @dataclass(frozen=True)
    class Joined(Audited.Created):
        member_actor_id: str
        member_role: str
        name: str
        skills: list[str]
        places: list[str]
        availability: list[str]
        timezone: str
        max_load: int

        def apply_to(self, member: Any) -> None:
            member.actor = Actor(self.member_actor_id, Role(self.member_role))
            member.name = self.name
            member.skills = tuple(self.skills)
            member.places = tuple(self.places)
            member.availability = tuple(self.availability)
            member.timezone = self.timezone
            member.max_load = self.max_load
            member.active = True
            member.joined_at = self.timestamp

    @dataclass(frozen=True)
    class Rejoined(Audited.Event):
        name: str
        skills: list[str]
        places: list[str]
        availability: list[str]
        timezone: str
        max_load: int

        def apply_to(self, member: Any) -> None:
            member.name = self.name
            member.skills = tuple(self.skills)
            member.places = tuple(self.places)
            member.availability = tuple(self.availability)
            member.timezone = self.timezone
            member.max_load = self.max_load
            member.active = True

    @dataclass(frozen=True)
    class Left(Audited.Event):
        def apply_to(self, member: Any) -> None:
            member.active = False

    @dataclass(frozen=True)
    class SkillsChanged(Audited.Event):
        skills: list[str]

        def apply_to(self, member: Any) -> None:
            member.skills = tuple(self.skills)

    @dataclass(frozen=True)
    class PlacesChanged(Audited.Event):
        places: list[str]

        def apply_to(self, member: Any) -> None:
            member.places = tuple(self.places)

    @dataclass(frozen=True)
    class AvailabilitySet(Audited.Event):
        availability: list[str]
        timezone: str

        def apply_to(self, member: Any) -> None:
            member.availability = tuple(self.availability)
            member.timezone = self.timezone

    @dataclass(frozen=True)
    class MaxLoadSet(Audited.Event):
        max_load: int

        def apply_to(self, member: Any) -> None:
            member.max_load = self.max_load

    @dataclass(frozen=True)
    class WorkTaken(Audited.Event):
        """`reason`: why this member (the rule's words, or the manager's)."""

        work_id: str
        work_kind: str
        address: str

        def apply_to(self, member: Any) -> None:
            member.holding[self.work_id] = Held(
                self.work_id, self.work_kind, self.address, self.timestamp, self.reason
            )
            member.last_taken_at = self.timestamp
            member.taken += 1

    @dataclass(frozen=True)
    class WorkReleased(Audited.Event):
        """Given back undone (declined, reassigned, cancelled); `reason` says which."""

        work_id: str

        def apply_to(self, member: Any) -> None:
            member.holding.pop(self.work_id, None)

    @dataclass(frozen=True)
    class WorkCompleted(Audited.Event):
        """An entry of the volunteer service list: what was done, where, for whom."""

        work_id: str
        work_kind: str
        address: str
        summary: str
        for_whom: list[str]

        def apply_to(self, member: Any) -> None:
            member.holding.pop(self.work_id, None)
            member.completed += 1

    def __init__(self) -> None:
        super().__init__()
        self.actor: Actor
        self.name = ""
        self.skills: tuple[str, ...] = ()
        self.places: tuple[str, ...] = ()
        self.availability: tuple[str, ...] = ()
        self.timezone = ""
        self.max_load = 1
        self.active = False
        self.joined_at: datetime
        self.holding: dict[str, Held] = {}
        self.last_taken_at: datetime | None = None
        self.taken = 0
        self.completed = 0

    # -------------------------------------------------------------- commands

    @classmethod
    def join(
        cls,
        actor: Actor,
        at: datetime,
        member: Actor,
        *,
        name: str,
        skills: list[str],
        places: list[str],
        availability: list[str],
        timezone: str,
        max_load: int,
        reason: str = "",
    ) -> Member:
        check_keeper(actor, "add people to the roster")
        check_worker(member)
        joined: Member = cls.start(
            cls.Joined,
            member_id(member.id),
            actor,
            at,
            reason=reason.strip(),
            member_actor_id=member.id,
            member_role=member.role.value,
            name=require_text(name, "the name", 100),
            skills=list(check_skills(skills)),
            places=list(check_places(places)),
            availability=list(parse_windows(availability)),
            timezone=check_timezone(timezone),
            max_load=check_max_load(max_load),
        )
        return joined

    def rejoin(
        self,
        actor: Actor,
        at: datetime,
        *,
        name: str,
        skills: list[str],
        places: list[str],
        availability: list[str],
        timezone: str,
        max_load: int,
        reason: str = "",
    ) -> None:
        check_keeper(actor, "add people to the roster")
        if self.active:
            raise InvalidTransitionError(f"{self.actor.id} is already on the roster")
        self.record(
            self.Rejoined,
            actor,
            at,
            reason=reason.strip(),
            name=require_text(name, "the name", 100),
            skills=list(check_skills(skills)),
            places=list(check_places(places)),
            availability=list(parse_windows(availability)),
            timezone=check_timezone(timezone),
            max_load=check_max_load(max_load),
        )

    def leave(self, actor: Actor, at: datetime, reason: str) -> None:
        """Refused while they hold work: it must be finished or declined first, never dropped."""
        check_keeper(actor, "take people off the roster")
        self.check_active()
        if self.holding:
            held = ", ".join(sorted(self.holding))
            raise InvalidTransitionError(
                f"{self.actor.id} still holds {len(self.holding)} piece(s) of work ({held}); "
                "they finish or decline it first, or the property manager hands it on as "
                "they leave (hand_on)"
            )
        self.record(self.Left, actor, at, reason=require_text(reason, "the reason"))

    def change_skills(self, actor: Actor, at: datetime, skills: list[str], reason: str) -> None:
        check_keeper(actor, "change skills on the roster")
        self.check_active()
        checked = list(check_skills(skills))
        if tuple(checked) == self.skills:
            raise InvalidTransitionError(f"{self.actor.id} already has exactly these skills")
        self.record(self.SkillsChanged, actor, at, reason=reason.strip(), skills=checked)

    def change_places(self, actor: Actor, at: datetime, places: list[str], reason: str) -> None:
        check_keeper(actor, "change the places a member covers")
        self.check_active()
        checked = list(check_places(places))
        if tuple(checked) == self.places:
            raise InvalidTransitionError(f"{self.actor.id} already covers exactly these places")
        self.record(self.PlacesChanged, actor, at, reason=reason.strip(), places=checked)

    def set_availability(
        self, actor: Actor, at: datetime, availability: list[str], timezone: str, reason: str
    ) -> None:
        """The keeper, or the member themselves ("away this week")."""
        if actor.id != self.actor.id:
            check_keeper(actor, "set someone else's availability")
        self.check_active()
        self.record(
            self.AvailabilitySet,
            actor,
            at,
            reason=reason.strip(),
            availability=list(parse_windows(availability)),
            timezone=check_timezone(timezone),
        )

    def set_max_load(self, actor: Actor, at: datetime, max_load: int, reason: str) -> None:
        check_keeper(actor, "change how much work a member takes at once")
        self.check_active()
        self.record(
            self.MaxLoadSet, actor, at, reason=reason.strip(), max_load=check_max_load(max_load)
        )

    def take(
        self, actor: Actor, at: datetime, work_id: str, work_kind: str, address: str, why: str
    ) -> None:
        """Count a piece of work against this member. The rule checked capacity; a manager may
        go over it on purpose (by hand), so only "not on the roster" refuses here."""
        self.check_active()
        if work_id in self.holding:
            raise InvalidTransitionError(f"{self.actor.id} already holds {work_id}")
        self.record(
            self.WorkTaken,
            actor,
            at,
            reason=require_text(why, "why this member"),
            work_id=work_id,
            work_kind=work_kind,
            address=address,
        )

    def release(self, actor: Actor, at: datetime, work_id: str, why: str) -> None:
        if work_id not in self.holding:
            raise InvalidTransitionError(f"{self.actor.id} does not hold {work_id}")
        self.record(self.WorkReleased, actor, at, reason=require_text(why, "why"), work_id=work_id)

    def complete(
        self, actor: Actor, at: datetime, work_id: str, summary: str, for_whom: list[str]
    ) -> None:
        held = self.holding.get(work_id)
        if held is None:
            raise InvalidTransitionError(f"{self.actor.id} does not hold {work_id}")
        self.record(
            self.WorkCompleted,
            actor,
            at,
            work_id=work_id,
            work_kind=held.work_kind,
            address=held.address,
            summary=require_text(summary, "what was done"),
            for_whom=list(for_whom),
        )

    # ----------------------------------------------------------------- rules

    def check_active(self) -> None:
        if not self.active:
            raise InvalidTransitionError(f"{self.actor.id} is not on the roster (they left)")

    @property
    def load(self) -> int:
        return len(self.holding)

    def profile(self) -> dict[str, Any]:
        return {
            "actor_id": self.actor.id,
            "role": self.actor.role.value,
            "name": self.name,
            "skills": list(self.skills),
            "places": list(self.places),
            "availability": list(self.availability),
            "timezone": self.timezone,
            "max_load": self.max_load,
            "active": self.active,
            "load": self.load,
            "holding": sorted(self.holding),
            "taken": self.taken,
            "completed": self.completed,
            "last_taken_at": self.last_taken_at.isoformat() if self.last_taken_at else None,
            "version": self.version,
        }


def check_worker(member: Actor) -> None:
    if member.role not in WORKER_ROLES:
        names = ", ".join(sorted(r.value for r in WORKER_ROLES))
        raise ValidationError(f"the roster lists {names}; not a {member.role.value}")
