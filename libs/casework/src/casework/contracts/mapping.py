"""From the store's events to their public contracts.

The store names an event by its topic (`casework.domain.leak:LeakEmergency.WaterStopped`); NATS
carries `casework.leak.water_stopped.v1`. The table below is built from the registered kinds'
event classes and contract models (`casework.kinds`); a kind whose recorded event lacks a
contract model is refused at registration, naming the model to add, so no kind can record an
event that the relay cannot publish. `pipeline_gaps` names everything else an event lacks
(label, fields, listing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from eventsourcing.utils import get_topic

from casework.audit import RECORD_FIELDS
from casework.contracts import events
from casework.contracts.envelope import CaseEvent
from casework.contracts.events import EVENT_MODELS
from casework.contracts.registry import MODELS_BY_TYPE, UnknownEventTypeError, type_name
from casework.domain.case import ANSWERS_A_TIER, Case
from casework.domain.catalogue import Recorded, label_gaps, recorded_events
from casework.domain.places import Address
from casework.kinds.live import Live
from casework.kinds.registry import BUILTIN, Kind, kinds

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
        kind = item.kind.KIND
        class_name = f"{kind.capitalize()}{item.name}V1"
        base = f"{kind.capitalize()}Event"
        where, listing = (
            ("casework.contracts.events", "EVENT_MODELS")
            if kind in BUILTIN
            else (f"the contract models of the kind {kind}", "its Kind's contracts")
        )
        return [
            f"{item.qualname} has no contract model {name} in {where}; add "
            f'class {class_name}({base}) with type: Literal["{name}"] and the payload '
            f"field(s) {', '.join(recorded) or '(none)'}, and list it in {listing}"
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
    kinds: Sequence[type[Case]] | None = None,
    models: Mapping[str, type[CaseEvent]] = MODELS_BY_TYPE,
) -> list[str]:
    """Per recorded event, what it lacks to be shown, published and documented; [] if nothing.

    Each line names the event, the missing piece and where to add it (docs/ARCHITECTURE.md,
    "How to add an event"). `kinds`: every registered kind's aggregate by default.
    """
    gaps = label_gaps(kinds)
    for item in recorded_events(kinds):
        gaps.extend(_model_gaps(item, models))
    return gaps + unlisted_models()


def kind_model_gaps(kind: Kind) -> list[str]:
    """What a kind's own contract models lack for the events its aggregate records (checked
    when the kind is registered): a missing model, a field recorded but not published."""
    models = {type_name(model): model for model in kind.contracts}
    gaps = label_gaps([kind.aggregate])
    items = recorded_events([kind.aggregate])
    for item in items:
        gaps.extend(_model_gaps(item, models))
    names = {contract_name(item) for item in items}
    gaps.extend(
        f"{model.__name__} ({name}) matches no event {kind.aggregate.__name__} records"
        for name, model in models.items()
        if name not in names
    )
    return gaps


def _build() -> dict[str, type[CaseEvent]]:
    table: dict[str, type[CaseEvent]] = {}
    for kind in kinds():
        models = {type_name(model): model for model in kind.contracts}
        for item in recorded_events([kind.aggregate]):
            table[item.topic] = models[contract_name(item)]
    return table


MODELS_BY_TOPIC: Mapping[str, type[CaseEvent]] = Live(_build)
"""Store topic -> contract model, for every event a case file of a registered kind can hold."""


def _names() -> dict[type[CaseEvent], str]:
    return {model: topic.rsplit(".", 1)[-1] for topic, model in MODELS_BY_TOPIC.items()}


EVENT_NAMES: Mapping[type[CaseEvent], str] = Live(_names)
"""Contract model -> the event's name in the domain (`WaterStopped` for `LeakWaterStoppedV1`)."""


def _answering() -> dict[type[CaseEvent], bool]:
    return {
        MODELS_BY_TOPIC[item.topic]: item.event.ANSWERS or item.name in ANSWERS_A_TIER
        for item in recorded_events()
    }


ANSWERING: Mapping[type[CaseEvent], bool] = Live(_answering)
"""Contract model -> whether its event answers the case at its tier (`ANSWERS_A_TIER`, or the
event's own `ANSWERS` for a registered kind's): what a read model counts as a response."""


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
