"""`casework up` run as a person runs it, for tests: the console script in a child process.

`UpProcess` starts the installed `casework up` with the given options in a var dir of its own,
reads what it prints until "ready in", and keeps each part's pid from the table it printed
(`name address pid N log …`). `gone` waits for a pid to end (a zombie counts as ended).
Shared by the stack's tests and the drill, so each does not carry its own copy.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from casework_stack.stack import StackConfig
from casework_stack.topology import Ports

CASEWORK = Path(sys.executable).with_name("casework")
ROW = re.compile(r"^  (?P<name>\S+) .*? pid (?P<pid>\d+)", re.M)


def up_env(var: Path, **extra: str) -> dict[str, str]:
    """This environment without any Casework setting, with `CASEWORK_VAR_DIR` and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_") and k != "NATS_URL"}
    env.update(CASEWORK_VAR_DIR=str(var), **extra)
    return env


def port_args(ports: Ports) -> list[str]:
    return [
        f"--{name}-port={ports.of(name)}" for name in ("intake", "dispatch", "mediation", "nats")
    ]


class UpProcess:
    """A running `casework up` and what it printed."""

    def __init__(
        self, var: Path, ports: Ports, env: dict[str, str], *args: str, timeout: float = 90
    ) -> None:
        self.ports = ports
        self.process = subprocess.Popen(
            [str(CASEWORK), "up", *port_args(ports), "--ready-timeout=60", *args],
            env=env,
            cwd=var.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out = ""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        for line in self.process.stdout:
            self.out += line
            if line.startswith("ready in") or time.monotonic() > deadline:
                break
        assert "ready in" in self.out, self.out + self.finish(signal.SIGKILL)[1]
        self.pids = {m["name"]: int(m["pid"]) for m in ROW.finditer(self.out)}

    def finish(self, signum: int | None = signal.SIGTERM, timeout: float = 60) -> tuple[int, str]:
        if signum is not None and self.process.poll() is None:
            self.process.send_signal(signum)
        out, err = self.process.communicate(timeout=timeout)
        self.out += out
        return self.process.returncode, err

    def kill_all(self) -> None:
        """Whatever happened: `casework up` killed, and every part it printed waited for."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate(timeout=30)
        for pid in self.pids.values():
            gone(pid)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purposes
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def free_ports(nats_nodes: int = 1, replicas: int = 1) -> Ports:
    """Free ports for a stack, whose cluster ports (routes, /healthz) and replicas' ports
    (+100, +200, …) are free too."""
    store = "postgresql://x@127.0.0.1/x"  # replicas need one; nothing connects to it here
    for _ in range(50):
        ports = Ports.free()
        config = StackConfig(
            Path("var"), store, ports=ports, nats_nodes=nats_nodes, replicas=replicas
        )
        if not config.taken_ports():
            return ports
    raise AssertionError(f"no free run of ports for {nats_nodes} nodes and {replicas} replicas")
