"""The lift entrapment kind through the services, none of whose code names it: a report through
intake's HTTP API (its OpenAPI lists the kind and its fields), relayed over a real nats-server,
assigned by dispatch's durable consumer to the staff member with the skill the kind names
(lifts), and counted by intake's dashboard measures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from casework.clock import FakeClock
from casework.messaging.nats_server import NatsServer
from casework.testing.nats import relay_once
from casework.testing.waiting import eventually
from casework_lift_entrapment import LiftEntrapment
from dispatch.api import create_app as create_dispatch
from dispatch.testing import MANAGER, STAFF_LI, T0, event_names
from dispatch.testing import Desk as DispatchDesk
from dispatch.testing import make_settings as dispatch_settings
from fastapi.testclient import TestClient
from intake.api.app import create_app as create_intake
from intake.testing import Desk as IntakeDesk
from intake.testing import make_settings as intake_settings

pytestmark = pytest.mark.nats

FLAT = "jiayu-xx/wanxin-intl/b12/0302"


@dataclass
class Stack:
    intake: IntakeDesk
    dispatch: DispatchDesk
    store: str
    nats_url: str


@pytest.fixture
def stack(tmp_path: Path, nats_server: NatsServer) -> Iterator[Stack]:
    """Intake and dispatch on one store and one NATS, on one test clock."""
    store = f"sqlite:///{tmp_path / 'cases.db'}"
    clock = FakeClock(T0)
    intake_config = intake_settings(tmp_path / "intake", store, NATS_URL=nats_server.url)
    dispatch_config = dispatch_settings(tmp_path / "dispatch", store, NATS_URL=nats_server.url)
    with (
        TestClient(create_intake(intake_config, clock=clock)) as intake_client,
        TestClient(create_dispatch(dispatch_config, clock, background=False)) as dispatch_client,
    ):
        dispatch = DispatchDesk(dispatch_client, clock, dispatch_config)
        assert eventually(lambda: dispatch.runtime.consumer is not None)
        yield Stack(
            IntakeDesk(intake_client, clock, intake_config), dispatch, store, nats_server.url
        )


def _report(stack: Stack, **body: Any) -> Any:
    return stack.intake.client.post(
        "/cases",
        json={"address": FLAT, "description": "two people stuck in the east lift", **body},
        headers=stack.intake.resident(),
    )


def test_intakes_openapi_lists_the_installed_kind_and_its_report_fields(stack: Stack) -> None:
    document = stack.intake.client.get("/openapi.json").json()
    create = document["components"]["schemas"]["CaseCreate"]["properties"]
    kinds = next(s for s in create["kind"]["anyOf"] if s.get("type") == "string")["enum"]
    assert kinds == ["repair", "leak", "dispute", "lift"]
    (lift,) = [s for s in create["details"]["anyOf"] if s.get("title") == "lift details"]
    assert set(lift["required"]) == {"lift_id"}


def test_a_lift_report_is_refused_without_its_own_fields_and_nothing_is_stored(
    stack: Stack,
) -> None:
    refused = _report(stack, kind="lift", details={"people_inside": 2})
    assert refused.status_code == 422, refused.text
    assert "details.lift_id" in refused.text
    refused = _report(stack, kind="escalator")
    assert refused.status_code == 422
    assert "kind must be one of repair, leak, dispute, lift" in refused.text
    assert relay_once(stack.store, stack.nats_url) == 0


def test_a_lift_reported_through_intake_is_assigned_by_dispatch_over_nats_and_counted(
    stack: Stack,
) -> None:
    dispatch = stack.dispatch
    dispatch.post(
        "/roster/members",
        dispatch.auth(MANAGER),
        {"actor_id": STAFF_LI.id, "role": "property_staff", "skills": ["lifts"]},
        status=201,
    )
    answer = _report(stack, kind="lift", details={"lift_id": "east", "people_inside": 2})
    assert answer.status_code == 201, answer.text
    reported = answer.json()
    assert (reported["kind"], reported["priority"], reported["tier"]) == (
        "lift",
        "emergency",
        "building",
    )
    case_id = reported["case_id"]
    assert relay_once(stack.store, stack.nats_url) >= 2
    case = eventually(lambda: _assigned(dispatch, case_id))
    assert isinstance(case, LiftEntrapment)
    assert case.assignee is not None
    assert case.assignee.id == STAFF_LI.id
    assert event_names(dispatch.app, case_id)[:3] == ["Reported", "DeadlinesSet", "Assigned"]
    assert "电梯 lifts" in dispatch.app.casework.history(case_id)[2].reason
    li = dispatch.auth(STAFF_LI)
    (mine,) = dispatch.get("/tasks", li)["items"]
    assert (mine["id"], mine["kind"], mine["need"]) == (case_id, "lift", "lifts")
    assert dispatch.post(f"/tasks/{case_id}/accept", li)["accepted_at"] is not None

    def open_lifts() -> int | None:
        answer = stack.intake.client.get("/measures", headers=stack.intake.staff()).json()
        count: int = answer["open_by_kind_tier"]["lift"]["building"]
        return count or None  # intake's measures follow the stream too

    assert eventually(open_lifts) == 1


def _assigned(dispatch: DispatchDesk, case_id: str) -> Any:
    case = dispatch.app.casework.get_case(case_id)
    return case if case.assignee is not None else None
