"""The Casework stack on one machine: which processes, on which ports, started in which order.

    nats-server   nats://127.0.0.1:4223   the bundled binary, JetStream under <var>/nats
    relay         store -> JetStream      `casework relay`
    intake        http://127.0.0.1:8000   `casework-intake --host H --port P`
    dispatch      http://127.0.0.1:8001   `casework-dispatch --host H --port P`
    mediation     http://127.0.0.1:8002   `casework-mediation --host H --port P`

Embedded defaults: a SQLite store under the var dir and the bundled nats-server. Set
`CASEWORK_STORE=postgresql://…` and/or `NATS_URL=nats://…` and the same processes use those
instead (no nats-server is started when `NATS_URL` is given). NATS listens on 4223, next to the
usual 4222, so the stack never talks to a NATS the machine already runs.

Every child gets the same three settings every Casework process reads (`CASEWORK_STORE`,
`NATS_URL`, `CASEWORK_VAR_DIR`, all absolute), and its host and port as flags. A service is
ready when its `/readyz` answers 200 (store and NATS reachable); NATS when it accepts
connections; the relay has no port and counts as ready while it runs.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from types import TracebackType
from urllib.parse import urlparse

import httpx2 as httpx
from casework.files import private_dir, private_file
from casework.messaging.nats_server import find_binary

from casework_stack.supervisor import Child, ChildFailedError, ProcessSpec, Supervisor
from casework_stack.topology import (
    SERVICES,
    STOP_LAYERS,
    Ports,
    accepts,
    port_taken,
    shown_store,
    sqlite_store,
)

__all__ = ["SERVICES", "Ports", "Stack", "StackConfig", "shown_store", "sqlite_store"]


def console_script(service: str) -> str | None:
    """`module:function` of the service's `casework-<service>` console script, if installed."""
    for entry in entry_points(group="console_scripts", name=f"casework-{service}"):
        return entry.value
    return None


def installed(service: str) -> bool:
    """Whether the service declares its console script (a service still being built may not)."""
    return console_script(service) is not None


SETTING_PREFIXES = ("CASEWORK_", "NATS_", "INTAKE_", "DISPATCH_", "MEDIATION_")
"""Environment variables that configure Casework processes."""


