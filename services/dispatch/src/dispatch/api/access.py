"""The access policy: who sees and who may change which work, members and places.

Anyone sees the work they hold; staff, managers, party secretaries and community officers see
the work and the roster of the place they answer for; auditors read everything and change
nothing. Work outside your sight answers 404 exactly like an unknown id."""

from __future__ import annotations

from typing import Any

from casework import Role
from casework.domain.errors import NotPermittedError
from casework_web import Principal

from dispatch.application import NotFoundError
from dispatch.domain.member import Member
from dispatch.runtime import Runtime

UNSEEN = "no such case or task among those you can see"
OVERSEERS = frozenset(
    {
        Role.PROPERTY_STAFF,
        Role.PROPERTY_MANAGER,
        Role.PARTY_SECRETARY,
        Role.BUILDING_LEADER,
        Role.COMMUNITY_OFFICER,
        Role.OWNERS_COMMITTEE,
    }
)
"""Roles that see the work, queue and roster of the place they answer for."""


def sees_place(who: Principal, path: str) -> bool:
    return who.is_auditor or (who.actor.role in OVERSEERS and who.covers(path))


def check_sees_work(who: Principal, work: Any) -> None:
    """404 for work outside the caller's sight, exactly like an unknown id."""
    assignee = getattr(work, "assignee", None)
    if assignee is not None and assignee.id == who.actor.id:
        return
    if sees_place(who, work.address.path):
        return
    raise NotFoundError(UNSEEN)


def check_changes(who: Principal) -> None:
    if who.is_auditor:
        raise NotPermittedError("auditors read everything and change nothing")


def check_keeps(who: Principal, places: list[str], what: str) -> None:
    """Keepers act within the place they answer for: every place named must lie inside it."""
    check_changes(who)
    outside = [p for p in places if not who.covers(p.strip().strip("/"))]
    if outside:
        raise NotPermittedError(
            f"a {who.actor.role.value} of {who.place} may not {what} for {', '.join(outside)}"
        )


def member_in_sight(who: Principal, member: Member) -> bool:
    if who.is_auditor or member.actor.id == who.actor.id:
        return True
    return who.actor.role in OVERSEERS and any(
        who.covers(p) or (who.place or "").startswith(p + "/") for p in member.places
    )


def visible_member(rt: Runtime, who: Principal, actor_id: str) -> Member:
    member = rt.app.member(actor_id)
    if not member_in_sight(who, member):
        raise NotFoundError(f"{actor_id} is not on the roster (of the places you can see)")
    return member


def load_work(rt: Runtime, who: Principal, work_id: str) -> Any:
    u = rt.app.read()
    kind = rt.app.kind_of(work_id)
    work = u.task(work_id) if kind == "task" else u.case(work_id)
    check_sees_work(who, work)
    return work
