"""`casework up --replicas 2`: two processes per service behind nginx, on one PostgreSQL.

What docs/adr/013 promises and these check on real processes: replicas need PostgreSQL (a clear
refusal with SQLite); every part is printed with its pid; a report made through the proxy is
visible on every intake replica within `VISIBLE_WITHIN` seconds (each replica's read models
follow the store's log); dispatch, sharing one durable consumer, assigns it once; a replica that
dies is started again while the proxy sends requests to the other one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from casework_stack import proxy
from casework_stack.client import Api, Cast
from casework_stack.testing import CASEWORK, UpProcess, alive, free_ports, gone, up_env

VISIBLE_WITHIN = 2.0
"""Seconds within which a case recorded through one replica is listed by every other: the
store feed's poll (0.5 s) and a page of the log, with room for a loaded machine (ADR 013)."""
COMPOUND = "jiayu-xx/wanxin-intl"


@pytest.fixture
def ups() -> Iterator[list[UpProcess]]:
    started: list[UpProcess] = []
    yield started
    for up in started:
        up.kill_all()


def test_replicas_are_refused_on_sqlite_with_a_message_that_says_what_to_do(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [str(CASEWORK), "up", "--replicas=2"],
        env=up_env(tmp_path / "var"),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "--replicas 2 needs PostgreSQL" in done.stderr
    assert "CASEWORK_STORE=postgresql://" in done.stderr


def test_the_generated_nginx_config_is_one_nginx_accepts(tmp_path: Path) -> None:
    upstreams = [
        proxy.Upstream("intake", 18000, [18100, 18200]),
        proxy.Upstream("dispatch", 18001, [18101, 18201]),
    ]
    prefix = tmp_path / "proxy"
    config = proxy.write_config("127.0.0.1", upstreams, prefix)
    done = subprocess.run(
        [proxy.find_nginx(), "-t", "-p", f"{prefix}/", "-c", str(config)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    text = config.read_text()
    assert "server 127.0.0.1:18200 max_fails=1" in text
    assert "listen 127.0.0.1:18001;" in text


def report(api: Api, cast: Cast, n: int) -> str:
    desk = cast.person("staff-desk", "property_staff", COMPOUND)
    body = {
        "kind": "repair",
        "category": "lighting",
        "address": f"{COMPOUND}/b{n % 60 + 1}/{n // 60 + 101:04d}",
        "description": f"corridor light {n} is out",
        "channel": "app",
        "reporter": {"id": f"resident-{n}", "role": "resident"},
    }
    return str(api.post("intake", "/cases", desk, body)["case_id"])


def put_staff_on_the_roster(api: Api, cast: Cast, members: int = 2) -> None:
    manager = cast.person("manager-desk", "property_manager", COMPOUND)
    for n in range(members):
        body = {
            "actor_id": f"staff-{n:03d}",
            "role": "property_staff",
            "skills": ["electrical", "plumbing", "appliances", "general_repairs"],
            "places": [COMPOUND],
            "max_load": 20,
        }
        api.post("dispatch", "/roster/members", manager, body)


def seen_by(url: str, token: str, case_id: str, timeout: float) -> float | None:
    """Seconds until `url` (one replica) shows the case, or None if not within `timeout`."""
    began = time.monotonic()
    headers = {"Authorization": f"Bearer {token}"}
    while time.monotonic() - began < timeout:
        try:
            answer = httpx.get(f"{url}/cases/{case_id}", headers=headers, timeout=2)
        except httpx.TransportError:  # a replica restarting
            answer = None
        if answer is not None and answer.status_code == 200:
            return time.monotonic() - began
        time.sleep(0.05)
    return None


@pytest.mark.nats
@pytest.mark.postgres
def test_two_replicas_of_each_service_behind_nginx_answer_as_one(
    tmp_path: Path, postgres_url: str, ups: list[UpProcess]
) -> None:
    ports = free_ports(nats_nodes=3, replicas=2)
    var = tmp_path / "var"
    env = up_env(var, CASEWORK_STORE=postgres_url)
    up = UpProcess(var, ports, env, "--nats-nodes=3", "--replicas=2")
    ups.append(up)
    parts = {"nats-1", "nats-2", "nats-3", "relay-1", "relay-2", "notary-1", "notary-2"}
    parts |= {f"{s}-{i}" for s in ("intake", "dispatch", "mediation") for i in (1, 2)}
    assert parts <= set(up.pids), up.out
    assert up.pids["intake"] == up.pids["dispatch"] == up.pids["mediation"], "one nginx"
    assert f"  intake-2    http://127.0.0.1:{ports.intake + 200} " in up.out

    api = Api({s: f"http://127.0.0.1:{ports.of(s)}" for s in ("intake", "dispatch", "mediation")})
    cast = Cast(var / "tokens.json")
    put_staff_on_the_roster(api, cast)
    token = cast.person("staff-desk", "property_staff", COMPOUND).token
    replicas = [f"http://127.0.0.1:{ports.intake + 100 * i}" for i in (1, 2)]
    for n in range(6):  # the proxy spreads them; each must reach both replicas' read models
        case_id = report(api, cast, n)
        for url in replicas:
            took = seen_by(url, token, case_id, timeout=10)
            assert took is not None, f"{url} never showed case {case_id}"
            assert took <= VISIBLE_WITHIN, (url, took)

    os.kill(up.pids["intake-1"], signal.SIGKILL)
    for n in range(6, 10):  # nginx sends them to intake-2 meanwhile
        case_id = report(api, cast, n)
        assert seen_by(replicas[1], token, case_id, timeout=VISIBLE_WITHIN) is not None
    assert seen_by(replicas[0], token, case_id, timeout=30) is not None, "intake-1 came back"

    def assigned_once() -> bool:
        state = api.get("intake", f"/cases/{case_id}/history", cast.person("auditor", "auditor"))
        return sum(e["event"] == "Assigned" for e in state["events"]) == 1

    deadline = time.monotonic() + 20
    while not assigned_once():
        assert time.monotonic() < deadline, "dispatch did not assign the last case"
        time.sleep(0.2)
    api.close()
    said = {n: (var / "logs" / f"{n}.log").read_text() for n in ("notary-1", "notary-2")}
    active = [n for n, log in said.items() if "notary: active (holding the PostgreSQL" in log]
    assert len(active) == 1, said  # the other stands by on the notary's own advisory lock
    assert all("notary: standing by" in log for n, log in said.items() if n not in active)

    code, err = up.finish(signal.SIGTERM)
    assert code == 0, err
    assert f"intake-1 (pid {up.pids['intake-1']}) exited with signal SIGKILL" in err
    assert "restarting intake-1 in 1 s" in err
    for name, pid in up.pids.items():
        assert gone(pid), f"{name} (pid {pid}) outlived casework up"
        assert not alive(pid)
    assert uuid.UUID(case_id)
