"""What the mediation service does when a case event arrives, wherever it came from.

The event is the contract `casework.contracts.CaseEvent` (from NATS, or made from the store's log
by `mapping.to_contract`, as the relay does); the reactions key on its contract type. Effects go
through `Casework` commands; the caller runs `react` inside a tracking block (docs/adr/004), so a
redelivered event has no second effect. Reactions:

- a failed round (`casework.dispute.mediation_failed.v1`): climb a rung if the set number of
  rounds has now failed at this tier (`escalate_if_due`, recorded as automatic, by the mediation
  service);
- a dispute linked to a leak as its damage (`casework.dispute.linked_to_case.v1`, relation
  `damage_dispute`): the leak's findings (source flat, cause, damage, damaged flats) as known
  when they were linked go into the dispute's file as a note, so the mediator and the auditor
  read them there;
- a leak's cause recorded (`casework.leak.cause_recorded.v1`) after such a link: the cause goes
  to each damage dispute linked by then.

Each reads the other case as of a fixed version (the link's, the cause's), so the two paths never
both note the same finding, whatever order the events are handled in.
"""

from __future__ import annotations

from casework import Actor, Casework, Dispute, LeakEmergency, Role, Status
from casework.contracts import (
    CaseEvent,
    DisputeEvent,
    DisputeLinkedToCaseV1,
    DisputeMediationFailedV1,
    LeakCauseRecordedV1,
)

MEDIATION = Actor("mediation-service", Role.SYSTEM)
"""The actor of the service's own facts (automatic escalations, check-backs, leak notes)."""

DAMAGE = "damage_dispute"


def concerns_mediation(model: type[CaseEvent]) -> bool:
    """Whether events of this contract reach the worklist or a reaction: dispute events, and
    leak causes (for damage disputes). The store feed skips the rest without decoding them; the
    NATS consumer is filtered on the same by the server (`feeds.SUBJECTS`)."""
    return issubclass(model, (DisputeEvent, LeakCauseRecordedV1))


def react(event: CaseEvent, app: Casework) -> list[str]:
    """Do what the event calls for; returns what was done, for logs and tests."""
    done: list[str] = []
    case_id = str(event.case_id)
    if isinstance(event, DisputeMediationFailedV1):
        reason = app.escalate_if_due(case_id, MEDIATION)
        if reason:
            done.append(f"escalated {case_id}: {reason}")
    elif isinstance(event, DisputeLinkedToCaseV1) and event.relation == DAMAGE:
        leak_id = str(event.other_case_id)
        leak = _leak_when_linked(app, leak_id, case_id)
        if leak is not None and _open(app, case_id):
            app.add_note(case_id, MEDIATION, leak_findings(leak))
            done.append(f"noted leak {leak_id} on {case_id}")
    elif isinstance(event, LeakCauseRecordedV1):
        found = app.get_case(case_id, version=event.version)
        assert isinstance(found, LeakEmergency)
        for other, relation in found.links:
            if relation != DAMAGE:
                continue
            if _open(app, other):
                app.add_note(other, MEDIATION, leak_findings(found))
                done.append(f"noted leak cause {case_id} on {other}")
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
