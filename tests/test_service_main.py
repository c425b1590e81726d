"""`casework-<service> --port 0` serves on a free port the operating system picks, in all three
services alike (`casework_web.service_main.run_service`): the flag wins over `<PREFIX>_PORT`,
and 0 is not read as "unset". Real subprocesses on loopback, stopped by pid."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVICES = ["intake", "dispatch", "mediation"]
RUNNING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else holds: a service falling back to it could not start."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


def started_port(log: Path, process: subprocess.Popen[bytes], timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = RUNNING.search(log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return int(found.group(1))
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"no 'Uvicorn running on' line; the log:\n{log.read_text()}")


@pytest.mark.parametrize("service", SERVICES)
def test_port_zero_serves_on_a_free_port_the_os_picks(
    service: str, tmp_path: Path, taken_port: int
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NATS_URL"}
    env |= {
        "CASEWORK_STORE": f"sqlite:///{tmp_path / 'cases.db'}",
        "CASEWORK_VAR_DIR": str(tmp_path / "var"),
        f"{service.upper()}_PORT": str(taken_port),  # the flag's 0 must win over it
        f"{service.upper()}_DB": str(tmp_path / f"{service}.db"),
    }
    log = tmp_path / f"{service}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", f"{service}.main", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            port = started_port(log, process)
            assert port not in (0, taken_port)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                assert r.status == 200
            lines = [line for line in log.read_text().splitlines() if line.strip()]
            assert all(json.loads(line) for line in lines)  # every line a JSON object
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
