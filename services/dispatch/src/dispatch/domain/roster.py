"""The roster's directory: who is on it and which places they cover.

The rule needs "everyone who covers this address" without loading every member; this small
aggregate answers it, read fresh inside the same unit of work as the assignment. It changes only
when someone joins, leaves or changes places, always in the same save as the member's own event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from casework.domain.actors import Actor
from casework.domain.places import Address

from dispatch.domain.audited import Audited, named_id
from dispatch.domain.places import covers

ROSTER_ID = named_id("roster", "directory")


class Roster(Audited):
    @dataclass(frozen=True)
    class Opened(Audited.Created):
        def apply_to(self, roster: Any) -> None:
            pass

    @dataclass(frozen=True)
    class Listed(Audited.Event):
        member_actor_id: str
        places: list[str]

        def apply_to(self, roster: Any) -> None:
            roster.places[self.member_actor_id] = tuple(self.places)

    @dataclass(frozen=True)
    class Unlisted(Audited.Event):
        member_actor_id: str

        def apply_to(self, roster: Any) -> None:
            roster.places.pop(self.member_actor_id, None)

    def __init__(self) -> None:
        super().__init__()
        self.places: dict[str, tuple[str, ...]] = {}

    @classmethod
    def open(cls, actor: Actor, at: datetime) -> Roster:
        roster: Roster = cls.start(cls.Opened, ROSTER_ID, actor, at)
        return roster

    def list_member(
        self, actor: Actor, at: datetime, member_actor_id: str, places: list[str]
    ) -> None:
        """Also used when a listed member's places change: the entry is replaced."""
        self.record(self.Listed, actor, at, member_actor_id=member_actor_id, places=list(places))

    def unlist(self, actor: Actor, at: datetime, member_actor_id: str) -> None:
        if member_actor_id in self.places:
            self.record(self.Unlisted, actor, at, member_actor_id=member_actor_id)

    def covering(self, address: Address) -> list[str]:
        """Actor ids of members covering the address (a compound or a building above it)."""
        found = []
        for actor_id, places in self.places.items():
            if any(covers(p, address) for p in places):
                found.append(actor_id)
        return sorted(found)
