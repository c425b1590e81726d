"""The log's commands run in-process, as an operator and an auditor would, on both stores."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework.application import Casework
from casework.cli import main
from casework.domain import Actor, Role

ROOT = Path(__file__).resolve().parents[4]
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)


@pytest.fixture
def env(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASEWORK_STORE", store_url)
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CASEWORK_NOTARY_KEY", raising=False)
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _signed(capsys: pytest.CaptureFixture[str]) -> str:
    assert _run(capsys, "notary", "checkpoint")[0] == 0
    code, out, _ = _run(capsys, "notary", "pubkey")
    assert code == 0
    return out.strip()


def test_verify_against_the_latest_checkpoint_then_after_a_rewrite(
    env: Path, app: Casework, cases: list[UUID], intruder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    key = _signed(capsys)
    code, out, _ = _run(capsys, "verify", "--checkpoint", "latest", "--pubkey", key)
    assert code == 0, out
    assert "log intact" in out
    intruder.rewrite(cases[1], 2, "never acknowledged")
    code, out, _ = _run(capsys, "verify", "--checkpoint", "latest", "--pubkey", key)
    assert code == 3
    assert f"TAMPERED: case {cases[1]} event 2 differs from the one signed" in out


def test_a_checkpoint_file_kept_elsewhere_and_a_forged_one(
    env: Path, app: Casework, cases: list[UUID], capsys: pytest.CaptureFixture[str]
) -> None:
    key = _signed(capsys)
    code, out, _ = _run(capsys, "checkpoints", "latest")
    assert code == 0
    kept = env / "checkpoint.json"
    kept.write_text(out)
    assert _run(capsys, "verify", "--checkpoint", str(kept), "--pubkey", key)[0] == 0
    forged = json.loads(out)
    forged["root"] = "00" * 32
    kept.write_text(json.dumps(forged))
    code, out, _ = _run(capsys, "verify", "--checkpoint", str(kept), "--pubkey", key)
    assert code == 3
    assert "signature does not verify" in out


def test_checkpoints_verify_lists_each_extension(
    env: Path, app: Casework, cases: list[UUID], capsys: pytest.CaptureFixture[str]
) -> None:
    key = _signed(capsys)
    app.add_note(cases[0], STAFF, "later")
    assert _run(capsys, "notary", "checkpoint")[0] == 0
    code, out, _ = _run(capsys, "checkpoints", "verify", "--pubkey", key)
    assert code == 0, out
    assert "extends" in out
    assert "all 2 signed" in out


def test_export_then_verify_file_and_the_standalone_script(
    env: Path, app: Casework, cases: list[UUID], capsys: pytest.CaptureFixture[str]
) -> None:
    key = _signed(capsys)
    path = env / "case.json"
    assert _run(capsys, "export", str(cases[0]), "--out", str(path))[0] == 0
    assert path.stat().st_mode & 0o777 == 0o600
    code, out, _ = _run(capsys, "verify-file", str(path), "--pubkey", key)
    assert code == 0, out
    script = [sys.executable, str(ROOT / "docs" / "verify_export.py"), str(path), key]
    assert subprocess.run(script, capture_output=True, check=False).returncode == 0
    data = path.read_bytes()
    at = data.index(b'"reason"') + 10
    path.write_bytes(data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :])
    code, out, _ = _run(capsys, "verify-file", str(path), "--pubkey", key)
    assert code == 3
    assert "TAMPERED" in out
    assert subprocess.run(script, capture_output=True, check=False).returncode == 3


def test_bad_input_is_one_line_and_exit_2(
    env: Path, app: Casework, cases: list[UUID], capsys: pytest.CaptureFixture[str]
) -> None:
    _signed(capsys)
    path = env / "case.json"
    assert _run(capsys, "export", str(cases[0]), "--out", str(path))[0] == 0
    code, _, err = _run(capsys, "verify-file", str(path), "--pubkey", "not-a-key")
    assert code == 2
    assert "public key must be base64" in err
    code, _, err = _run(capsys, "export", "not-a-uuid")
    assert code == 2
    assert "not a case id" in err


def test_verify_against_a_checkpoint_before_any_notary_ran(
    env: Path, app: Casework, cases: list[UUID], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "verify", "--checkpoint", "latest", "--pubkey", "a" * 43 + "=")
    assert code == 2
    assert "no checkpoint in the store yet" in err


def test_the_log_is_named_by_its_setting_checked_by_verify_file_and_keeps_its_name(
    env: Path,
    app: Casework,
    cases: list[UUID],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CASEWORK_LOG_ORIGIN", "casework.example.org/wanxin")
    key = _signed(capsys)
    code, out, _ = _run(capsys, "checkpoints", "latest")
    assert code == 0
    assert json.loads(out)["origin"] == "casework.example.org/wanxin"
    path = env / "case.json"
    assert _run(capsys, "export", str(cases[0]), "--out", str(path))[0] == 0
    mine = ["verify-file", str(path), "--pubkey", key, "--origin", "casework.example.org/wanxin"]
    code, out, _ = _run(capsys, *mine)
    assert code == 0, out
    code, out, _ = _run(capsys, *mine[:-1], "casework.example.org/jiating")
    assert code == 3
    assert "not of the log 'casework.example.org/jiating'" in out
    script = [sys.executable, str(ROOT / "docs" / "verify_export.py"), str(path), key]
    assert subprocess.run([*script, "casework.example.org/wanxin"], check=False).returncode == 0
    assert subprocess.run([*script, "elsewhere"], capture_output=True, check=False).returncode == 3
    monkeypatch.setenv("CASEWORK_LOG_ORIGIN", "casework.example.org/renamed")
    code, _, err = _run(capsys, "notary", "checkpoint")
    assert code == 2
    assert "this store's log is named 'casework.example.org/wanxin'" in err
    monkeypatch.setenv("CASEWORK_LOG_ORIGIN", "has a space")
    code, _, err = _run(capsys, "notary", "checkpoint")
    assert code == 2
    assert "CASEWORK_LOG_ORIGIN must be" in err
