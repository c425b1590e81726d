"""Tamper evidence and the auditor's reading of a case file.

`verify` works on the stored records, not on decoded objects: an event that no longer decodes, that
decodes to the same values from different bytes, whose hash does not match its content, or whose
`prev_hash` does not match its predecessor, is reported with its position; nothing here raises on
bad data. Removing a case's *last* events leaves a shorter chain that is still consistent, so that
is caught only against an anchor (a head an auditor or the NATS stream saw earlier).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from casework.domain.chain import GENESIS
from casework.stored_check import Checked, chain_problem, check_stored, stored_checker


@dataclass(frozen=True)
class Anchor:
    """A case's head as someone saw it earlier: its last version and that event's hash."""

    version: int
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    case_id: UUID
    ok: bool
    events: int
    head: str
    position: int | None = None
    problem: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"case {self.case_id}: intact ({self.events} events, head {self.head[:12]})"
        return f"case {self.case_id}: TAMPERED at event {self.position}: {self.problem}"


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a case file: what happened, who (id, role), when, at which tier, and why."""

    case_id: UUID
    version: int
    event: str
    topic: str
    at: datetime
    actor_id: str
    actor_role: str
    tier: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    hash: str = ""
    prev_hash: str = ""


RECORD_FIELDS = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor_id",
        "actor_role",
        "tier",
        "reason",
        "hash",
        "prev_hash",
    }
)
"""What every case event carries beside its own details (who, when, tier, why, the chain)."""


def event_name(topic: str) -> str:
    """`casework.domain.leak:LeakEmergency.WaterStopped` -> `WaterStopped`."""
    return topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1]


_NAMED: dict[type, tuple[str, str]] = {}


def _named(cls: type) -> tuple[str, str]:
    """An event class's topic and name (each history reads many events of few classes)."""
    found = _NAMED.get(cls)
    if found is None:
        topic = f"{cls.__module__}:{cls.__qualname__}"
        found = _NAMED[cls] = (topic, event_name(topic))
    return found


def history_entry(event: Any) -> HistoryEntry:
    """The event's line (`history_entries` of the one event)."""
    return history_entries((event,))[0]


def history_entries(events: Iterable[Any]) -> list[HistoryEntry]:
    """`history_entry` of each event, in one loop: a long case file's lines, most of them of
    a few classes with the same fields, so the details' keys are found once per class and
    field order (`_details_keys`) instead of filtering every field of every event. Each line
    is made as the dataclass's own `__init__` would make it, fields in the instance's
    `__dict__`, without its `object.__setattr__` per field (half the cost of a long history's
    lines; a test keeps the two in step)."""
    entries: list[HistoryEntry] = []
    append = entries.append
    new, set_dict = object.__new__, object.__setattr__
    named, details_of = _NAMED, _DETAILS
    for event in events:
        state = vars(event)
        cls = type(event)
        topic, name = named.get(cls) or _named(cls)
        fields = tuple(state)
        keys = details_of.get((cls, fields))
        if keys is None:
            keys = _details_keys(cls, fields)
        get = state.get
        entry = new(HistoryEntry)
        set_dict(
            entry,
            "__dict__",
            {
                "case_id": event.originator_id,
                "version": event.originator_version,
                "event": name,
                "topic": topic,
                "at": event.timestamp,
                "actor_id": get("actor_id", ""),
                "actor_role": get("actor_role", ""),
                "tier": get("tier", ""),
                "reason": get("reason", ""),
                "details": {k: state[k] for k in keys},
                "hash": get("hash", ""),
                "prev_hash": get("prev_hash", ""),
            },
        )
        append(entry)
    return entries


_DETAILS: dict[tuple[type, tuple[str, ...]], tuple[str, ...]] = {}


def _details_keys(cls: type, fields: tuple[str, ...]) -> tuple[str, ...]:
    """The fields of an event beside `RECORD_FIELDS`, in order (remembered: few per store)."""
    if len(_DETAILS) >= 1000:
        _DETAILS.clear()
    keys = _DETAILS[cls, fields] = tuple(k for k in fields if k not in RECORD_FIELDS)
    return keys


def _decode(mapper: Mapper[UUID], stored: StoredEvent) -> tuple[dict[str, Any] | None, str]:
    """The stored state (values in their stored JSON form on the fast path: only its chain
    fields are for use), or why it cannot be read (`casework.stored_check`)."""
    state, _, problem = check_stored(mapper, stored)
    return state, problem if state is None else ""


def verify_events(
    case_id: UUID,
    stored_events: Sequence[StoredEvent],
    mapper: Mapper[UUID],
    anchor: Anchor | None = None,
    *,
    checked: Sequence[Checked | None] | None = None,
) -> VerifyResult:
    """Walk the chain from the first event; report the first break found.

    `checked`: each event already read as `check_stored` reads it, where a caller has (None
    where not: read here)."""
    previous = GENESIS
    count = len(stored_events)
    check = stored_checker(mapper)
    for index, stored in enumerate(stored_events):
        position = index + 1
        if stored.originator_version != position:
            problem = f"expected version {position}, found {stored.originator_version}: " + (
                "an event was removed" if stored.originator_version > position else "reordered"
            )
            return VerifyResult(case_id, False, count, previous, position, problem)
        found = checked[index] if checked is not None else None
        if found is None:
            found = check(stored)
        state, digest, problem = found
        if (
            state is not None
            and not problem
            and digest
            and state.get("hash") == digest
            and state.get("prev_hash") == previous
        ):  # intact: exactly when `chain_problem` finds nothing
            previous = digest
            continue
        problem = chain_problem(found, previous)
        if problem:
            return VerifyResult(case_id, False, count, previous, position, problem)
        previous = digest
    if count == 0:
        return VerifyResult(case_id, False, 0, GENESIS, 1, "no events stored for this case")
    if anchor is not None:
        anchored: str | None = None
        if count >= anchor.version:
            state, _ = _decode(mapper, stored_events[anchor.version - 1])
            found = state.get("hash") if state is not None else None
            anchored = found if isinstance(found, str) else None
        return anchor_result(case_id, count, previous, anchor, anchored)
    return VerifyResult(case_id, True, count, previous)


def anchor_result(
    case_id: UUID,
    count: int,
    head: str,
    anchor: Anchor,
    anchored: str | None,
) -> VerifyResult:
    """A case whose `count` events chain up to `head`, against what an anchor saw: the event
    at the anchor's version must carry the anchored hash (`anchored`, None if none)."""
    if count < anchor.version:
        return VerifyResult(
            case_id,
            False,
            count,
            head,
            count + 1,
            f"the anchor saw {anchor.version} events; only {count} remain (removed)",
        )
    if anchored != anchor.hash:  # the anchored event's hash must be where the anchor saw it
        return VerifyResult(
            case_id,
            False,
            count,
            head,
            anchor.version,
            "event differs from the anchored head (rewritten)",
        )
    return VerifyResult(case_id, True, count, head)


def summarise(results: Iterable[VerifyResult]) -> tuple[int, list[VerifyResult]]:
    """How many cases were checked, and the ones that failed."""
    checked = 0
    failed: list[VerifyResult] = []
    for result in results:
        checked += 1
        if not result.ok:
            failed.append(result)
    return checked, failed
