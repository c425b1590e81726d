"""The embedded nats-server: starts with JetStream, keeps its port and data across a restart."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from casework.messaging.nats_server import NatsServer, embedded_nats
from casework.testing.nats import jetstream, read_stream, require_nats_binary
from nats.js.api import StorageType, StreamConfig

pytestmark = pytest.mark.nats


def _accepts(url: str) -> bool:
    host, port = url.removeprefix("nats://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.anyio
async def test_a_message_stored_before_a_restart_is_still_there_after_it(
    nats_server: NatsServer,
) -> None:
    port = nats_server.port
    async with jetstream(nats_server.url) as (_, js):
        await js.add_stream(StreamConfig(name="T", subjects=["t.>"], storage=StorageType.FILE))
        await js.publish("t.one", b"kept")
    nats_server.stop()
    assert not nats_server.running
    assert not _accepts(nats_server.url)
    nats_server.start()
    assert nats_server.port == port
    async with jetstream(nats_server.url) as (_, js):
        stored = await read_stream(js, "T")
    assert [m.data for m in stored] == [b"kept"]


def test_leaving_the_block_stops_the_process_even_when_the_block_fails(tmp_path: Path) -> None:
    binary = require_nats_binary()
    server = NatsServer(tmp_path / "nats", binary=binary)
    pids: list[int | None] = []

    def fail_inside() -> None:
        with server:
            pids.append(server.pid)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_inside()
    pid = pids[0]
    assert pid is not None
    assert not server.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_two_servers_get_different_ports(tmp_path: Path) -> None:
    binary = require_nats_binary()
    with (
        NatsServer(tmp_path / "a", binary=binary) as first,
        NatsServer(tmp_path / "b", binary=binary) as second,
    ):
        assert first.port != second.port
        assert _accepts(first.url)
        assert _accepts(second.url)


def test_embedded_nats_uses_nats_url_when_it_is_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NATS_URL", "nats://127.0.0.1:1")
    with embedded_nats(tmp_path) as url:
        assert url == "nats://127.0.0.1:1"
    assert not (tmp_path / "jetstream").exists()


def test_embedded_nats_starts_the_bundled_server_under_the_var_dir_without_nats_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    require_nats_binary()
    monkeypatch.delenv("NATS_URL", raising=False)
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(tmp_path))
    with embedded_nats() as url:
        assert _accepts(url)
    assert not _accepts(url)
    assert (tmp_path / "nats" / "jetstream").is_dir()
