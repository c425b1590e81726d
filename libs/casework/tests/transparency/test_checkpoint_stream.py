"""Checkpoints kept off the store: posted to CASEWORK_CHECKPOINTS by the active notary, and what
they catch that the store's own checkpoints cannot (a store rewritten and re-signed).

Real nats-server admitting only the deployment's users; real `casework notary` processes for the
active/standby test (a SQLite store: the file lock beside it), killed by their pid.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework.application import Casework
from casework.cli import main
from casework.domain import Actor, Role
from casework.messaging.checkpoint_stream import CheckpointPost, read_posted
from casework.messaging.nats_server import NatsServer
from casework.messaging.nats_users import Credentials
from casework.testing.nats import jetstream
from casework.transparency.checkpoints import public_text
from casework.transparency.notary import Notary
from casework.transparency.tables import tables_for
from casework.transparency.verify import stored_leaves
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

pytestmark = pytest.mark.nats

KEY = Ed25519PrivateKey.generate()
RESIDENT = Actor("resident-0302", Role.RESIDENT)
TAKEOVER_WITHIN = 5.0


def _key_text(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode()


def _post(app: Casework, url: str, credentials: Credentials) -> int:
    post = CheckpointPost(app, url, connect_options=credentials.client_options("notary"))

    async def step() -> int:
        try:
            return await post.step()
        finally:
            await post.close()

    return asyncio.run(step())


def _posted(url: str, credentials: Credentials) -> list[int]:
    async def read() -> list[int]:
        async with jetstream(url, **credentials.client_options("admin")) as (_, js):
            return [c.size for c in await read_posted(js)]

    return asyncio.run(read())


def test_a_store_rewritten_and_re_signed_passes_its_own_checkpoints_but_not_the_streams(
    store_url: str,
    app: Casework,
    cases: list[UUID],
    intruder: Any,
    secured_nats: NatsServer,
    nats_credentials: Credentials,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    notary = Notary(app, KEY)
    notary.checkpoint()
    assert _post(app, secured_nats.url, nats_credentials) == 1
    app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b12/0309", "门坏了", "door_access")
    notary.checkpoint()
    assert _post(app, secured_nats.url, nats_credentials) == 1
    assert _post(app, secured_nats.url, nats_credentials) == 0  # a second poster: nothing new
    assert len(_posted(secured_nats.url, nats_credentials)) == 2

    for name, value in {
        "NATS_URL": secured_nats.url,
        **nats_credentials.client_env("admin"),
        "CASEWORK_STORE": store_url,
        "CASEWORK_NOTARY_KEY": _key_text(KEY),
    }.items():
        monkeypatch.setenv(name, value)
    pubkey = public_text(KEY.public_key())
    assert main(["checkpoints", "verify", "--from-nats", "--pubkey", pubkey]) == 0
    out = capsys.readouterr().out
    assert "checkpoints: all 2 on CASEWORK_CHECKPOINTS signed, each extends the one before" in out
    assert "the store against the latest on CASEWORK_CHECKPOINTS: log intact" in out

    # Someone with the store and the key: rewrite a case, rebuild the log, re-sign it all.
    intruder.rewrite(cases[0], 2, "nobody called")
    tables = tables_for(app)
    with tables.datastore.transaction(commit=True) as cursor:
        for table in (tables.leaves_table, tables.head_table, tables.checkpoints_table):
            cursor.execute(f"DELETE FROM {table}")
    Notary(app, KEY).checkpoint()
    assert main(["checkpoints", "verify", "--pubkey", pubkey]) == 0  # the store agrees with itself
    capsys.readouterr()
    assert main(["checkpoints", "verify", "--from-nats", "--pubkey", pubkey]) == 3
    out = capsys.readouterr().out
    assert "TAMPERED: checkpoint" in out
    assert "does not match the log's leaves" in out
    assert "the store against the latest on CASEWORK_CHECKPOINTS: TAMPERED" in out


def _notary(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "casework.cli", "notary", "--poll", "0.1"]
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stderr=out, stdout=subprocess.DEVNULL)


def _wait_for_line(log: Path, text: str, timeout: float = 20.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(encoding="utf-8", errors="replace"):
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"{log.name} never said {text!r}:\n{log.read_text()[-3000:]}")


def _signed_up_to(app: Casework, size: int, url: str, credentials: Credentials) -> None:
    """Wait for a checkpoint of at least `size` leaves in the store and on the stream."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        latest = tables_for(app).latest()
        posted = _posted(url, credentials) if latest and latest.size >= size else []
        if posted and posted[-1] >= size:
            return
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint of {size} events in the store and on the stream")


def _report(app: Casework, n: int) -> int:
    """`n` reports written; how many case events the store holds now."""
    for i in range(n):
        app.report_repair(RESIDENT, f"jiayu-xx/wanxin-intl/b12/05{i:02d}", "灯不亮", "lighting")
    return sum(1 for _ in stored_leaves(app))


def test_the_standby_notary_takes_over_when_the_active_one_is_killed(
    tmp_path: Path, secured_nats: NatsServer, nats_credentials: Credentials
) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    app = Casework(url)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "NATS_"))},
        "CASEWORK_STORE": url,
        "CASEWORK_VAR_DIR": str(tmp_path / "var"),  # one key file, shared
        "CASEWORK_NOTARY_SECONDS": "0.2",
        "NATS_URL": secured_nats.url,
        **nats_credentials.client_env("notary"),
    }
    first_log, second_log = tmp_path / "notary-1.log", tmp_path / "notary-2.log"
    first = _notary(env, first_log)
    second: subprocess.Popen[bytes] | None = None
    try:
        _wait_for_line(first_log, "notary: active")
        second = _notary(env, second_log)
        _wait_for_line(second_log, "notary: standing by")
        _signed_up_to(app, _report(app, 3), secured_nats.url, nats_credentials)
        assert "notary: active" not in second_log.read_text(), "two notaries active"

        first.kill()  # SIGKILL, by its pid
        killed_at = time.monotonic()
        first.wait(timeout=10)
        took_over_at = _wait_for_line(second_log, "notary: active", TAKEOVER_WITHIN + 5)
        assert took_over_at - killed_at < TAKEOVER_WITHIN
        _signed_up_to(app, _report(app, 2), secured_nats.url, nats_credentials)

        second.terminate()
        assert second.wait(timeout=20) == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        app.close()
    with Casework(url) as again:
        sizes = [c.size for c in tables_for(again).checkpoints()]
    posted = _posted(secured_nats.url, nats_credentials)
    assert posted == sorted(set(posted)), "the stream's checkpoints are not in order, once each"
    assert set(posted) <= set(sizes), "a checkpoint on the stream that the store does not keep"
    cli = {**env, **nats_credentials.client_env("admin")}
    for extra in ([], ["--from-nats"]):
        done = subprocess.run(
            [sys.executable, "-m", "casework.cli", "checkpoints", "verify", *extra],
            env=cli,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "each extends the one before" in done.stdout
