"""`casework measures` (plugged into the library's script by this package's entry point) and
`casework-intake measures`: the measures of the store in the terminal, text or JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from casework import Casework
from casework.cli import main as casework_main
from casework.clock import FakeClock
from casework.testing.stories import every_story
from intake.main import main as intake_main
from intake.testing import T0


@pytest.fixture
def story_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    store = f"sqlite:///{tmp_path / 'cases.db'}"
    clock = FakeClock(T0)
    with Casework(store, clock=clock) as app:
        every_story(app, clock)
    monkeypatch.setenv("CASEWORK_STORE", store)
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(tmp_path / "var"))
    return tmp_path


def test_casework_measures_prints_the_rates_and_the_board_with_labels(
    story_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert casework_main(["measures"]) == 0
    out = capsys.readouterr().out
    assert "上报 cases reported 5" in out
    assert "指标 measures — you answer for every place" in out  # the terminal reads as an auditor
    assert "满意率 satisfaction rate" in out
    assert "(2/3; rated 4 or 5, of all rated)" in out
    assert "黑榜 black" in out
    assert "volunteer-wang: 2 taken, 0 done" in out
    assert (story_env / "var" / "intake.db").exists()  # the read model was brought up to date


def test_the_json_is_the_api_document_and_the_compound_and_window_apply(
    story_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert intake_main(["measures", "--json", "--compound", "jiating", "--rebuild"]) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert (document["compound"], document["cases"]) == ("jiayu-xx/jiating", 0)
    assert "rebuilt measures, case index" in captured.err
    later = "2027-01-01T00:00:00+08:00"
    assert casework_main(["measures", "--json", "--from", later]) == 0
    assert json.loads(capsys.readouterr().out)["cases"] == 0


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["measures", "--compound", "nowhere"], "no compound 'nowhere'"),
        (["measures", "--from", "2026-11-01"], "needs a timezone"),
        (["measures", "--to", "yesterday"], "not an ISO 8601 time"),
    ],
)
def test_a_bad_question_exits_2_with_one_line(
    story_env: Path, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    assert casework_main(argv) == 2
    assert says in capsys.readouterr().err
    assert intake_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("casework-intake: ")
    assert says in err
