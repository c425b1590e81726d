"""From the store's events to their public contracts.

The store names an event by its topic (`casework.domain.leak:LeakEmergency.WaterStopped`); NATS
carries `casework.leak.water_stopped.v1`. The table below is built from the domain's own event
classes (`casework.domain.catalogue`), and building it fails, naming the model to add, if any
recorded event lacks a contract model, so the domain cannot grow an event that the relay cannot
publish. `pipeline_gaps` names everything else an event lacks (label, fields, listing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

from eventsourcing.utils import get_topic

from casework.audit import RECORD_FIELDS
from casework.contracts import events
from casework.contracts.envelope import CaseEvent
from casework.contracts.events import EVENT_MODELS
from casework.contracts.registry import MODELS_BY_TYPE, UnknownEventTypeError
from casework.domain.case import Case
from casework.domain.catalogue import KINDS, Recorded, label_gaps, recorded_events
from casework.domain.places import Address

CASE_CLASSES: tuple[type[Case], ...] = KINDS
ENVELOPE_FIELDS = frozenset(CaseEvent.model_fields)


def snake(name: str) -> str:
    """`WaterStopped` -> `water_stopped`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def contract_name(item: Recorded) -> str:
    """`casework.leak.water_stopped.v1` for `LeakEmergency.WaterStopped`."""
    return f"casework.{item.kind.KIND}.{snake(item.name)}.v1"


def _model_gaps(item: Recorded, models: Mapping[str, type[CaseEvent]]) -> list[str]:
    name = contract_name(item)
    recorded = sorted({f.name for f in fields(item.event)} - RECORD_FIELDS)
    model = models.get(name)
    if model is None:
        class_name = f"{item.kind.KIND.capitalize()}{item.name}V1"
        base = f"{item.kind.KIND.capitalize()}Event"
        return [
            f"{item.qualname} has no contract model {name} in casework.contracts.events; add "
            f'class {class_name}({base}) with type: Literal["{name}"] and the payload '
            f"field(s) {', '.join(recorded) or '(none)'}, and list it in EVENT_MODELS"
        ]
    published = sorted(set(model.model_fields) - ENVELOPE_FIELDS)
    gaps: list[str] = []
    if lacking := sorted(set(recorded) - set(published)):
        gaps.append(
            f"{item.qualname} records {', '.join(lacking)} that its contract model "
            f"{model.__name__} lacks; add the field(s) to the model (or its payloads class)"
        )
    if extra := sorted(set(published) - set(recorded)):
        gaps.append(
            f"{model.__name__} publishes {', '.join(extra)} that {item.qualname} does not "
            "record; record them in the domain or drop them from the model"
        )
    return gaps


def unlisted_models() -> list[str]:
    """Contract models defined in casework.contracts.events but missing from EVENT_MODELS."""
    listed = set(EVENT_MODELS)
    return [
        f"{value.__name__} is defined in casework.contracts.events but not listed in "
        "EVENT_MODELS; add it there (the registry and AsyncAPI read that tuple)"
        for value in vars(events).values()
        if isinstance(value, type)
        and issubclass(value, CaseEvent)
        and value.__module__ == events.__name__
        and isinstance(value.model_fields["type"].default, str)
        and value.model_fields["type"].default.startswith("casework.")
        and value not in listed
    ]


def pipeline_gaps(
    kinds: Sequence[type[Case]] = KINDS, models: Mapping[str, type[CaseEvent]] = MODELS_BY_TYPE
) -> list[str]:
    """Per recorded event, what it lacks to be shown, published and documented; [] if nothing.

    Each line names the event, the missing piece and where to add it (docs/ARCHITECTURE.md,
    "How to add an event").
    """
    gaps = label_gaps(kinds)
    for item in recorded_events(kinds):
        gaps.extend(_model_gaps(item, models))
    return gaps + unlisted_models()


def _build() -> dict[str, type[CaseEvent]]:
    items = recorded_events()
    missing = [g for item in items for g in _model_gaps(item, MODELS_BY_TYPE) if "no contract" in g]
    if missing:
        raise RuntimeError("\n".join(missing))
    return {item.topic: MODELS_BY_TYPE[contract_name(item)] for item in items}


MODELS_BY_TOPIC: Mapping[str, type[CaseEvent]] = MappingProxyType(_build())
"""Store topic -> contract model, for every event a case file can hold."""


@dataclass(frozen=True)
class CasePlace:
    """Where a case is, from its first event; later events do not repeat the address."""

    community: str
    compound: str

    @classmethod
    def of(cls, reported: Any) -> CasePlace:
        address = Address.parse(reported.address)
        return cls(address.community, address.compound)


def model_for_topic(topic: str) -> type[CaseEvent]:
    try:
        return MODELS_BY_TOPIC[topic]
    except KeyError:
        raise UnknownEventTypeError(f"no contract for store topic {topic!r}") from None


def to_contract(event: Any, place: CasePlace | None = None) -> CaseEvent:
    """The public model of a domain event (as recorded, or decoded from the store).

    `place` is needed for every event but a case's first (which carries the address).
    """
    model = model_for_topic(get_topic(type(event)))
    if isinstance(event, Case.Opened):
        place = CasePlace.of(event)
    if place is None:
        raise ValueError(f"{type(event).__qualname__} needs the case's place (community/compound)")
    state = vars(event)
    payload = {k: state[k] for k in model.model_fields if k not in ENVELOPE_FIELDS}
    return model(
        event_id=f"{event.originator_id}:{event.originator_version}",
        case_id=event.originator_id,
        version=event.originator_version,
        occurred_at=event.timestamp,
        actor_id=state["actor_id"],
        actor_role=state["actor_role"],
        tier=state["tier"],
        reason=state["reason"],
        community=place.community,
        compound=place.compound,
        hash=state["hash"],
        prev_hash=state["prev_hash"],
        **payload,
    )
