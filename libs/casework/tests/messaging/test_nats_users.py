"""Per-part NATS users on a real nats-server: each part may do its own work and nothing else.

Only the relay publishes case events, only the notary posts checkpoints; a service binds to its
own durable consumer only and files dead letters under its own name only. The server refuses
everything else (a "permissions violation" to the client, and nothing stored).
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import nats
import pytest
from casework import Actor, Casework, Role
from casework.contracts import CaseEvent
from casework.messaging.background import ConsumerInBackground
from casework.messaging.checkpoint_stream import CheckpointPost
from casework.messaging.consumer import Consumer, SubscriptionSettings, parse_contract
from casework.messaging.dead_letter import dead_letter_subject
from casework.messaging.nats_server import NatsServer
from casework.messaging.nats_users import (
    PASSWORD_FILE_ENV,
    SERVICE_DURABLES,
    USER_ENV,
    Credentials,
    client_options,
)
from casework.messaging.relay import Relay, ensure_stream
from casework.messaging.stream_limits import StreamLimits
from casework.messaging.subjects import CHECKPOINTS, CHECKPOINTS_STREAM, EVENTS, STREAM
from casework.testing.nats import read_stream
from casework.transparency.notary import Notary
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig

pytestmark = [pytest.mark.nats, pytest.mark.anyio]

RESIDENT = Actor("resident-0302", Role.RESIDENT)
CASE_SUBJECT = "casework.repair.reported.jiayu-xx.wanxin-intl"


@asynccontextmanager
async def connected(
    server: NatsServer, credentials: Credentials, user: str
) -> AsyncIterator[tuple[Client, list[str]]]:
    """A connection as `user`, and the errors the server sent it (permission violations)."""
    errors: list[str] = []

    async def on_error(error: Exception) -> None:
        errors.append(str(error))

    nc = await nats.connect(
        server.url, error_cb=on_error, **credentials.client_options(user), allow_reconnect=False
    )
    try:
        yield nc, errors
    finally:
        await nc.close()


async def stream_ready(server: NatsServer, credentials: Credentials) -> None:
    async with connected(server, credentials, "relay") as (nc, _):
        await ensure_stream(nc.jetstream(), limits=StreamLimits())


async def wait_for(errors: list[str], needle: str) -> str:
    for _ in range(50):
        found = [e for e in errors if needle in e]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no error mentioning {needle!r}; errors: {errors}")


async def test_only_the_relay_may_publish_case_events(
    secured_nats: NatsServer, nats_credentials: Credentials, tmp_path: Path
) -> None:
    app = Casework(f"sqlite:///{tmp_path / 'casework.db'}")
    app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b1/0302", "light out")
    relay = Relay(app, secured_nats.url, connect_options=nats_credentials.client_options("relay"))
    assert await relay.run_once() == 2  # reported and triaged: the relay may

    for user in ("intake", "dispatch", "mediation"):
        async with connected(secured_nats, nats_credentials, user) as (nc, errors):
            await nc.publish(CASE_SUBJECT, b"{}")
            await nc.flush()
            error = await wait_for(errors, "ermissions violation")
            assert f'publish to "{CASE_SUBJECT}"' in error.lower()
    async with connected(secured_nats, nats_credentials, "admin") as (nc, _):
        stored = await read_stream(nc.jetstream(), STREAM, EVENTS)
    assert len(stored) == 2, "a refused publish was stored"
    app.close()


async def test_a_service_binds_to_its_own_durable_consumer_and_no_other(
    secured_nats: NatsServer, nats_credentials: Credentials
) -> None:
    await stream_ready(secured_nats, nats_credentials)
    config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT)
    async with connected(secured_nats, nats_credentials, "intake") as (nc, errors):
        js = nc.jetstream(timeout=1.0)
        own = SERVICE_DURABLES["intake"]
        sub = await js.pull_subscribe(EVENTS, durable=own, stream=STREAM, config=config)
        with pytest.raises(nats.errors.TimeoutError):
            await sub.fetch(1, timeout=0.3)  # allowed, merely nothing to fetch yet
        assert not errors

        with pytest.raises(nats.errors.TimeoutError):  # the server never answers a refusal
            await js.pull_subscribe(EVENTS, durable="dispatch", stream=STREAM, config=config)
        error = await wait_for(errors, "ermissions violation")
        assert "consumer.info.casework.dispatch" in error.lower()


async def test_a_service_files_dead_letters_under_its_own_name_only(
    secured_nats: NatsServer, nats_credentials: Credentials
) -> None:
    await stream_ready(secured_nats, nats_credentials)
    async with connected(secured_nats, nats_credentials, "mediation") as (nc, errors):
        js = nc.jetstream(timeout=2.0)
        ack = await js.publish(dead_letter_subject("mediation"), b"a letter")
        assert ack.stream == STREAM
        await nc.publish(dead_letter_subject("intake"), b"not mine")
        await nc.flush()
        error = await wait_for(errors, "ermissions violation")
        assert dead_letter_subject("intake") in error
    async with connected(secured_nats, nats_credentials, "admin") as (nc, _):
        letters = await read_stream(nc.jetstream(), STREAM, "casework.dlq.>")
    assert [m.subject for m in letters] == [dead_letter_subject("mediation")]


async def test_no_password_no_connection(secured_nats: NatsServer) -> None:
    nc = Client()
    try:
        with pytest.raises(Exception, match="uthorization"):
            await nc.connect(secured_nats.url, allow_reconnect=False, max_reconnect_attempts=1)
    finally:
        await nc.close()  # nats-py leaves the refused socket open otherwise


def test_passwords_are_private_files_and_kept_across_ensures(tmp_path: Path) -> None:
    credentials = Credentials(tmp_path / "creds").ensure()
    first = credentials.password("relay")
    assert credentials.ensure().password("relay") == first
    assert len({credentials.password(u) for u in ("relay", "intake", "admin")}) == 3
    for path in credentials.folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(credentials.folder.stat().st_mode) == 0o700


def test_a_part_reads_its_user_and_password_file_from_the_environment(tmp_path: Path) -> None:
    credentials = Credentials(tmp_path / "creds").ensure()
    env = credentials.client_env("dispatch")
    options = client_options(env)
    assert options["user"] == "dispatch"
    assert options["password"] == credentials.password("dispatch")
    assert options["inbox_prefix"] == "_INBOX_dispatch"
    assert client_options({}) == {}
    with pytest.raises(ValueError, match=PASSWORD_FILE_ENV):
        client_options({USER_ENV: "dispatch"})
    with pytest.raises(ValueError, match="cannot be read"):
        client_options({USER_ENV: "dispatch", PASSWORD_FILE_ENV: os.devnull + ".missing"})


async def test_a_service_consumes_and_dead_letters_as_its_own_user(
    secured_nats: NatsServer,
    nats_credentials: Credentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The library's consumer, connected by `NATS_USER`/`NATS_PASSWORD_FILE` as dispatch, binds
    its durable, handles case events, and files the one its handler refuses as a dead letter."""
    for name, value in nats_credentials.client_env("dispatch").items():
        monkeypatch.setenv(name, value)
    app = Casework(f"sqlite:///{tmp_path / 'casework.db'}")
    app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b1/0302", "light out")
    relay = Relay(app, secured_nats.url, connect_options=nats_credentials.client_options("relay"))
    await relay.run_once()
    seen: list[str] = []

    def handler(event: CaseEvent, _: Casework) -> None:
        if event.type.endswith("reported.v1"):
            raise RuntimeError("refused, to be dead-lettered")
        seen.append(event.type)

    settings = SubscriptionSettings(service="dispatch", max_attempts=1, fetch_timeout=0.3)
    feed = ConsumerInBackground(
        secured_nats.url,
        "casework-dispatch",
        lambda nc: Consumer(nc, app, handler, parse_contract, settings),
    )
    feed.start()
    try:
        async with connected(secured_nats, nats_credentials, "admin") as (nc, _):
            for _ in range(100):
                letters = await read_stream(nc.jetstream(), STREAM, "casework.dlq.>")
                if letters and seen:
                    break
                await asyncio.sleep(0.1)
        assert feed.ended is None
        assert len(seen) == 1
        assert [m.subject for m in letters] == [dead_letter_subject("dispatch")]
    finally:
        await feed.stop()
        app.close()


