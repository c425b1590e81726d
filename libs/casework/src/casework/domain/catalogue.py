"""Every event the registered kinds' case files record, each with its label.

An event is declared once, in its kind's module, with its `LABEL`; what follows from it is read
from here: the timeline's labels (`casework.timeline`), the store-topic to contract table
(`casework.contracts.mapping`), and through the contract models the registry and AsyncAPI. A
checker names, per event, what is missing (`casework.contracts.mapping.pipeline_gaps`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eventsourcing.utils import get_topic

from casework.domain.case import Case

NOT_RECORDED = frozenset({"Event", "Opened", "Created"})
"""Base classes a kind carries but never records itself."""


@dataclass(frozen=True)
class Recorded:
    """One event class a kind records: `Repair.WorkDone` is (Repair, "WorkDone", its class)."""

    kind: type[Case]
    name: str
    event: type[Case.Event]

    @property
    def topic(self) -> str:
        return get_topic(self.event)

    @property
    def where(self) -> str:
        """`casework.domain.repair`: the module that declares the kind (and so the event)."""
        return self.kind.__module__

    @property
    def qualname(self) -> str:
        return f"{self.kind.__name__}.{self.name}"


def case_classes() -> tuple[type[Case], ...]:
    """The aggregate of every registered kind (`casework.kinds`), built-in ones first."""
    from casework.kinds.registry import kinds

    return tuple(kind.aggregate for kind in kinds())


def recorded_events(kinds: Sequence[type[Case]] | None = None) -> list[Recorded]:
    """Every event class the kinds record (all registered kinds' by default), including the
    shared ones each kind re-declares."""
    found: list[Recorded] = []
    for kind in case_classes() if kinds is None else kinds:
        for name, value in vars(kind).items():
            recorded = isinstance(value, type) and issubclass(value, Case.Event)
            if recorded and name not in NOT_RECORDED:
                found.append(Recorded(kind, name, value))
    return found


def label_gaps(kinds: Sequence[type[Case]] | None = None) -> list[str]:
    """What a recorded event lacks for the timeline, or two labels for one name; [] if none."""
    gaps: list[str] = []
    seen: dict[str, tuple[str, str]] = {}
    for item in recorded_events(kinds):
        label = item.event.LABEL
        if not label:
            gaps.append(
                f"{item.qualname} has no label; add LABEL = '<中文>' (what the timeline shows) "
                f"to its class in {item.where}"
            )
            continue
        first = seen.setdefault(item.name, (label, item.qualname))
        if first[0] != label:
            gaps.append(
                f"{item.qualname} is labelled {label!r} but {first[1]} {first[0]!r}; "
                "one event name reads the same in every kind"
            )
    return gaps


def event_labels(kinds: Sequence[type[Case]] | None = None) -> dict[str, str]:
    """Event class name -> its label, for every recorded event that has one."""
    return {i.name: i.event.LABEL for i in recorded_events(kinds) if i.event.LABEL}
