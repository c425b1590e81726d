"""What the mediation service does when a case event arrives, wherever it came from.

Effects go through `Casework` commands; the caller runs `react` inside a tracking block (docs/adr/
004), so a redelivered event has no second effect. Reactions:

- a failed round (`mediation_failed`): climb a rung if the set number of rounds has now failed
  at this tier (`escalate_if_due`, recorded as automatic, by the mediation service);
- a dispute linked to a leak as its damage (`linked_to_case`, relation `damage_dispute`): the
  leak's findings (source flat, cause, damage, damaged flats) as known when they were linked
  go into the dispute's file as a note, so the mediator and the auditor read them there;
- a leak's cause recorded (`cause_recorded`) after such a link: the cause goes to each damage
  dispute linked by then.

Each reads the other case as of a fixed version (the link's, the cause's), so the two paths never
both note the same finding, whatever order the events are handled in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from casework import Actor, Casework, Dispute, LeakEmergency, Role, Status
from casework.audit import history_entry
from casework.contracts import CaseEvent
from casework.contracts.mapping import snake
from casework.topics import is_case_topic

MEDIATION = Actor("mediation-service", Role.SYSTEM)
"""The actor of the service's own facts (automatic escalations, check-backs, leak notes)."""

DAMAGE = "damage_dispute"
_ENVELOPE = frozenset(CaseEvent.model_fields)
_KINDS = {"Dispute": "dispute", "LeakEmergency": "leak", "Repair": "repair"}
_TYPE = re.compile(r"^casework\.(?P<kind>[a-z_]+)\.(?P<event>[a-z_]+)\.v\d+$")


@dataclass(frozen=True)
class Notice:
    """One case event as the reactions need it: which case, which event, its fields."""

    case_id: str
    kind: str
    event: str
    version: int
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_contract(cls, contract: CaseEvent) -> Notice:
        match = _TYPE.match(contract.type)
        if match is None:
            raise ValueError(f"{contract.type!r} is not a case event type")
        data = {k: v for k, v in contract.model_dump().items() if k not in _ENVELOPE}
        return cls(str(contract.case_id), contract.kind, match["event"], contract.version, data)

    @classmethod
    def from_domain_event(cls, event: Any) -> Notice | None:
        """None for anything that is not a case event (a service's own aggregates)."""
        entry = history_entry(event)
        if not is_case_topic(entry.topic):
            return None
        owner = entry.topic.rsplit(":", 1)[-1].split(".", 1)[0]
        kind = _KINDS.get(owner)
        if kind is None:
            return None
        return cls(str(entry.case_id), kind, snake(entry.event), entry.version, entry.details)


def concerns_mediation(notice: Notice) -> bool:
    return notice.kind == "dispute" or (notice.kind == "leak" and notice.event == "cause_recorded")


def react(notice: Notice, app: Casework) -> list[str]:
    """Do what the event calls for; returns what was done, for logs and tests."""
    done: list[str] = []
    if notice.kind == "dispute" and notice.event == "mediation_failed":
        reason = app.escalate_if_due(notice.case_id, MEDIATION)
        if reason:
            done.append(f"escalated {notice.case_id}: {reason}")
    elif (
        notice.kind == "dispute"
        and notice.event == "linked_to_case"
        and notice.data.get("relation") == DAMAGE
    ):
        leak_id = str(notice.data["other_case_id"])
        leak = _leak_when_linked(app, leak_id, notice.case_id)
        if leak is not None and _open(app, notice.case_id):
            app.add_note(notice.case_id, MEDIATION, leak_findings(leak))
            done.append(f"noted leak {leak_id} on {notice.case_id}")
    elif notice.kind == "leak" and notice.event == "cause_recorded":
        found = app.get_case(notice.case_id, version=notice.version)
        assert isinstance(found, LeakEmergency)
        for other, relation in found.links:
            if relation != DAMAGE:
                continue
            if _open(app, other):
                app.add_note(other, MEDIATION, leak_findings(found))
                done.append(f"noted leak cause {notice.case_id} on {other}")
    return done


def _open(app: Casework, dispute_id: str) -> bool:
    dispute = app.get_case(dispute_id)
    return isinstance(dispute, Dispute) and dispute.status is not Status.CLOSED


def _leak_when_linked(app: Casework, leak_id: str, dispute_id: str) -> LeakEmergency | None:
    """The leak as it stood when it was linked to this dispute (None if it is no leak)."""
    try:
        entries = app.history(leak_id)
    except Exception:  # an unknown or unreadable other case: nothing to note
        return None
    for entry in entries:
        if entry.event == "LinkedToCase" and str(entry.details.get("other_case_id")) == dispute_id:
            leak = app.get_case(leak_id, version=entry.version)
            return leak if isinstance(leak, LeakEmergency) else None
    return None


def leak_findings(leak: LeakEmergency) -> str:
    """The note a damage dispute gets: what the leak case found, in one paragraph."""
    parts = [f"from leak case {leak.id} at {leak.address.path}, water from flat {leak.source_unit}"]
    if leak.cause:
        parts.append(f"cause: {leak.cause}")
    else:
        parts.append("cause not yet recorded (it is added here when it is)")
    if leak.damage:
        parts.append(f"damage: {leak.damage}")
    if leak.damaged_units:
        parts.append("damaged flats: " + ", ".join(leak.damaged_units))
    return "; ".join(parts)
