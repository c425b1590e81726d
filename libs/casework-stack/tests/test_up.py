"""`casework up` as a person runs it: the console script, real processes, a real nats-server.

Each test starts the installed `casework up` on free ports in its own var dir, reads where each
part listens from what it prints, and checks what it promises: every part answers, a signal
stops them all (no child left behind), a child that dies is named and started again while the
rest run on,
and the store and NATS named by `CASEWORK_STORE` / `NATS_URL` are used instead of the embedded
ones with no other change.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import nats.js.errors
import pytest
from casework import Actor, Casework, Role
from casework.messaging.checkpoint_stream import read_posted
from casework.messaging.nats_server import NatsServer
from casework.messaging.nats_users import Credentials
from casework.messaging.subjects import CHECKPOINTS_STREAM
from casework.testing.nats import jetstream
from casework.transparency.tables import tables_for
from casework_stack.stack import Ports, accepts
from casework_stack.testing import CASEWORK, UpProcess, alive, free_ports, gone, port_args, up_env

Up = UpProcess
_env = up_env
_alive = alive
_gone = gone
_port_args = port_args
RESIDENT = Actor("resident-0302", Role.RESIDENT)


@pytest.fixture
def up_factory(tmp_path: Path) -> Iterator[list[Up]]:
    started: list[Up] = []
    yield started
    for up in started:  # whatever the test did, nothing outlives it
        up.kill_all()


@pytest.mark.nats
def test_up_starts_every_part_prints_where_it_listens_and_ctrl_c_stops_them_all(
    tmp_path: Path, up_factory: list[Up]
) -> None:
    ports = Ports.free()
    var = tmp_path / "var"
    up = Up(var, ports, _env(var, CASEWORK_NOTARY_SECONDS="0.3"))
    up_factory.append(up)

    assert {"nats", "relay", "notary", "intake"} <= set(up.pids)
    assert f"nats://127.0.0.1:{ports.nats}" in up.out
    assert f"http://127.0.0.1:{ports.intake}" in up.out
    assert f"store sqlite:///{var.resolve() / 'casework.db'}" in up.out
    assert accepts("127.0.0.1", ports.nats)
    ready = httpx.get(f"http://127.0.0.1:{ports.intake}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["nats"] == "ok"
    size, posted = _events_reported_then_signed_and_posted(var, ports)
    assert posted[-1] == size, "the checkpoint in the store is not the last on the stream"

    code, err = up.finish(signal.SIGINT)  # what Ctrl-C sends

    assert code == 0, err
    assert "SIGINT: stopping services, relay and notary, NATS" in err
    assert "all stopped" in err
    for name, pid in up.pids.items():
        assert _gone(pid), f"{name} (pid {pid}) is still running after casework up stopped"
    assert not accepts("127.0.0.1", ports.intake)
    assert not accepts("127.0.0.1", ports.nats)
    assert (var / "logs" / "intake.log").exists()


def _events_reported_then_signed_and_posted(var: Path, ports: Ports) -> tuple[int, list[int]]:
    """A report written to the stack's store; then the notary's checkpoint covering it, in the
    store and on CASEWORK_CHECKPOINTS: (its size, the sizes on the stream)."""
    app = Casework(f"sqlite:///{var.resolve() / 'casework.db'}")
    try:
        case = app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b12/0302", "灯不亮", "lighting")
        events = len(app.history(case))
        deadline = time.monotonic() + 20
        while (latest := tables_for(app).latest()) is None or latest.size < events:
            assert time.monotonic() < deadline, "no checkpoint of the report within 20 s"
            time.sleep(0.1)
    finally:
        app.close()
    options = Credentials.under(var.resolve()).client_options("admin")

    async def posted() -> list[int]:
        async with jetstream(f"nats://127.0.0.1:{ports.nats}", **options) as (_, js):
            for _ in range(100):
                found = [c.size for c in await read_posted(js)]
                if found and found[-1] >= latest.size:
                    return found
                await asyncio.sleep(0.1)
        raise AssertionError("the checkpoint never reached CASEWORK_CHECKPOINTS")

    return latest.size, asyncio.run(posted())


@pytest.mark.nats
def test_up_with_three_nats_nodes_runs_a_cluster_the_services_reach_with_their_own_users(
    tmp_path: Path, up_factory: list[Up]
) -> None:
    ports = free_ports(nats_nodes=3)
    var = tmp_path / "var"
    up = Up(var, ports, _env(var), "--nats-nodes=3")
    up_factory.append(up)

    nodes = ["nats-1", "nats-2", "nats-3"]
    assert set(nodes) <= set(up.pids)
    for i, name in enumerate(nodes):
        assert re.search(
            rf"^  {name} +nats://127.0.0.1:{ports.nats + i} +pid \d+ +log ", up.out, re.M
        )
    ready = httpx.get(f"http://127.0.0.1:{ports.intake}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json()["nats"] == "ok"

    credentials = Credentials.under(var.resolve())
    urls = [f"nats://127.0.0.1:{ports.nats + i}" for i in range(3)]

    async def stream_replicas(stream: str = "CASEWORK") -> int:
        async with jetstream(",".join(urls), **credentials.client_options("admin")) as (_, js):
            for _ in range(100):
                try:
                    return (await js.stream_info(stream)).config.num_replicas or 1
                except nats.js.errors.NotFoundError:
                    await asyncio.sleep(0.1)
        raise AssertionError(f"no {stream} stream")

    assert asyncio.run(stream_replicas()) == 3
    assert asyncio.run(stream_replicas(CHECKPOINTS_STREAM)) == 3  # the notary made it
    environ = Path(f"/proc/{up.pids['intake']}/environ").read_bytes().split(b"\0")
    assert b"NATS_USER=intake" in environ
    assert f"NATS_URL={','.join(urls)}".encode() in environ
    assert not any(b"PASSWORD=" in item for item in environ), "a password in the environment"

    code, err = up.finish(signal.SIGTERM)
    assert code == 0, err
    for name, pid in up.pids.items():
        assert _gone(pid), f"{name} (pid {pid}) is still running after casework up stopped"


def test_up_refuses_an_even_number_of_nats_nodes(tmp_path: Path) -> None:
    var = tmp_path / "var"
    done = subprocess.run(
        [str(CASEWORK), "up", "--nats-nodes=2"], env=_env(var), capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "--nats-nodes must be 1 or an odd number" in done.stderr


def _children(pid: int) -> dict[int, str]:
    """The live child processes of `pid`, with their command lines."""
    found: dict[int, str] = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            pids = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, pids):
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if _alive(child):
                found[child] = cmdline.decode(errors="replace")
    return found


def _relay_pid(up: Up, other_than: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid, cmdline in _children(up.process.pid).items():
            if pid != other_than and "casework.cli relay" in cmdline:
                return pid
        time.sleep(0.1)
    raise AssertionError(f"no new relay within {timeout:.0f} s")


@pytest.mark.nats
@pytest.mark.postgres
def test_a_sigkilled_child_is_named_and_started_again_on_the_configured_store_and_nats(
    tmp_path: Path, up_factory: list[Up], postgres_url: str, nats_server: NatsServer
) -> None:
    ports = Ports.free()
    var = tmp_path / "var"
    up = Up(var, ports, _env(var, CASEWORK_STORE=postgres_url, NATS_URL=nats_server.url))
    up_factory.append(up)
    assert "nats" not in up.pids, "NATS_URL is set: no nats-server of our own"
    assert f"{nats_server.url} (NATS_URL)" in up.out
    assert "store postgresql://…@" in up.out  # the password is never printed
    assert "sqlite" not in up.out
    readiness = httpx.get(f"http://127.0.0.1:{ports.intake}/readyz", timeout=5).json()
    assert (readiness["store"], readiness["nats"]) == ("ok", "ok")

    killed_at = time.monotonic()
    os.kill(up.pids["relay"], signal.SIGKILL)
    again = _relay_pid(up, other_than=up.pids["relay"], timeout=20)  # it must notice by itself
    back_in = time.monotonic() - killed_at

    assert up.process.poll() is None, "casework up must go on running"
    for name, pid in up.pids.items():
        if name != "relay":
            assert _alive(pid), f"{name} was stopped because the relay died"
    assert httpx.get(f"http://127.0.0.1:{ports.intake}/readyz", timeout=5).status_code == 200
    code, err = up.finish(signal.SIGTERM)
    assert code == 0, err
    assert f"relay (pid {up.pids['relay']}) exited with signal SIGKILL" in err
    assert "restarting relay in 1 s (restart 1)" in err
    assert f"restarted relay (pid {again})" in err
    assert "all stopped" in err
    for pid in [*up.pids.values(), again]:
        assert _gone(pid)
    assert nats_server.running, "an external NATS is not ours to stop"
    print(f"\nrelay back {back_in:.1f} s after its SIGKILL")


def test_up_refuses_to_start_when_a_fixed_port_is_taken(tmp_path: Path) -> None:
    import socket

    ports = Ports.free()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports.intake))
        holder.listen()
        done = subprocess.run(
            [str(CASEWORK), "up", *_port_args(ports)],
            env=_env(tmp_path / "var"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert done.returncode == 2
    assert f"in use already: intake {ports.intake}" in done.stderr
    assert not (tmp_path / "var" / "logs").exists(), "nothing was started"


@pytest.mark.nats
def test_killing_casework_up_outright_still_takes_every_child_down(
    tmp_path: Path, up_factory: list[Up]
) -> None:
    ports = Ports.free()
    var = tmp_path / "var"
    up = Up(var, ports, _env(var))
    up_factory.append(up)
    assert len(up.pids) >= 3

    code, _ = up.finish(signal.SIGKILL)  # no handler runs: only the kernel can tell the children

    assert code == -signal.SIGKILL
    for name, pid in up.pids.items():
        assert _gone(pid, timeout=30), f"{name} (pid {pid}) outlived a killed casework up"
