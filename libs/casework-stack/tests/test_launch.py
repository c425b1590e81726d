"""The stack's children log JSON from their first line (issue 10, section 5).

A service started the way the stack starts it (`python -m casework_stack.launch`) with a setting
it refuses stops at once; what it says about it must still be one JSON object per line, like
every other line of its log. The whole running stack's logs are parsed in test_demo_stack.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from casework_stack.stack import console_script

SERVICES = ("intake", "dispatch", "mediation")


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_that_refuses_its_settings_says_so_in_json(service: str, tmp_path: Path) -> None:
    target = console_script(service)
    assert target is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "NATS_"))}
    env.update({f"{service.upper()}_PORT": "not-a-port"}, CASEWORK_VAR_DIR=str(tmp_path / "var"))
    done = subprocess.run(
        [sys.executable, "-m", "casework_stack.launch", f"casework-{service}", target],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    entries = [json.loads(line) for line in lines]
    assert all(isinstance(e, dict) for e in entries)
    said = [e["message"] for e in entries if e["logger"] == "stderr"]
    assert said, lines
    assert said[0].startswith(f"casework-{service}: ")
    assert "PORT" in " ".join(said).upper()
    assert not (tmp_path / "var").exists()