@dataclass(frozen=True)
class StackConfig:
    """What to run; `from_environment` reads the settings every Casework process reads."""

    var_dir: Path
    store: str
    nats_url: str | None = None
    """An external NATS; None starts the bundled nats-server."""
    host: str = "127.0.0.1"
    ports: Ports = field(default_factory=Ports)
    services: tuple[str, ...] = SERVICES
    relay: bool = True
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment for every child (e.g. a service's own settings)."""
    ready_timeout: float = 60.0
    grace: float = 10.0
    hermetic: bool = False
    """Leave out the caller's Casework settings (`CASEWORK_*`, `NATS_URL`, the services' own
    `INTAKE_*` …): a demo or benchmark must not pick up a real deployment's tokens or files."""

    @classmethod
    def from_environment(cls, var_dir: Path | None = None, **overrides: object) -> StackConfig:
        var = (var_dir or Path(os.environ.get("CASEWORK_VAR_DIR", "var"))).resolve()
        store = os.environ.get("CASEWORK_STORE") or sqlite_store(var)
        config = cls(var_dir=var, store=store, nats_url=os.environ.get("NATS_URL") or None)
        return replace(config, **overrides)  # type: ignore[arg-type]

    @property
    def nats(self) -> str:
        return self.nats_url or f"nats://{self.host}:{self.ports.nats}"

    def url(self, service: str) -> str:
        return f"http://{self.host}:{self.ports.of(service)}"

    def present(self) -> tuple[str, ...]:
        """The services this installation can run."""
        return tuple(s for s in self.services if installed(s))

    def taken_ports(self) -> list[str]:
        """`name port` of every fixed port something already listens on."""
        names = list(self.present())
        if self.nats_url is None:
            names.append("nats")
        return [
            f"{name} {self.ports.of(name)}"
            for name in names
            if port_taken(self.host, self.ports.of(name))
        ]


@dataclass(frozen=True)
class Endpoint:
    """Where one running part of the stack can be reached, for people and for tests."""

    name: str
    address: str
    pid: int | None
    log: Path | None


def _http_ready(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


def _nats_ready(url: str) -> Callable[[], bool]:
    parts = urlparse(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 4222
    return lambda: accepts(host, port)


class Stack:
    """Starts the processes, waits until each is ready, stops them all; a context manager.

    `on_step` hears each step ("starting intake", "intake ready") for a progress display.
    """

    def __init__(self, config: StackConfig, on_step: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.supervisor = Supervisor(grace=config.grace)
        self.on_step = on_step or (lambda _step: None)
        self.started_in: float | None = None

    # ------------------------------------------------------------------ specs

    def child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.config.hermetic:
            env = {k: v for k, v in env.items() if not k.startswith(SETTING_PREFIXES)}
            env["CASEWORK_TOKENS_FILE"] = str(self.config.var_dir / "tokens.json")
        env.update(self.config.env)
        env.update(
            CASEWORK_STORE=self.config.store,
            CASEWORK_VAR_DIR=str(self.config.var_dir),
            NATS_URL=self.config.nats,
            PYTHONUNBUFFERED="1",
        )
        return env

    def log_path(self, name: str) -> Path:
        """The child's log, made 0600 in a 0700 folder before the supervisor appends to it
        (logs carry case ids, actors and errors)."""
        return private_file(self.config.var_dir / "logs" / f"{name}.log")

    def nats_spec(self) -> ProcessSpec:
        c = self.config
        argv = [
            str(find_binary()),
            "--jetstream",
            "--store_dir",
            str(c.var_dir / "nats"),
            "--addr",
            c.host,
            "--port",
            str(c.ports.nats),
        ]
        return ProcessSpec(
            "nats", argv, self.child_env(), self.log_path("nats"), _nats_ready(c.nats)
        )

    def relay_spec(self) -> ProcessSpec:
        argv = [sys.executable, "-m", "casework.cli", "relay"]  # it sets up its JSON logs itself
        return ProcessSpec("relay", argv, self.child_env(), self.log_path("relay"))

    def service_spec(self, name: str) -> ProcessSpec:
        c = self.config
        target = console_script(name)
        if target is None:
            raise ChildFailedError(f"{name} is not installed (no casework-{name} console script)")
        argv = [sys.executable, "-m", "casework_stack.launch", f"casework-{name}", target]
        argv += ["--host", c.host, "--port", str(c.ports.of(name))]
        ready = _http_ready(c.url(name))
        return ProcessSpec(name, argv, self.child_env(), self.log_path(name), ready)

    # ------------------------------------------------------------- lifecycle

    def start(self) -> Stack:
        began = time.monotonic()
        c = self.config
        private_dir(c.var_dir)
        try:
            if c.nats_url is None:
                self.on_step(f"starting nats-server on {c.nats}")
                nats = self.supervisor.start(self.nats_spec())
                self.supervisor.wait_ready([nats], c.ready_timeout)
            elif not _nats_ready(c.nats)():
                raise ChildFailedError(f"NATS_URL {c.nats} does not accept connections")
            started: list[Child] = []
            if c.relay:
                self.on_step("starting the relay")
                started.append(self.supervisor.start(self.relay_spec()))
            for name in c.present():
                self.on_step(f"starting {name} on {c.url(name)}")
                started.append(self.supervisor.start(self.service_spec(name)))
            self.on_step("waiting for " + ", ".join(ch.name for ch in started) + " to be ready")
            self.supervisor.wait_ready(started, c.ready_timeout)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def stop(self) -> dict[str, int | None]:
        return self.supervisor.stop_all(STOP_LAYERS)

    def first_dead(self) -> Child | None:
        return self.supervisor.first_dead()

    def endpoints(self) -> list[Endpoint]:
        c = self.config
        children = {ch.name: ch for ch in self.supervisor.children}
        rows = []
        nats = children.get("nats")
        if nats is not None:
            rows.append(Endpoint("nats", c.nats, nats.pid, nats.spec.log))
        else:
            rows.append(Endpoint("nats", f"{c.nats} (NATS_URL)", None, None))
        relay = children.get("relay")
        if relay is not None:
            rows.append(Endpoint("relay", "store -> JetStream", relay.pid, relay.spec.log))
        for name in SERVICES:
            child = children.get(name)
            if child is not None:
                rows.append(Endpoint(name, c.url(name), child.pid, child.spec.log))
            elif name not in c.services:
                rows.append(Endpoint(name, "left out (--without)", None, None))
            else:
                rows.append(Endpoint(name, "not installed", None, None))
        return rows

    def pids(self) -> list[int]:
        return [ch.pid for ch in self.supervisor.children]

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
