"""The services' uvicorn server turns its main loop once a second while idle, not ten times
(`casework_web.quiet_server`), and still stops at once on SIGTERM. A real server on a free
loopback port: in a thread of this process, or a subprocess stopped by its pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
import uvicorn
from casework_web.quiet_server import QuietServer
from casework_web.testing import served_in_thread
from fastapi import FastAPI


class Counting(QuietServer):
    """Counts the main loop's turns (`on_tick` is called once a turn)."""

    turns = 0

    async def on_tick(self, counter: int) -> bool:
        self.turns += 1
        return await super().on_tick(counter)


def small_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    return app


def config() -> uvicorn.Config:
    return uvicorn.Config(small_app(), host="127.0.0.1", port=0, log_config=None, lifespan="off")


def test_an_idle_server_turns_once_a_second_and_still_sends_its_date() -> None:
    server = Counting(config())
    with served_in_thread(server) as port:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as answer:
            assert answer.status == 200
            assert answer.headers["date"].endswith(" GMT")  # uvicorn's, renewed each turn
        before = server.turns
        time.sleep(2.5)
        turns = server.turns - before
    assert 1 <= turns <= 4  # uvicorn's own loop: 25 in 2.5 s


def test_a_stop_asked_from_another_thread_ends_the_wait_for_the_next_turn() -> None:
    server = QuietServer(config(), tick_seconds=120)
    with served_in_thread(server):  # on the way out: asked to stop, joined within 30 s, or it fails
        time.sleep(0.3)  # the loop waits for its next turn, two minutes away
    assert server.should_exit
    assert not server.force_exit


SERVE = textwrap.dedent(
    """
    import sys, uvicorn
    from fastapi import FastAPI
    from casework_web.quiet_server import QuietServer

    server = QuietServer(
        uvicorn.Config(FastAPI(), host="127.0.0.1", port=0, log_level="info"), tick_seconds=120
    )
    server.run()
    sys.exit(0 if server.started else 3)
    """
)


def test_sigterm_stops_an_idle_server_at_once_not_at_its_next_turn(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SERVE], stdout=out, stderr=subprocess.STDOUT, env=os.environ
        )
        try:
            deadline = time.monotonic() + 60
            while b"Uvicorn running on" not in log.read_bytes():
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
            time.sleep(0.3)  # into the wait for the next turn, two minutes away
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pytest.fail("SIGTERM did not stop the server before its next turn")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    assert "Application shutdown complete" in log.read_text()  # a graceful stop, then
    assert code == -signal.SIGTERM, log.read_text()  # uvicorn raises the signal it caught again


SERVE_AND_SAY_THE_LOOP = textwrap.dedent(
    """
    import asyncio, contextlib, os, signal, sys
    from fastapi import FastAPI
    from casework_web.service_main import serve
    from casework_web.service_settings import ServiceSettings

    @contextlib.asynccontextmanager
    async def lifespan(app):
        loop = asyncio.get_running_loop()
        print("loop", type(loop).__module__, flush=True)
        loop.call_later(0.2, os.kill, os.getpid(), signal.SIGTERM)
        yield

    def create_app(settings):
        return FastAPI(lifespan=lifespan)

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    sys.exit(serve("probe", create_app, ServiceSettings(), "127.0.0.1", port))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not made for Windows")
def test_a_served_service_runs_on_uvloop_and_stops_on_sigterm(tmp_path: Path) -> None:
    """`serve` leaves uvicorn to pick its loop ("auto"): uvloop, a dependency of casework-web
    (the NATS consumer's messages and hops cost a sixth less on it, issue 16)."""
    env = {"CASEWORK_VAR_DIR": str(tmp_path), "CASEWORK_STORE": f"sqlite:///{tmp_path}/c.db"}
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AND_SAY_THE_LOOP],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert "loop uvloop" in done.stdout, done.stdout + done.stderr
    assert "Finished server process" in done.stderr, done.stderr
    assert done.returncode == -signal.SIGTERM  # as under `uvicorn.run`: the signal raised again


def test_a_service_that_cannot_take_its_port_exits_3_as_under_uvicorn_run(tmp_path: Path) -> None:
    env = {"CASEWORK_VAR_DIR": str(tmp_path), "CASEWORK_STORE": f"sqlite:///{tmp_path}/c.db"}
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        done = subprocess.run(
            [sys.executable, "-c", SERVE_AND_SAY_THE_LOOP, str(held.getsockname()[1])],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
        )
    assert done.returncode == 3, done.stdout + done.stderr
