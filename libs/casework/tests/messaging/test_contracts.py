"""Public contracts: every stored event has a versioned model that round-trips through JSON."""

from __future__ import annotations

import dataclasses
import json
import typing
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import casework.contracts as contracts
import pytest
from casework import Casework, FakeClock, Role, Tier
from casework.contracts import (
    MODELS_BY_TOPIC,
    CaseEvent,
    CasePlace,
    InvalidEventError,
    LeakWaterStoppedV1,
    UnknownEventTypeError,
    parse_event,
    to_contract,
    type_name,
)
from casework.domain.case import Case
from casework.domain.text import CONTROL
from casework.kinds import kind_named
from casework.messaging.subjects import subject_for
from casework.privacy import is_sealed
from casework.testing.stories import every_story, leak_story, repair_story
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
COMMON = {"actor_id", "actor_role", "tier", "reason", "hash", "prev_hash"}


def _app() -> tuple[Casework, FakeClock]:
    clock = FakeClock(START)
    return Casework("sqlite:///:memory:", clock=clock), clock


def _stored_contracts(app: Casework) -> list[tuple[Any, CaseEvent]]:
    """Each stored event decoded as the relay decodes it, with its contract."""
    places: dict[Any, CasePlace] = {}
    pairs = []
    for notification in app.recorder.select_notifications(start=1, limit=10_000):
        event = app.mapper.to_domain_event(notification)
        if isinstance(event, Case.Opened):
            places[event.originator_id] = CasePlace.of(event)
        pairs.append((event, to_contract(event, places[event.originator_id])))
    return pairs


def test_every_event_a_case_file_can_hold_has_a_contract_named_by_kind_event_and_version() -> None:
    for topic, model in MODELS_BY_TOPIC.items():
        aggregate, event = topic.split(":")[1].split(".")
        name = type_name(model)
        assert name.startswith("casework."), name
        assert name.endswith(".v1"), name
        kind = kind_named(name.split(".")[1])  # a registered kind's (the library's or installed)
        assert name.split(".")[2].replace("_", "") == event.lower(), (topic, name)
        assert model.__name__.endswith(f"{event}V1")
        assert model in kind.contracts
        assert aggregate == kind.aggregate.__name__


def test_contract_payload_fields_are_exactly_the_domain_events_fields() -> None:
    """A field added to a domain event without a new contract version fails here."""
    from eventsourcing.utils import resolve_topic

    for topic, model in MODELS_BY_TOPIC.items():
        domain_fields = {f.name for f in dataclasses.fields(resolve_topic(topic))}
        # originator_topic (on a case's first event) names the aggregate: the type says the kind.
        domain_fields -= {"originator_id", "originator_version", "originator_topic", "timestamp"}
        domain_fields -= COMMON
        contract_fields = set(model.model_fields) - set(CaseEvent.model_fields)
        assert contract_fields == domain_fields, topic


def test_roles_and_tiers_in_contracts_are_the_domains_roles_and_tiers() -> None:
    role_literal = typing.get_args(contracts.ActorRole)
    tier_literal = typing.get_args(contracts.TierName)
    assert set(role_literal) == {r.value for r in Role}
    assert set(tier_literal) == {t.value for t in Tier}


def _property_names(schema: Any) -> set[str]:
    names: set[str] = set()
    if isinstance(schema, dict):
        names |= set(schema.get("properties", {}))
        for value in schema.values():
            names |= _property_names(value)
    elif isinstance(schema, list):
        for value in schema:
            names |= _property_names(value)
    return names


def test_contracts_carry_no_contact_details_and_actors_only_as_id_and_role() -> None:
    contact = ("phone", "mobile", "email", "wechat_id", "openid", "id_card", "name")
    for model in contracts.EVENT_MODELS:
        names = _property_names(model.model_json_schema())
        assert not [n for n in names if any(word in n for word in contact)], model.__name__
        actor_fields = {n for n in names if n.startswith(("actor_", "assignee_"))}
        assert actor_fields <= {"actor_id", "actor_role", "assignee_id", "assignee_role"}


