"""`casework-<service> --port 0` serves on a free port the operating system picks, in all three
services alike (`casework_web.service_main.run_service`): the flag wins over `<PREFIX>_PORT`,
and 0 is not read as "unset". Real subprocesses on loopback, stopped by pid."""

from __future__ import annotations

import contextlib
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
from contextlib import contextmanager
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
    # the flag's 0 must win over <SERVICE>_PORT
    with serving(service, tmp_path, {f"{service.upper()}_PORT": str(taken_port)}) as (port, log):
        assert port not in (0, taken_port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            assert r.status == 200
        lines = [line for line in log.read_text().splitlines() if line.strip()]
        assert all(json.loads(line) for line in lines)  # every line a JSON object


@contextmanager
def serving(
    service: str, tmp_path: Path, extra: dict[str, str] | None = None
) -> Iterator[tuple[int, Path]]:
    """`<service>.main --port 0` on a SQLite store in `tmp_path` (no NATS): the port it took
    and its log; stopped by its pid on the way out (SIGTERM, then SIGKILL)."""
    env = {k: v for k, v in os.environ.items() if k != "NATS_URL"}
    env |= {
        "CASEWORK_STORE": f"sqlite:///{tmp_path / 'cases.db'}",
        "CASEWORK_VAR_DIR": str(tmp_path / "var"),
        f"{service.upper()}_DB": str(tmp_path / f"{service}.db"),
        **(extra or {}),
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
            yield started_port(log, process), log
            assert process.poll() is None, "the service ended on its own"
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)


def _ask(port: int, *parts: bytes) -> bytes:
    """Send `parts` on a new connection, 50 ms apart (so that each arrives as its own read);
    everything the server sends back until it closes or goes quiet. A server that closes
    while the parts are still being sent is read from all the same (what it answered)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for n, part in enumerate(parts):
                if n:
                    time.sleep(0.05)
                conn.sendall(part)
        received = b""
        conn.settimeout(2)
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return received


def test_a_request_head_over_16_kib_is_a_431_and_a_long_body_is_not(tmp_path: Path) -> None:
    """uvicorn caps a request's head only when it parses with h11; the services parse with
    httptools (`casework_web.http_head`): a header past 16 KiB is answered 431 with the usual
    error body and the connection closed, before the server holds it whole; what is not HTTP
    at all is a 400 in the same body; a head under the cap, a body far over it, and two
    requests sent at once are served as before."""
    with serving("intake", tmp_path) as (port, _):
        get = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"

        near = _ask(port, get + b"X-Pad: " + b"a" * 12_000 + b"\r\nConnection: close\r\n\r\n")
        assert near.startswith(b"HTTP/1.1 200"), near[:200]

        for size in (20_000, 3_000_000):  # one read over the cap; many reads over it
            over = _ask(port, get + b"X-Pad: " + b"a" * size + b"\r\n\r\n")
            assert over.startswith(b"HTTP/1.1 431"), over[:200]
            head, _, body = over.partition(b"\r\n\r\n")
            assert b"connection: close" in head.lower()
            assert json.loads(body)["code"] == "headers_too_large"

        big = json.dumps({"description": "x" * 200_000}).encode()
        post = (
            b"POST /cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: " + str(len(big)).encode() + b"\r\n\r\n"
        )
        refused = _ask(port, post + big)
        assert refused.startswith(b"HTTP/1.1 401"), refused[:200]  # no token: not 431
        # the blank line ending the head split over two reads, the body right behind it
        split = _ask(port, post[:-2], post[-2:] + big)
        assert split.startswith(b"HTTP/1.1 401"), split[:200]

        drip = [get] + [b"X-Pad-%d: %s\r\n" % (n, b"a" * 1000) for n in range(20)]
        dripped = _ask(port, *drip, b"\r\n")  # over the cap a thousand bytes at a time
        assert dripped.startswith(b"HTTP/1.1 431"), dripped[:200]

        garbage = _ask(port, b"NOT HTTP AT ALL\r\n\r\n")
        assert garbage.startswith(b"HTTP/1.1 400"), garbage[:200]
        assert json.loads(garbage.partition(b"\r\n\r\n")[2])["code"] == "invalid_http"

        twice = _ask(port, get + b"\r\n" + get + b"Connection: close\r\n\r\n")
        assert twice.count(b"HTTP/1.1 200") == 2, twice[:400]
