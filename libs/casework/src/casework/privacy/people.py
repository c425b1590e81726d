"""A person across every case file: what is kept about them (export), and their erasure.

`export` answers PIPL art. 45 (right of access): every value sealed under the person's keys,
wherever it sits (a description, a stated position, a number in a staff note), and every
declared personal field of theirs still in plaintext (a store not yet migrated), each with its
case, version, time and field path, opened; plus the events the person recorded themself, and
their erasures. After an erasure the values read `[erased]` and the report says who erased
them, when and why.

`erase` answers art. 47: it records the erasure on the person's file (`casework.domain.people`)
and then destroys their keys. Event first, key second (docs/adr/011-personal-data.md): an
erasure whose keys were not destroyed (the process died between the two) is finished, without a
second record, by the next `erase` of that person.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from casework.audit import event_name
from casework.domain.actors import Actor
from casework.domain.case import Case
from casework.domain.people import Erasure, PersonFile, person_file_id
from casework.domain.personal import EACH_KEY
from casework.idempotency import SUBJECT as ANSWERS
from casework.privacy import Privacy
from casework.privacy.envelope import PREFIX, TOKEN, is_sealed, parse
from casework.privacy.sealing import (
    NOT_SCANNED,
    personal_fields,
    seal_pending,
    subject_of,
    walk_strings,
)
from casework.topics import is_case_topic
from casework.unit_of_work import retrying_on_conflict

if TYPE_CHECKING:
    from casework.application import Casework


@dataclass(frozen=True)
class Fact:
    """One personal value of the person: where it is and what it reads (for this export)."""

    case_id: str
    version: int
    at: datetime
    event: str
    field: str
    value: str
    erased: bool = False


@dataclass(frozen=True)
class Act:
    """An event the person recorded themself (a report, a confirmation, a rating)."""

    case_id: str
    version: int
    at: datetime
    event: str
    role: str


@dataclass
class PersonReport:
    """Everything kept about one person; `as_json` is what `casework person export` prints."""

    person_id: str
    facts: list[Fact] = field(default_factory=list)
    acts: list[Act] = field(default_factory=list)
    erasures: list[Erasure] = field(default_factory=list)

    @property
    def case_ids(self) -> list[str]:
        """The case files that hold the person's data or acts, in first-seen order."""
        return list(dict.fromkeys([f.case_id for f in self.facts] + [a.case_id for a in self.acts]))

    def as_json(self) -> dict[str, Any]:
        last = self.erasures[-1] if self.erasures else None
        return {
            "person_id": self.person_id,
            "erased": None
            if last is None
            else {
                "at": last.at.isoformat(),
                "by": {"id": last.actor_id, "role": last.actor_role},
                "reason": last.reason,
                "case_ids": list(last.case_ids),
            },
            "erasures": len(self.erasures),
            "case_ids": self.case_ids,
            "facts": [
                {
                    "case_id": f.case_id,
                    "version": f.version,
                    "at": f.at.isoformat(),
                    "event": f.event,
                    "field": f.field,
                    "value": f.value,
                    "erased": f.erased,
                }
                for f in self.facts
            ],
            "acts": [
                {
                    "case_id": a.case_id,
                    "version": a.version,
                    "at": a.at.isoformat(),
                    "event": a.event,
                    "role": a.role,
                }
                for a in self.acts
            ],
        }


def case_events(app: Casework, batch: int = 500) -> Iterator[Any]:
    """Every case event in the store, as stored (sealed values sealed), in recording order."""
    start = 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=batch)
        if not page:
            return
        for notification in page:
            if is_case_topic(notification.topic):
                yield app.mapper.to_domain_event(notification)
        start = page[-1].id + 1


def export(app: Casework, privacy: Privacy, person_id: str) -> PersonReport:
    """Everything kept about `person_id` across every case file (see the module docstring)."""
    report = PersonReport(person_id)
    reporters: dict[UUID, str] = {}
    for event in case_events(app):
        state = vars(event)
        case_id = event.originator_id
        if isinstance(event, Case.Opened):
            reporters[case_id] = event.actor_id
        name = event_name(type(event).__qualname__)
        where = (str(case_id), event.originator_version, event.timestamp, name)
        if state.get("actor_id") == person_id:
            report.acts.append(Act(*where, role=state.get("actor_role", "")))
        report.facts.extend(_sealed_facts(privacy, state, person_id, where))
        report.facts.extend(
            _plain_facts(type(event), state, person_id, reporters.get(case_id), where)
        )
    person_file = _person_file(app, person_id)
    if person_file is not None:
        report.erasures = list(person_file.erasures)
    return report


def _sealed_facts(
    privacy: Privacy, state: dict[str, Any], person_id: str, where: tuple[str, int, datetime, str]
) -> Iterator[Fact]:
    case_id = where[0]
    for name, value in state.items():
        if name in NOT_SCANNED:
            continue
        for path, text in walk_strings(value, name):
            if PREFIX not in text:
                continue
            for match in TOKEN.finditer(text):
                opened = privacy.opener.token(
                    parse(match[0]), case_id=case_id, field=path, allowed=True
                )
                if opened is not None and opened.subject == person_id:
                    yield Fact(*where, field=path, value=opened.text, erased=opened.erased)


def _plain_facts(
    event_class: type,
    state: dict[str, Any],
    person_id: str,
    reporter: str | None,
    where: tuple[str, int, datetime, str],
) -> Iterator[Fact]:
    """Declared personal values of the person still in plaintext (a store not yet migrated)."""
    for name, spec in personal_fields(event_class).items():
        value = state.get(name)
        if spec == EACH_KEY and isinstance(value, dict):
            owned = [(f"{name}.{k}", v) for k, v in value.items() if k == person_id]
        elif spec != EACH_KEY and subject_of(spec, state, reporter) == person_id:
            owned = [(name, value)]
        else:
            owned = []
        for path, item in owned:
            for sub_path, text in walk_strings(item, path):
                if text and not is_sealed(text):
                    yield Fact(*where, field=sub_path, value=text)


def _person_file(app: Casework, person_id: str) -> PersonFile | None:
    try:
        found: Any = app.repository.get(person_file_id(person_id))
    except AggregateNotFoundError:
        return None
    return found if isinstance(found, PersonFile) else None


def erase(app: Casework, privacy: Privacy, person_id: str, actor: Actor, reason: str) -> Erasure:
    """Record that `actor` erases `person_id` (and why), then destroy the person's keys.

    Returns the erasure as recorded. An earlier erasure of the person whose keys were not
    destroyed is finished instead of recorded again.
    """

    def attempt() -> Erasure:
        person_file = _person_file(app, person_id)
        last = person_file.last_erasure if person_file is not None else None
        destroyed = privacy.keys.erased_at(person_id)
        if last is not None and (destroyed is None or destroyed < last.at):
            privacy.keys.destroy(person_id, last.at)
            privacy.opener.forget(person_id)
            privacy.keys.destroy(ANSWERS, last.at)
            return last
        at = app.clock()
        if person_file is None:
            person_file = PersonFile.open(person_id, actor, at)
        case_ids = export(app, privacy, person_id).case_ids
        person_file.erase(actor, at, reason, case_ids)
        seal_pending(person_file, privacy.sealer)
        app.save(person_file)
        recorded = person_file.last_erasure
        assert recorded is not None
        privacy.keys.destroy(person_id, recorded.at)
        privacy.opener.forget(person_id)
        privacy.keys.destroy(ANSWERS, recorded.at)  # kept HTTP answers may hold their values
        return recorded

    return retrying_on_conflict(attempt, what=f"the file of person {person_id}")
