"""The roster's commands: who is on it, with which skills, places, hours and load."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from casework.domain import Actor, Case, ValidationError

from dispatch.application.assigning import Assigning
from dispatch.application.unit import Unit
from dispatch.application.work import Outcome, held_by
from dispatch.domain.availability import DEFAULT_TIMEZONE
from dispatch.domain.demand import ServiceTask
from dispatch.domain.handover import check_reassigner
from dispatch.domain.member import Member, member_id
from dispatch.domain.roster import Roster


class RosterCommands(Assigning):
    """Joining, leaving (handing on held work) and changing a member's profile."""

    def join(
        self,
        actor: Actor,
        member: Actor,
        *,
        name: str,
        skills: list[str],
        places: list[str],
        availability: list[str],
        timezone: str = DEFAULT_TIMEZONE,
        max_load: int = 3,
        reason: str = "",
    ) -> Member:
        """Put someone on the roster (again, if they left)."""

        def change(u: Unit) -> Member:
            profile: dict[str, Any] = {
                "name": name,
                "skills": skills,
                "places": places,
                "availability": availability,
                "timezone": timezone,
                "max_load": max_load,
                "reason": reason,
            }
            existing = u.member(member.id)
            if existing is None:
                joined: Member = u.add(Member.join(actor, u.at, member, **profile))
            else:
                if existing.actor.role is not member.role:
                    raise ValidationError(
                        f"{member.id} was on the roster as {existing.actor.role.value}; "
                        "one actor id keeps one role"
                    )
                existing.rejoin(actor, u.at, **profile)
                joined = existing
            roster = u.roster() or u.add(Roster.open(actor, u.at))
            roster.list_member(actor, u.at, member.id, list(joined.places))
            return joined

        return self.run(change)

    def leave(
        self, actor: Actor, member_actor_id: str, reason: str, *, hand_on: bool = False
    ) -> tuple[Member, list[Outcome]]:
        """Take someone off the roster. While they hold work this is refused with the list of
        it, unless `hand_on`: then each piece (oldest first) is taken off them and goes to the
        next suitable person by the rule, or waits in the queue, in the same transaction as
        the leaving, so no work is dropped and no load is left on someone who is gone."""

        def change(u: Unit) -> tuple[Member, list[Outcome]]:
            member = self._member(u, member_actor_id)
            outcomes: list[Outcome] = []
            if hand_on and member.holding:
                check_reassigner(actor, "hand on someone's work as they leave")
                why = f"{member_actor_id} leaves the roster: {reason.strip()}"
                held = sorted(member.holding.values(), key=lambda h: (h.taken_at, h.work_id))
                for piece in held:
                    work = u.get(UUID(piece.work_id))
                    if held_by(work, member_actor_id):
                        outcomes.append(self._reassign(u, actor, piece.work_id, why, None))
                    else:  # the record says it is not theirs (any more): only the load goes
                        member.release(actor, u.at, piece.work_id, f"not held on the record; {why}")
            member.leave(actor, u.at, reason)
            roster = u.roster()
            if roster is not None:
                roster.unlist(actor, u.at, member_actor_id)
            return member, outcomes

        return self.run(change)

    def change_skills(
        self, actor: Actor, member_actor_id: str, skills: list[str], reason: str
    ) -> Member:
        return self._on_member(
            member_actor_id, lambda m, at: m.change_skills(actor, at, skills, reason)
        )

    def change_places(
        self, actor: Actor, member_actor_id: str, places: list[str], reason: str
    ) -> Member:
        def change(u: Unit) -> Member:
            member = self._member(u, member_actor_id)
            member.change_places(actor, u.at, places, reason)
            roster = u.roster() or u.add(Roster.open(actor, u.at))
            roster.list_member(actor, u.at, member_actor_id, list(member.places))
            return member

        return self.run(change)

    def set_availability(
        self,
        actor: Actor,
        member_actor_id: str,
        availability: list[str],
        timezone: str = DEFAULT_TIMEZONE,
        reason: str = "",
    ) -> Member:
        return self._on_member(
            member_actor_id,
            lambda m, at: m.set_availability(actor, at, availability, timezone, reason),
        )

    def set_max_load(
        self, actor: Actor, member_actor_id: str, max_load: int, reason: str
    ) -> Member:
        return self._on_member(
            member_actor_id, lambda m, at: m.set_max_load(actor, at, max_load, reason)
        )

    def member(self, actor_id: str) -> Member:
        return self._member(self.read(), actor_id)

    def members(self) -> list[Member]:
        """Everyone listed on the roster now (who left is not listed), by actor id."""
        self.followed.catch_up()
        with self.followed.reading() as now:
            if now.roster is None:
                return []
            found = [now.members.get(member_id(a)) for a in sorted(now.roster.places)]
            return [copy.deepcopy(m) for m in found if m is not None]

    def _on_member(self, actor_id: str, action: Callable[[Member, datetime], None]) -> Member:
        def change(u: Unit) -> Member:
            member = self._member(u, actor_id)
            action(member, u.at)
            return member

        return self.run(change)

    def open_tasks(self, member: Member) -> list[Any]:
        """The cases and service tasks a member holds now, oldest first."""
        u = self.read()
        held = sorted(member.holding.values(), key=lambda h: (h.taken_at, h.work_id))
        found = [u.get(UUID(h.work_id)) for h in held]
        return [w for w in found if isinstance(w, (Case, ServiceTask))]
