"""From the store's events to their public contracts.

The store names an event by its topic (`casework.domain.leak:LeakEmergency.WaterStopped`); NATS
carries `casework.leak.water_stopped.v1`. The table below is built from the domain's own event
classes, and building it fails if any recorded event lacks a contract model, so the domain cannot
grow an event that the relay cannot publish.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from eventsourcing.utils import get_topic

from casework.contracts.envelope import CaseEvent
from casework.contracts.registry import MODELS_BY_TYPE, UnknownEventTypeError
from casework.domain.case import Case
from casework.domain.dispute import Dispute
from casework.domain.leak import LeakEmergency
from casework.domain.places import Address
from casework.domain.repair import Repair

CASE_CLASSES: tuple[type[Case], ...] = (Repair, LeakEmergency, Dispute)
_NOT_RECORDED = frozenset({"Event", "Opened", "Created"})
ENVELOPE_FIELDS = frozenset(CaseEvent.model_fields)


def snake(name: str) -> str:
    """`WaterStopped` -> `water_stopped`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _recorded_event_classes() -> dict[str, tuple[str, type[Case.Event]]]:
    found: dict[str, tuple[str, type[Case.Event]]] = {}
    for case_class in CASE_CLASSES:
        for name, value in vars(case_class).items():
            if (
                isinstance(value, type)
                and issubclass(value, Case.Event)
                and name not in _NOT_RECORDED
            ):
                found[get_topic(value)] = (f"casework.{case_class.KIND}.{snake(name)}.v1", value)
    return found


def _build() -> dict[str, type[CaseEvent]]:
    table: dict[str, type[CaseEvent]] = {}
    for topic, (name, _) in _recorded_event_classes().items():
        if name not in MODELS_BY_TYPE:
            raise RuntimeError(f"domain event {topic} has no contract model {name}")
        table[topic] = MODELS_BY_TYPE[name]
    return table


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