def test_every_stored_event_maps_to_its_contract_and_round_trips_through_json() -> None:
    app, clock = _app()
    every_story(app, clock)
    pairs = _stored_contracts(app)
    assert {p[1].type for p in pairs} >= {
        "casework.leak.water_stopped.v1",
        "casework.dispute.agreement_reached.v1",
        "casework.repair.work_done.v1",
    }
    for event, contract in pairs:
        body = contract.model_dump_json()
        assert parse_event(body, contract.type) == contract
        assert parse_event(body.encode()) == contract
        assert contract.event_id == f"{event.originator_id}:{event.originator_version}"
        assert contract.occurred_at == event.timestamp
        assert contract.community == "jiayu-xx"
        assert contract.compound == "wanxin-intl"
        assert contract.hash == event.hash
        assert contract.prev_hash == event.prev_hash
        assert (contract.actor_id, contract.actor_role) == (event.actor_id, event.actor_role)
        assert subject_for(contract).split(".")[2] == contract.event_name
        assert _snake(type(event).__name__) == f"_{contract.event_name}"


def test_a_contract_keeps_the_events_values_including_nested_ones() -> None:
    app, clock = _app()
    every_story(app, clock)
    by_type = {c.type: (e, c) for e, c in _stored_contracts(app)}
    _, water = by_type["casework.leak.water_stopped.v1"]
    assert isinstance(water, LeakWaterStoppedV1)
    assert water.method == "riser_valve_shut"
    assert water.tier == "compound"
    _, agreed = by_type["casework.dispute.agreement_reached.v1"]
    assert agreed.model_dump(mode="json")["commitments"] == [
        {"who": "owner-7", "what": "remove the cable", "due": "2027-01-07"}
    ]
    _, escalated = by_type["casework.repair.escalated.v1"]
    assert escalated.model_dump()["to_tier"] == "compound"


def test_an_event_other_than_the_first_needs_the_cases_place() -> None:
    app, clock = _app()
    case = repair_story(app, clock)
    second = list(app.events.get(case))[1]
    with pytest.raises(ValueError, match="place"):
        to_contract(second)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    # Any text the domain takes: not blank, no control characters but newline and tab.
    description=st.text(min_size=1, max_size=200).filter(
        lambda s: s.strip() and CONTROL.search(s) is None
    ),
    story=st.sampled_from([repair_story, leak_story]),
)
def test_any_description_survives_the_round_trip(description: str, story: Any) -> None:
    app, clock = _app()
    story(app, clock, description)
    for _, contract in _stored_contracts(app):
        again = parse_event(json.loads(contract.model_dump_json()))
        assert again == contract
        if hasattr(again, "description"):
            # NATS carries it sealed; a consumer opens it through the library (ADR 011).
            assert is_sealed(again.description)
            opened = app.privacy.opener.open(
                again.description, case_id=again.case_id, field="description"
            )
            assert opened == description.strip()


def _valid_body() -> dict[str, Any]:
    app, clock = _app()
    leak_story(app, clock)
    for _, contract in _stored_contracts(app):
        if isinstance(contract, LeakWaterStoppedV1):
            body: dict[str, Any] = contract.model_dump(mode="json")
            return body
    raise AssertionError("the leak story stops the water")


def test_a_body_that_is_not_json_is_refused_with_a_clear_error() -> None:
    with pytest.raises(InvalidEventError, match="not JSON"):
        parse_event(b"{nope", "casework.leak.water_stopped.v1")
    with pytest.raises(InvalidEventError, match="not an object"):
        parse_event(b"[1, 2]", "casework.leak.water_stopped.v1")


def test_an_unknown_type_is_refused_by_name() -> None:
    body = _valid_body()
    with pytest.raises(UnknownEventTypeError, match=r"casework\.leak\.flooded\.v9"):
        parse_event(dict(body, type="casework.leak.flooded.v9"))


def test_a_header_type_that_differs_from_the_body_is_refused() -> None:
    with pytest.raises(InvalidEventError, match="differs"):
        parse_event(_valid_body(), "casework.leak.cause_recorded.v1")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"method": None}, "method"),
        ({"version": 0}, "version"),
        ({"actor_role": "landlord"}, "actor_role"),
        ({"occurred_at": "2026-11-24T09:00:00"}, "occurred_at"),
        ({"phone": "13800000000"}, "phone"),
        ({"event_id": f"{uuid4()}:1"}, "event_id"),
    ],
)
def test_a_body_that_does_not_fit_the_schema_is_refused_naming_the_field(
    change: dict[str, Any], where: str
) -> None:
    body = dict(_valid_body(), **change)
    with pytest.raises(InvalidEventError, match=where):
        parse_event(body)


def test_contracts_are_frozen() -> None:
    app, clock = _app()
    leak_story(app, clock)
    _, contract = _stored_contracts(app)[0]
    with pytest.raises(ValueError, match="frozen"):
        contract.reason = "changed"  # type: ignore[misc]


def _snake(name: str) -> str:
    """`_water_stopped` for `WaterStopped`."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
