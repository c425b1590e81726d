"""A case event is declared once, in the domain with its label; the rest follows or is named.

The timeline's labels and the store-topic table are read from the domain (`catalogue`); the
registry and AsyncAPI read the contract models. `pipeline_gaps` names, per event, what is still
missing and where to add it; the last tests declare an event here, in a kind of their own, and
read what the checker says before and after its one contract model exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from casework.contracts.envelope import DisputeEvent
from casework.contracts.events import EVENT_MODELS
from casework.contracts.mapping import MODELS_BY_TOPIC, pipeline_gaps
from casework.contracts.registry import MODELS_BY_TYPE, type_name
from casework.domain.case import Case
from casework.domain.catalogue import case_classes, event_labels, recorded_events
from casework.domain.dispute import Dispute
from casework.domain.repair import Repair
from casework.timeline import EVENT_LABELS

LIBRARY = case_classes()[:3]
"""The library's own kinds (repair, leak, dispute: registered first), which docs/asyncapi.json
documents; an installed kind (the lift-entrapment example) adds its own."""
ASYNCAPI = Path(__file__).resolve().parents[3] / "docs" / "asyncapi.json"


class Quarrel(Dispute):
    """A dispute kind that has grown an event, declared without its label."""

    @dataclass(frozen=True)
    class Pondered(Case.Event):
        question: str

        def apply_to(self, case: Any) -> None:
            case.pondered = self.question


class Feud(Quarrel):
    """The same new event declared as the checklist says: with its label."""

    @dataclass(frozen=True)
    class Pondered(Quarrel.Pondered):
        LABEL = "已斟酌"


class Squabble(Dispute):
    """A dispute kind that changed an event: another label, a field its model lacks."""

    @dataclass(frozen=True)
    class LeadMediatorNamed(Dispute.LeadMediatorNamed):
        LABEL = "另定主调解人"

        since: str


class DisputePonderedV1(DisputeEvent):
    type: Literal["casework.dispute.pondered.v1"] = "casework.dispute.pondered.v1"
    question: str


def test_every_recorded_event_has_its_label_model_and_listing() -> None:
    gaps = pipeline_gaps()
    assert gaps == [], "\n".join(gaps)


def test_the_timeline_labels_are_the_domains() -> None:
    assert event_labels() == EVENT_LABELS
    assert {i.name for i in recorded_events()} == set(EVENT_LABELS)
    assert EVENT_LABELS["Reported"] == Case.Opened.LABEL == "已上报"


def test_every_recorded_event_is_in_the_registry_and_the_asyncapi_document() -> None:
    document: dict[str, Any] = json.loads(ASYNCAPI.read_text(encoding="utf-8"))
    messages = document["components"]["messages"]
    missing = [
        f"{i.qualname}: docs/asyncapi.json has no message {MODELS_BY_TOPIC[i.topic].__name__}; "
        "run `uv run casework asyncapi --library --out docs/asyncapi.json`"
        for i in recorded_events(LIBRARY)
        if MODELS_BY_TOPIC[i.topic].__name__ not in messages
    ]
    assert missing == [], "\n".join(missing)
    assert {type_name(MODELS_BY_TOPIC[i.topic]) for i in recorded_events()} <= set(MODELS_BY_TYPE)
    assert len(MODELS_BY_TOPIC) == len(recorded_events()) == len(MODELS_BY_TYPE)
    assert len(recorded_events(LIBRARY)) == len(EVENT_MODELS)


def test_a_new_event_is_named_with_what_it_lacks_and_where() -> None:
    assert pipeline_gaps(kinds=(Repair, Quarrel)) == [
        "Quarrel.Pondered has no label; add LABEL = '<中文>' (what the timeline shows) "
        f"to its class in {__name__}",
        "Quarrel.Pondered has no contract model casework.dispute.pondered.v1 in "
        "casework.contracts.events; add class DisputePonderedV1(DisputeEvent) with "
        'type: Literal["casework.dispute.pondered.v1"] and the payload field(s) question, '
        "and list it in EVENT_MODELS",
    ]


def test_a_changed_event_is_named_with_what_disagrees() -> None:
    assert pipeline_gaps(kinds=(Dispute, Squabble)) == [
        "Squabble.LeadMediatorNamed is labelled '另定主调解人' but Dispute.LeadMediatorNamed "
        "'确定主调解人'; one event name reads the same in every kind",
        "Squabble.LeadMediatorNamed records since that its contract model "
        "DisputeLeadMediatorNamedV1 lacks; add the field(s) to the model (or its payloads class)",
    ]


def test_a_new_event_with_its_label_and_one_model_lacks_nothing() -> None:
    """What the checklist asks (label in the domain, one contract model) is all it needs."""
    models = {**MODELS_BY_TYPE, type_name(DisputePonderedV1): DisputePonderedV1}
    assert pipeline_gaps(kinds=(*case_classes(), Feud), models=models) == []
    assert pipeline_gaps(kinds=(*case_classes(), Feud)) != []
