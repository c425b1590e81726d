"""A person's own record as a data subject: who erased them, when, why (PIPL art. 47).

An erasure is one act about a person, not a step in any case: it is recorded here, on a small
audited aggregate of its own (on `Chained`: chained like a case file and checked by
`casework.audit.verify_events`, though `casework verify` walks case files only), never in the
case files, which keep their events and tiers. It holds no personal value: the person's id (the
same pseudonymous id events name actors by), the erasing actor, the reason, and the case files
that held their data. The keys are destroyed by the application after this is recorded
(docs/adr/011-personal-data.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from casework.domain.actors import Actor, check_may
from casework.domain.chained import Chained
from casework.domain.errors import ValidationError
from casework.domain.text import require_text

PEOPLE = uuid5(NAMESPACE_URL, "casework:people")


def person_file_id(person_id: str) -> UUID:
    """The id of a person's file: derived, so every process finds the same one."""
    return uuid5(PEOPLE, person_id)


@dataclass(frozen=True)
class Erasure:
    """One recorded erasure: whom, by whom (id, role), when, why, which case files."""

    person_id: str
    actor_id: str
    actor_role: str
    at: datetime
    reason: str
    case_ids: tuple[str, ...]


class PersonFile(Chained):
    """What the library must remember about a person: only their erasures."""

    @dataclass(frozen=True)
    class Opened(Chained.Created):
        """Made with the first erasure (no person has a file before anything is recorded)."""

        person_id: str

        def apply_to(self, aggregate: Any) -> None:
            aggregate.person_id = self.person_id

    @dataclass(frozen=True)
    class Erased(Chained.Event):
        """The person's keys are to be destroyed (and are, right after this is stored)."""

        case_ids: list[str]

        def apply_to(self, aggregate: Any) -> None:
            aggregate.erasures.append(
                Erasure(
                    aggregate.person_id,
                    self.actor_id,
                    self.actor_role,
                    self.timestamp,
                    self.reason,
                    tuple(self.case_ids),
                )
            )

    def __init__(self) -> None:
        super().__init__()
        self.person_id = ""
        self.erasures: list[Erasure] = []

    @classmethod
    def open(cls, person_id: str, actor: Actor, at: datetime) -> PersonFile:
        check_may(actor, "erase_person")
        return cls.start(cls.Opened, person_file_id(person_id), actor, at, person_id=person_id)

    @property
    def last_erasure(self) -> Erasure | None:
        return self.erasures[-1] if self.erasures else None

    def erase(self, actor: Actor, at: datetime, reason: str, case_ids: list[str]) -> None:
        """Record an erasure by the data protection officer; the reason is required."""
        check_may(actor, "erase_person")
        if not self.person_id:
            raise ValidationError("a person file needs its person")
        self.record(
            self.Erased,
            actor,
            at,
            reason=require_text(reason, "the reason for the erasure", 1000),
            case_ids=sorted(case_ids),
        )
