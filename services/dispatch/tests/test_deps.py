"""What every dispatch route shares (`dispatch.api.deps`): the runtime reached as `rt: Rt`, a
command on work counted by its action, and the work named on the request's access-log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from casework import FakeClock
from dispatch.api import create_app
from dispatch.runtime import Runtime
from dispatch.testing import FLAT, MANAGER, RESIDENT, STAFF_LI, T0, Desk, make_settings
from fastapi.testclient import TestClient


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'cases.db'}")
    with TestClient(create_app(settings, FakeClock(T0), background=False)) as client:
        yield Desk(client, None, settings)


def _accepts(desk: Desk) -> float:
    value = desk.runtime.metrics.registry.get_sample_value(
        "dispatch_actions_total", {"action": "accept"}
    )
    return value or 0.0


def test_a_command_on_work_is_counted_and_its_access_line_names_the_work(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    assert isinstance(desk.runtime, Runtime)
    desk.post(
        "/roster/members",
        desk.auth(MANAGER),
        {"actor_id": STAFF_LI.id, "role": "property_staff", "skills": ["plumbing"]},
        status=201,
    )
    case_id = str(desk.app.casework.report_repair(RESIDENT, FLAT, "tap drips", "plumbing"))
    desk.dispatch_case(case_id)
    before = _accepts(desk)
    with caplog.at_level(logging.INFO, logger="dispatch.access"):
        desk.post(f"/tasks/{case_id}/accept", desk.auth(STAFF_LI))
        assert _accepts(desk) == before + 1
        refused = desk.client.post(f"/tasks/{case_id}/accept", headers=desk.auth(MANAGER))
        desk.get("/tasks", desk.auth(STAFF_LI))
    assert refused.status_code == 409  # the manager sees it, but it is not theirs to accept
    lines = [r for r in caplog.records if r.name == "dispatch.access"]
    assert [(r.getMessage().split()[0], getattr(r, "case_id", None)) for r in lines] == [
        ("POST", case_id),
        ("POST", case_id),
        ("GET", None),
    ]