async def test_only_the_notary_may_post_checkpoints(
    secured_nats: NatsServer, nats_credentials: Credentials, tmp_path: Path
) -> None:
    app = Casework(f"sqlite:///{tmp_path / 'casework.db'}")
    app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b1/0302", "light out")
    Notary(app, Ed25519PrivateKey.generate()).checkpoint()
    post = CheckpointPost(
        app, secured_nats.url, connect_options=nats_credentials.client_options("notary")
    )
    assert await post.step() == 1  # the notary may
    await post.close()

    for user in ("relay", "intake", "dispatch", "mediation"):
        async with connected(secured_nats, nats_credentials, user) as (nc, errors):
            await nc.publish(CHECKPOINTS, b"{}")
            await nc.flush()
            error = await wait_for(errors, "ermissions violation")
            assert f'publish to "{CHECKPOINTS}"' in error.lower()
    async with connected(secured_nats, nats_credentials, "notary") as (nc, errors):
        await nc.publish(CASE_SUBJECT, b"{}")  # and the notary posts nothing else
        await nc.flush()
        assert f'publish to "{CASE_SUBJECT}"' in (await wait_for(errors, "ermissions")).lower()
    async with connected(secured_nats, nats_credentials, "admin") as (nc, _):
        posted = await read_stream(nc.jetstream(), CHECKPOINTS_STREAM, CHECKPOINTS)
    assert len(posted) == 1, "a refused publish was stored"
    app.close()
