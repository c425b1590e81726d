"""Two relays, one publishing: SIGKILL the active one and the standby takes over within seconds.

Real `casework relay` processes on a real store (PostgreSQL: an advisory lock; SQLite: a file
lock beside the store) and a nats-server that admits them only as the `relay` user. Events are
written all along; the stream ends up holding every case event exactly once, in order.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from casework import Casework
from casework.messaging.nats_server import NatsServer
from casework.messaging.nats_users import Credentials
from casework.messaging.subjects import STREAM
from casework.testing.nats import jetstream, read_stream
from casework.testing.postgres import STORE_PARAMS, empty_store_url
from casework.testing.siblings import sibling

pytestmark = pytest.mark.nats

TOTAL = 600
TAKEOVER_WITHIN = 5.0


resilience = sibling(__file__, "test_relay_resilience")
helpers = resilience.helpers


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return empty_store_url(request.param, request, tmp_path)


@contextmanager
def relay_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "casework.cli", "relay", "--batch-size", "25"]
    with log.open("wb") as out, subprocess.Popen(command, env=env, stderr=out) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def wait_for_line(log: Path, text: str, timeout: float = 20.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(encoding="utf-8", errors="replace"):
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"{log.name} never said {text!r}:\n{log.read_text()[-3000:]}")


async def _all_messages(url: str, options: dict[str, object]) -> list[object]:
    async with jetstream(url, **options) as (_, js):
        return list(await read_stream(js, STREAM))


def test_the_standby_relay_takes_over_when_the_active_one_is_killed(
    store_url: str, secured_nats: NatsServer, nats_credentials: Credentials, tmp_path: Path
) -> None:
    Casework(store_url).close()  # the tables, before three processes race to make them
    env = helpers.cli_env(tmp_path, secured_nats.url)
    env["CASEWORK_STORE"] = store_url
    env.update(nats_credentials.client_env("relay"))
    admin = nats_credentials.client_options("admin")
    first_log, second_log = tmp_path / "relay-1.log", tmp_path / "relay-2.log"
    done = threading.Event()
    writer = threading.Thread(
        target=resilience.write_slowly, args=(store_url, TOTAL, 20, 0.1, done)
    )
    with relay_process(env, first_log) as first:
        wait_for_line(first_log, "relay: active")
        with relay_process(env, second_log) as second:
            wait_for_line(second_log, "relay: standing by")
            writer.start()
            try:
                asyncio.run(resilience._wait_until_stream_holds(secured_nats.url, 150, **admin))
                assert "relay: active" not in second_log.read_text(), "two relays active"
                first.kill()  # SIGKILL, by its pid
                killed_at = time.monotonic()
                first.wait(timeout=10)
                took_over_at = wait_for_line(second_log, "relay: active", TAKEOVER_WITHIN + 5)
                assert not done.is_set(), "the active relay should die mid-stream"
                writer.join(60)
                assert done.is_set()
                asyncio.run(resilience._wait_until_stream_holds(secured_nats.url, TOTAL, **admin))
                time.sleep(0.5)  # room for any duplicate to show up
            finally:
                writer.join(60)
            second.terminate()
            assert second.wait(timeout=20) == 0
    assert took_over_at - killed_at < TAKEOVER_WITHIN
    app = Casework(store_url)
    try:
        messages = asyncio.run(_all_messages(secured_nats.url, admin))
        assert len(messages) == TOTAL
        helpers.assert_exactly_once_in_order(messages, app)
    finally:
        app.close()
