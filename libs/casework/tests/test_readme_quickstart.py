"""The README's quickstart, run as it stands (in the workspace; `test_wheel.py` runs it again from
a fresh virtual environment with only the built wheel)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from casework.testing.siblings import module_from_path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"


def _checker() -> ModuleType:
    return module_from_path(HERE / "outside" / "check_installed.py", "check_installed")


def test_the_readme_quickstart_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = _checker().quickstart(README)
    exec(compile(code, str(README), "exec"), {"__name__": "quickstart"})
    assert (tmp_path / "cases.sqlite").is_file()
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[3] for line in lines][-1] == "WaterStopped", lines
