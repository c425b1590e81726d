"""Operators' read-only commands never create a store where a typo pointed (issue 10, section 5).

Each command that only reads the store (`verify`, `history`, `anchors`, `measures`, `rebuild`,
which reads the store and rewrites read models only) is run in-process through `casework`'s
own entry point, on a `sqlite:///` URL whose file and folder do not exist: it must say so in one
line naming the path, exit 2, and leave neither the file nor its folder behind (nor the var
dir, where `measures` and `rebuild` would make their read models). The same commands on a store
that exists still work, and open it read-only (the file is not written: same bytes after).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from casework.application import Casework
from casework.cli import main
from casework.clock import FakeClock
from casework.testing.stories import every_story

READ_ONLY = {
    "verify": ["verify"],
    "verify one case": ["verify", "00000000-0000-0000-0000-000000000001"],
    "history": ["history", "00000000-0000-0000-0000-000000000001"],
    "anchors": ["anchors"],
    "measures": ["measures"],
    "rebuild": ["rebuild", "--quiet"],
}


def _point_at(monkeypatch: pytest.MonkeyPatch, store: Path, var: Path) -> None:
    for name in ("INTAKE_DB", "INTAKE_STORE", "INTAKE_VAR_DIR", "CASEWORK_TOKENS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASEWORK_STORE", f"sqlite:///{store}")
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(var))


@pytest.mark.parametrize("argv", READ_ONLY.values(), ids=READ_ONLY.keys())
def test_a_read_only_command_on_a_missing_sqlite_store_says_so_and_creates_nothing(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "typo" / "nested"
    store = folder / "casework.db"
    var = tmp_path / "var"
    _point_at(monkeypatch, store, var)

    code = main(argv)

    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("casework: no store at ")
    assert str(store) in lines[0]
    assert "nothing was created" in lines[0]
    assert not store.exists()
    assert not folder.exists()
    assert not (tmp_path / "typo").exists()
    assert not var.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_intakes_own_measures_command_creates_nothing_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from intake.main import main as intake_main

    store = tmp_path / "typo" / "casework.db"
    _point_at(monkeypatch, store, tmp_path / "var")

    assert intake_main(["measures"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"casework-intake: no store at {store}")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_folder_where_the_store_should_be_is_named_not_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "casework.db"
    store.mkdir()
    _point_at(monkeypatch, store, tmp_path / "var")

    assert main(["verify"]) == 2
    err = capsys.readouterr().err
    assert f"the store {store} is not a file" in err
    assert list(store.iterdir()) == []


def test_an_empty_store_file_is_named_as_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "casework.db"
    store.touch()
    _point_at(monkeypatch, store, tmp_path / "var")

    assert main(["verify"]) == 2
    assert f"the store {store} is empty" in capsys.readouterr().err
    assert store.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["casework.db"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_read_only_commands_still_read_an_existing_store_without_writing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "casework.db"
    var = tmp_path / "var"
    _point_at(monkeypatch, store, var)
    clock = FakeClock(datetime(2026, 3, 1, 8, tzinfo=UTC))
    with Casework(f"sqlite:///{store}", clock=clock) as app:
        cases: list[UUID] = every_story(app, clock)
    before = _digest(store)
    wal = Path(f"{store}-wal")
    wal_before = _digest(wal) if wal.exists() else None

    assert main(["verify"]) == 0
    assert f"all {len(cases)} case files intact" in capsys.readouterr().out
    assert main(["history", str(cases[0])]) == 0
    assert main(["anchors"]) == 0
    assert str(cases[0]) in capsys.readouterr().out

    assert _digest(store) == before
    # SQLite may open an empty write-ahead log next to a WAL-mode file even read-only.
    assert not wal.exists() or wal.stat().st_size == 0 or _digest(wal) == wal_before
    with (
        Casework(f"sqlite:///{store}", read_only=True) as reader,
        pytest.raises(Exception, match="readonly"),
    ):
        every_story(reader, clock)
    assert _digest(store) == before
