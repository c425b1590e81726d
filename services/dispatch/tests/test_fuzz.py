"""Schemathesis fuzzes the dispatch API from its own OpenAPI document: no input may produce a
500, and every answer must match what the document says (status codes, content types, bodies)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from casework.clock import FakeClock
from casework_web.fuzzing import send, unstated_rule
from dispatch.api import create_app
from dispatch.testing import FLAT, MANAGER, RESIDENT, T0, Desk, make_settings, small_roster
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance


@pytest.fixture
def fuzz_desk(tmp_path: Path) -> Iterator[Desk]:
    config = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}")
    clock = FakeClock(T0)
    with TestClient(create_app(config, clock, background=False)) as client:
        desk = Desk(client, clock, config)
        small_roster(desk.app)
        case_id = desk.app.casework.report_repair(
            RESIDENT, FLAT, "the kitchen tap drips", "plumbing"
        )
        desk.dispatch_case(case_id)
        # A recurring need, so the demand list's answers carry a recurrence to check.
        desk.app.record_demand(
            MANAGER,
            resident_id="r-0302",
            address=FLAT,
            need="carrying",
            description="rice and water carried up",
            recurrence={"kind": "weekly", "weekdays": ["sat"], "time": "09:00"},
        )
        yield desk


# The document is built from the routes alone; the store is opened only when the app starts.
schema = schemathesis.openapi.from_dict(create_app().openapi())


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_input_produces_a_server_error_and_every_answer_conforms_to_the_schema(
    case: Any, fuzz_desk: Desk
) -> None:
    response = send(case, fuzz_desk.client, fuzz_desk.auth(MANAGER))
    assert response.status_code < 500, response.text
    # A request the schema allows is never refused for a rule the schema does not state.
    assert unstated_rule(case, response) is None, unstated_rule(case, response)
    # Excluded as for the intake: our token is real (401s are tested in test_api.py), and a
    # schema-valid body may still break a domain rule (an unknown skill, a bad window): 422.
    case.validate_response(response, excluded_checks=[ignored_auth, positive_data_acceptance])
