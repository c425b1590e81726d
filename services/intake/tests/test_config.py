"""`CASEWORK_MAX_CLOCK_SKEW` (or `INTAKE_MAX_CLOCK_SKEW`) reaches the intake's `Casework`, as
the store does; a value that is not a number of seconds, 0 or more, stops the intake at start."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from casework.clock import FakeClock
from fastapi.testclient import TestClient
from intake.api import create_app
from intake.config import Settings
from intake.main import main
from intake.testing import T0


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_STORE", f"sqlite:///{tmp_path / 'cases.db'}")
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CASEWORK_MAX_CLOCK_SKEW", raising=False)
    monkeypatch.delenv("INTAKE_MAX_CLOCK_SKEW", raising=False)


def test_the_clock_skew_setting_reaches_the_application(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().max_clock_skew == timedelta(seconds=5)
    monkeypatch.setenv("CASEWORK_MAX_CLOCK_SKEW", "0")
    assert Settings().max_clock_skew == timedelta(0)
    monkeypatch.delenv("CASEWORK_MAX_CLOCK_SKEW")
    monkeypatch.setenv("INTAKE_MAX_CLOCK_SKEW", "2.5")  # only the service's settings read it
    with TestClient(create_app(Settings(), clock=FakeClock(T0))) as client:
        assert client.app.state.runtime.intake.app.max_clock_skew == timedelta(seconds=2.5)


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("CASEWORK_MAX_CLOCK_SKEW", "-1", "must be 0 or more seconds"),
        ("CASEWORK_MAX_CLOCK_SKEW", "soon", "must be a number of seconds"),
        ("INTAKE_MAX_CLOCK_SKEW", "nan", "must be a number of seconds"),
    ],
)
def test_a_bad_clock_skew_stops_the_intake_at_start_saying_which_setting_and_why(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    problem: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert main([]) == 2
    said = capsys.readouterr().err
    assert said.startswith(
        "casework-intake: CASEWORK_MAX_CLOCK_SKEW (or INTAKE_MAX_CLOCK_SKEW) must be"
    )
    assert problem in said
    assert f"got {value!r}" in said
    assert "Traceback" not in said
