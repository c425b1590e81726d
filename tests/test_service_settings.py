"""`CASEWORK_MAX_CLOCK_SKEW` (or the service's own `<SERVICE>_MAX_CLOCK_SKEW`) reaches each
service's `Casework`, as the store does; a value that is not a number of seconds, 0 or more,
stops the service at start saying which setting and why. One rule for the three services, so
one test over them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import dispatch.api
import dispatch.config
import dispatch.main
import dispatch.testing
import intake.api.app
import intake.config
import intake.main
import intake.testing
import mediation.api
import mediation.config
import mediation.main
import mediation.testing
import pytest
from casework import Casework
from casework.clock import FakeClock
from fastapi import FastAPI
from fastapi.testclient import TestClient


@dataclass(frozen=True)
class Service:
    name: str
    settings: Callable[[], Any]
    app: Callable[[Any], FastAPI]
    casework: Callable[[Any], Casework]
    """The running app's `Casework`, from its runtime."""
    main: Callable[[Sequence[str]], int]

    @property
    def own_variable(self) -> str:
        return f"{self.name.upper()}_MAX_CLOCK_SKEW"


SERVICES = [
    Service(
        "intake",
        intake.config.Settings,
        lambda s: intake.api.app.create_app(s, clock=FakeClock(intake.testing.T0)),
        lambda runtime: runtime.intake.app,
        intake.main.main,
    ),
    Service(
        "dispatch",
        dispatch.config.Settings,
        lambda s: dispatch.api.create_app(s, FakeClock(dispatch.testing.T0), background=False),
        lambda runtime: runtime.app.casework,
        dispatch.main.main,
    ),
    Service(
        "mediation",
        mediation.config.Settings,
        lambda s: mediation.api.create_app(s, clock=FakeClock(mediation.testing.T0)),
        lambda runtime: runtime.app,
        mediation.main.main,
    ),
]


@pytest.fixture(params=SERVICES, ids=lambda s: s.name)
def service(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("CASEWORK_STORE", f"sqlite:///{tmp_path / 'cases.db'}")
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(tmp_path / "var"))
    for name in ["CASEWORK_MAX_CLOCK_SKEW"] + [s.own_variable for s in SERVICES]:
        monkeypatch.delenv(name, raising=False)
    return request.param


def test_the_clock_skew_setting_reaches_the_application(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert service.settings().max_clock_skew == timedelta(seconds=5)
    monkeypatch.setenv("CASEWORK_MAX_CLOCK_SKEW", "0")
    assert service.settings().max_clock_skew == timedelta(0)
    monkeypatch.delenv("CASEWORK_MAX_CLOCK_SKEW")
    monkeypatch.setenv(service.own_variable, "2.5")  # only the service's settings read it
    with TestClient(service.app(service.settings())) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        assert service.casework(runtime).max_clock_skew == timedelta(seconds=2.5)


@pytest.mark.parametrize(
    ("own", "value", "problem"),
    [
        (False, "-1", "must be 0 or more seconds"),
        (False, "soon", "must be a number of seconds"),
        (True, "nan", "must be a number of seconds"),
    ],
)
def test_a_bad_clock_skew_stops_the_service_at_start_saying_which_setting_and_why(
    service: Service,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    own: bool,
    value: str,
    problem: str,
) -> None:
    monkeypatch.setenv(service.own_variable if own else "CASEWORK_MAX_CLOCK_SKEW", value)
    assert service.main([]) == 2
    said = capsys.readouterr().err
    assert said.startswith(
        f"casework-{service.name}: CASEWORK_MAX_CLOCK_SKEW (or {service.own_variable}) must be"
    )
    assert problem in said
    assert f"got {value!r}" in said
    assert "Traceback" not in said
