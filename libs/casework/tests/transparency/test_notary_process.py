"""`casework notary` as a process: it signs checkpoints as events arrive and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from casework.application import Casework
from casework.domain import Actor, Role
from casework.transparency.tables import tables_for

RESIDENT = Actor("resident-0302", Role.RESIDENT)


def test_the_notary_follows_the_store_until_sigterm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    app = Casework(url)
    first = app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b12/0302", "灯不亮", "lighting")
    env = {
        **os.environ,
        "CASEWORK_STORE": url,
        "CASEWORK_VAR_DIR": str(tmp_path / "var"),
        "CASEWORK_NOTARY_SECONDS": "0.2",
    }
    env.pop("CASEWORK_NOTARY_KEY", None)
    command = [sys.executable, "-m", "casework.cli", "notary", "--poll", "0.1"]
    notary = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        sizes = _wait_for_checkpoint(app, at_least=len(app.history(first)))
        app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b12/0303", "门坏了", "door_access")
        later = _wait_for_checkpoint(app, at_least=sizes[-1] + 1)
        assert later[-1] > sizes[-1]
    finally:
        notary.send_signal(signal.SIGTERM)
        _, err = notary.communicate(timeout=15)
        app.close()
    assert notary.returncode == 0, err.decode()
    assert (tmp_path / "var" / "notary.key").stat().st_mode & 0o777 == 0o600


def _wait_for_checkpoint(app: Casework, at_least: int) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        sizes = [c.size for c in tables_for(app).checkpoints()]
        if sizes and sizes[-1] >= at_least:
            return sizes
        time.sleep(0.1)
    raise AssertionError(f"no checkpoint of {at_least} events within 20 s")


def test_a_notary_standing_by_does_not_name_the_log(tmp_path: Path) -> None:
    """Only the notary holding the lock names the log: a standby (here, while the test holds
    the lock) writes nothing, then names it and signs once it takes over."""
    import asyncio

    from casework.locks import lock_for

    url = f"sqlite:///{tmp_path / 'c.db'}"
    app = Casework(url)
    first = app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b12/0302", "灯不亮", "lighting")
    lock = lock_for(url, "notary")
    assert asyncio.run(lock.try_acquire())
    env = {
        **os.environ,
        "CASEWORK_STORE": url,
        "CASEWORK_VAR_DIR": str(tmp_path / "var"),
        "CASEWORK_NOTARY_SECONDS": "0.2",
    }
    env.pop("CASEWORK_NOTARY_KEY", None)
    env.pop("NATS_URL", None)
    command = [sys.executable, "-m", "casework.cli", "notary", "--poll", "0.1"]
    notary = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(2)  # started and standing by (it polls the lock every 0.5 s)
        assert notary.poll() is None
        assert tables_for(app).origin() is None
        asyncio.run(lock.release())
        _wait_for_checkpoint(app, at_least=len(app.history(first)))
        named = tables_for(app).origin()
        assert named is not None
        assert {c.origin for c in tables_for(app).checkpoints()} == {named[0]}
    finally:
        notary.send_signal(signal.SIGTERM)
        _, err = notary.communicate(timeout=15)
        app.close()
    assert notary.returncode == 0, err.decode()
