"""Find a contract model by its type name, and read an incoming message body into one.

A consumer calls `parse_event(body, ce_type)`; anything that is not a known, valid case event
raises a `ContractError` saying what is wrong, so it can go to the dead-letter subject at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from casework.contracts.envelope import CaseEvent
from casework.kinds.live import Live


class ContractError(ValueError):
    """A message body is not a valid case event."""


class UnknownEventTypeError(ContractError):
    """No contract model carries that type name (nor upcasts from it)."""


class InvalidEventError(ContractError):
    """The body is not JSON, not an object, or does not fit its model's schema."""


def type_name(model: type[CaseEvent]) -> str:
    """`casework.leak.water_stopped.v1` for `LeakWaterStoppedV1`."""
    default = model.model_fields["type"].default
    if not isinstance(default, str):
        raise TypeError(f"{model.__name__} has no fixed type name")
    return default


def all_models() -> tuple[type[CaseEvent], ...]:
    """Every registered kind's contract models: the library's `EVENT_MODELS` first, in their
    order, then each other kind's (`casework.kinds`)."""
    from casework.kinds.registry import kinds

    return tuple(model for kind in kinds() for model in kind.contracts)


MODELS_BY_TYPE: Mapping[str, type[CaseEvent]] = Live(
    lambda: {type_name(model): model for model in all_models()}
)
"""Type name -> contract model, for every registered kind (`EVENT_MODELS` are the library's
own; an installed kind adds its models here)."""

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: Mapping[str, tuple[str, Upcaster]] = MappingProxyType({})
"""Old type name -> (next type name, function that rewrites the body). None needed yet: v1 is
the first version. When `casework.x.y.v2` replaces v1, add `"casework.x.y.v1": ("...v2", f)`
here so consumers reading old messages from the stream get the current model."""


def model_for_type(name: str) -> type[CaseEvent]:
    try:
        return MODELS_BY_TYPE[name]
    except KeyError:
        raise UnknownEventTypeError(f"unknown case event type {name!r}") from None


def parse_event(body: bytes | str | Mapping[str, Any], event_type: str | None = None) -> CaseEvent:
    """The contract model for a message body; `event_type` is the `ce-type` header if known.

    Raises `UnknownEventTypeError` or `InvalidEventError` (both `ContractError`, a ValueError).
    """
    data = _as_object(body)
    name = event_type if event_type is not None else data.get("type")
    if not isinstance(name, str) or not name:
        raise InvalidEventError("the message names no event type (ce-type header or 'type')")
    if "type" in data and data["type"] != name:
        raise InvalidEventError(f"ce-type {name!r} differs from the body's type {data['type']!r}")
    while name in UPCASTERS and name not in MODELS_BY_TYPE:
        name, upcast = UPCASTERS[name]
        data = upcast(dict(data, type=name))
    model = model_for_type(name)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in error.errors()
        )
        raise InvalidEventError(f"{name}: {problems}") from None


def _as_object(body: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(body, Mapping):
        return dict(body)
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidEventError(f"the message body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise InvalidEventError(f"the message body is a JSON {type(data).__name__}, not an object")
    return data
