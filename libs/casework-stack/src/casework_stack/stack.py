"""The Casework stack on one machine: which processes, on which ports, started in which order.

    nats-server   nats://127.0.0.1:4223   the bundled binary, JetStream under <var>/nats
    relay         store -> JetStream      `casework relay`
    notary        store -> checkpoints    `casework notary`
    intake        http://127.0.0.1:8000   `casework-intake --host H --port P`
    dispatch      http://127.0.0.1:8001   `casework-dispatch --host H --port P`
    mediation     http://127.0.0.1:8002   `casework-mediation --host H --port P`

Embedded defaults: a SQLite store under the var dir and the bundled nats-server. Set
`CASEWORK_STORE=postgresql://…` and/or `NATS_URL=nats://…` and the same processes use those
instead (no nats-server is started when `NATS_URL` is given). NATS listens on 4223, next to the
usual 4222, so the stack never talks to a NATS the machine already runs.

With `--replicas N` (PostgreSQL only) each service runs N processes (`intake-1` on 8100,
`intake-2` on 8200, …), each with its own var dir (`<var>/intake-1`) for its read models, behind
nginx on the service's documented port (`proxy.py`); the relay runs N times too (`relay-1`, …),
one publishing and the others standing by (`relay_lock`), and so does the notary (`notary-1`,
…: one appending to the transparency log and signing, under a lock of its own; docs/adr/014).
docs/adr/013 says how the replicas' read models and effects stay one.

Every child gets the same three settings every Casework process reads (`CASEWORK_STORE`,
`NATS_URL`, `CASEWORK_VAR_DIR`, all absolute), and its host and port as flags. A service is
ready when its `/readyz` answers 200 (store and NATS reachable); NATS when it accepts
connections; the relay and the notary have no port and count as ready while they run. Every
notary signs with the key in the stack's var dir (`notary.key`, made 0600 by the first to start)
unless `CASEWORK_NOTARY_KEY` is set.
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
from casework.messaging.nats_config import NodeConfig, Routes, argv, route_url
from casework.messaging.nats_server import find_binary
from casework.messaging.nats_users import ROUTE, Credentials

from casework_stack import proxy
from casework_stack.supervisor import Child, ChildFailedError, ProcessSpec, Supervisor
from casework_stack.topology import (
    SERVICES,
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
    notary: bool = True
    """The transparency log's notary (`casework notary`), beside the relay."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment for every child (e.g. a service's own settings)."""
    nats_nodes: int = 1
    """How many bundled nats-server nodes: 1 (`nats`), or a routed cluster (`nats-1`…)."""
    replicas: int = 1
    """Processes per service (and relays); more than one needs PostgreSQL and nginx."""
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

    def __post_init__(self) -> None:
        if self.nats_nodes < 1 or self.nats_nodes % 2 == 0:
            raise ValueError(
                f"--nats-nodes must be 1 or an odd number such as 3 (a JetStream cluster keeps "
                f"going while a majority of its nodes is up); got {self.nats_nodes}"
            )
        if self.replicas < 1:
            raise ValueError(f"--replicas must be 1 or more; got {self.replicas}")
        if self.replicas > 1 and not self.store.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                f"--replicas {self.replicas} needs PostgreSQL: replicas on several processes "
                "(or machines) share one store, and a SQLite file is one process's; set "
                'CASEWORK_STORE=postgresql://user@host/db (README, "Running at scale")'
            )
        if self.nats_url is not None and self.nats_nodes != 1:
            raise ValueError(
                "NATS_URL is set, so no nats-server is started here and --nats-nodes does not "
                "apply; unset NATS_URL to run the bundled nodes"
            )

    @property
    def nats(self) -> str:
        """`NATS_URL` as every child gets it: every node's address, comma-separated."""
        if self.nats_url:
            return self.nats_url
        return ",".join(f"nats://{self.host}:{port}" for port in self.nats_client_ports())

    def nats_names(self) -> list[str]:
        if self.nats_nodes == 1:
            return ["nats"]
        return [f"nats-{i}" for i in range(1, self.nats_nodes + 1)]

    def nats_client_ports(self) -> list[int]:
        """Node i (from 0) serves clients on `--nats-port` + i: 4223, 4224, 4225."""
        return [self.ports.nats + i for i in range(self.nats_nodes)]

    def nats_route_ports(self) -> list[int]:
        """A cluster's routes: `--nats-port` + 10 + i (4233…)."""
        return [self.ports.nats + 10 + i for i in range(self.nats_nodes)]

    def nats_monitor_ports(self) -> list[int]:
        """A cluster node's `/healthz`: `--nats-port` + 20 + i (4243…)."""
        return [self.ports.nats + 20 + i for i in range(self.nats_nodes)]

    @property
    def credentials(self) -> Credentials:
        """The bundled NATS's users and passwords (`<var>/nats-credentials/`, 0600 files)."""
        return Credentials.under(self.var_dir)

    def url(self, service: str) -> str:
        """The service's documented address (the proxy's, with replicas)."""
        return f"http://{self.host}:{self.ports.of(service)}"

    def replica_names(self, service: str) -> list[str]:
        """`intake` alone, or `intake-1`, `intake-2`, … with replicas."""
        if self.replicas == 1:
            return [service]
        return [f"{service}-{i}" for i in range(1, self.replicas + 1)]

    def replica_ports(self, service: str) -> list[int]:
        """Where each replica listens: the documented port alone, or 8100, 8200, … behind it."""
        if self.replicas == 1:
            return [self.ports.of(service)]
        return proxy.replica_ports({service: self.ports.of(service)}, self.replicas)[service]

    def relay_names(self) -> list[str]:
        if self.replicas == 1:
            return ["relay"]
        return [f"relay-{i}" for i in range(1, self.replicas + 1)]

    def notary_names(self) -> list[str]:
        """`notary`, or `notary-1`, `notary-2`, … with replicas (one active, the rest stand by)."""
        return [name.replace("relay", "notary") for name in self.relay_names()]

    def present(self) -> tuple[str, ...]:
        """The services this installation can run."""
        return tuple(s for s in self.services if installed(s))

    def taken_ports(self) -> list[str]:
        """`name port` of every fixed port something already listens on."""
        wanted = [(name, self.ports.of(name)) for name in self.present()]
        if self.replicas > 1:
            for service in self.present():
                names, ports = self.replica_names(service), self.replica_ports(service)
                wanted += list(zip(names, ports, strict=True))
        if self.nats_url is None:
            names = self.nats_names()
            wanted += list(zip(names, self.nats_client_ports(), strict=True))
            if self.nats_nodes > 1:
                routes, health = self.nats_route_ports(), self.nats_monitor_ports()
                wanted += [(f"{n} routes", p) for n, p in zip(names, routes, strict=True)]
                wanted += [(f"{n} /healthz", p) for n, p in zip(names, health, strict=True)]
        return [f"{name} {port}" for name, port in wanted if port_taken(self.host, port)]


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
    addresses = [urlparse(server.strip()) for server in url.split(",")]
    return lambda: all(accepts(a.hostname or "127.0.0.1", a.port or 4222) for a in addresses)


def _nats_healthy(host: str, monitor_port: int) -> Callable[[], bool]:
    """A cluster node is ready when its `/healthz` says ok: JetStream up, a meta leader known."""

    def ready() -> bool:
        try:
            answer = httpx.get(f"http://{host}:{monitor_port}/healthz", timeout=1.0)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    return ready


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

    def child_env(self, nats_user: str | None = None) -> dict[str, str]:
        """The environment of a child; `nats_user`: the bundled NATS's user it connects as."""
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
        if nats_user is not None and self.config.nats_url is None:
            env.update(self.config.credentials.client_env(nats_user))
        return env

    def nats_options(self, user: str = "admin") -> dict[str, object]:
        """nats-py `connect` options for a client of the bundled NATS (benchmarks, tests)."""
        if self.config.nats_url is not None:
            return {}
        return dict(self.config.credentials.ensure().client_options(user))

    def log_path(self, name: str) -> Path:
        """The child's log, made 0600 in a 0700 folder before the supervisor appends to it
        (logs carry case ids, actors and errors)."""
        return private_file(self.config.var_dir / "logs" / f"{name}.log")

    def nats_specs(self) -> list[ProcessSpec]:
        """One spec per bundled node, each run from its own 0600 config file: its users
        (`casework.messaging.nats_users`) and, in a cluster, its routes to every node."""
        c = self.config
        credentials = c.credentials.ensure()
        authorization = credentials.authorization()
        names = c.nats_names()
        clustered = len(names) > 1
        peers = [route_url(c.host, port) for port in c.nats_route_ports()]
        specs = []
        for i, name in enumerate(names):
            store = c.var_dir / name
            private_dir(store)
            routes = None
            if clustered:
                routes = Routes(c.nats_route_ports()[i], peers, ROUTE, credentials.password(ROUTE))
            node = NodeConfig(
                name=name,
                host=c.host,
                port=c.nats_client_ports()[i],
                store_dir=store,
                routes=routes,
                authorization=authorization,
                monitor_port=c.nats_monitor_ports()[i] if clustered else None,
            )
            config_file = node.write(store / "nats-server.conf")
            address = f"nats://{c.host}:{node.port}"
            ready = (
                _nats_healthy(c.host, c.nats_monitor_ports()[i])
                if clustered
                else _nats_ready(address)
            )
            log = self.log_path(name)
            specs.append(
                ProcessSpec(name, argv(find_binary(), config_file), self.child_env(), log, ready)
            )
        return specs

    def nats_spec(self) -> ProcessSpec:
        """The first (or only) node's."""
        return self.nats_specs()[0]

    def relay_spec(self, name: str = "relay") -> ProcessSpec:
        argv = [sys.executable, "-m", "casework.cli", "relay"]  # it sets up its JSON logs itself
        return ProcessSpec(name, argv, self.child_env("relay"), self.log_path(name))

    def relay_specs(self) -> list[ProcessSpec]:
        """One relay, or one per replica: the first to take the relay lock publishes."""
        return [self.relay_spec(name) for name in self.config.relay_names()]

    def notary_public_key(self, env: dict[str, str]) -> str:
        """The stack's notary's public key (`CASEWORK_NOTARY_KEY`, else the var dir's key file,
        made now if the notary has not yet), so the intake's case pages check the signature of
        the checkpoint they name, not only its proofs."""
        from casework.transparency.checkpoints import notary_key, public_text

        return public_text(notary_key(env, self.config.var_dir).public_key())

    def notary_spec(self, name: str = "notary") -> ProcessSpec:
        """`casework notary`: appends every case event to the log, signs checkpoints, posts
        them to `CASEWORK_CHECKPOINTS` as the `notary` NATS user (it logs JSON itself)."""
        argv = [sys.executable, "-m", "casework.cli", "notary"]
        return ProcessSpec(name, argv, self.child_env("notary"), self.log_path(name))

    def notary_specs(self) -> list[ProcessSpec]:
        """One notary, or one per replica: the first to take the notary lock appends."""
        return [self.notary_spec(name) for name in self.config.notary_names()]

    def service_spec(self, name: str) -> ProcessSpec:
        """The service alone on its documented port (no replicas)."""
        return self.service_specs(name)[0]

    def service_specs(self, service: str) -> list[ProcessSpec]:
        """The service's processes. With replicas each has its own var dir (its read models'
        SQLite files) and all share the tokens file, the store and the durable consumer; their
        read models follow the store's log (`*_READ_MODELS=store`, docs/adr/013)."""
        c = self.config
        target = console_script(service)
        if target is None:
            raise ChildFailedError(
                f"{service} is not installed (no casework-{service} console script)"
            )
        specs = []
        for name, port in zip(c.replica_names(service), c.replica_ports(service), strict=True):
            argv = [sys.executable, "-m", "casework_stack.launch", f"casework-{service}", target]
            argv += ["--host", c.host, "--port", str(port)]
            env = self.child_env(service)
            if service == "intake" and c.notary:
                env.setdefault("INTAKE_NOTARY_PUBKEY", self.notary_public_key(env))
            if c.replicas > 1:
                own = private_dir(c.var_dir / name)
                # What every replica must share lives in the stack's var dir, not the replica's:
                # the tokens, and the master key that unwraps the people's data keys in the
                # store (`casework.privacy.master`; CASEWORK_MASTER_KEY, if set, wins).
                env.setdefault("CASEWORK_TOKENS_FILE", str(c.var_dir / "tokens.json"))
                env.setdefault("CASEWORK_MASTER_KEY_FILE", str(c.var_dir / "master.key"))
                env.update(
                    CASEWORK_VAR_DIR=str(own),
                    INTAKE_READ_MODELS="store",
                    MEDIATION_READ_MODELS="store",
                )
            ready = _http_ready(f"http://{c.host}:{port}")
            specs.append(ProcessSpec(name, argv, env, self.log_path(name), ready))
        return specs

    def proxy_spec(self) -> ProcessSpec:
        """nginx on each service's documented port, in front of its replicas (`proxy.py`)."""
        c = self.config
        try:
            nginx = proxy.find_nginx()
        except proxy.NginxMissingError as error:
            raise ChildFailedError(str(error)) from None
        prefix = c.var_dir / "proxy"
        upstreams = [proxy.Upstream(s, c.ports.of(s), c.replica_ports(s)) for s in c.present()]
        config = proxy.write_config(c.host, upstreams, prefix)
        checks = [_http_ready(c.url(s)) for s in c.present()]
        return ProcessSpec(
            "proxy",
            proxy.argv(nginx, prefix, config),
            self.child_env(),
            self.log_path("proxy"),
            lambda: all(check() for check in checks),
        )

    # ------------------------------------------------------------- lifecycle

    def start(self) -> Stack:
        began = time.monotonic()
        c = self.config
        private_dir(c.var_dir)
        try:
            if c.nats_url is None:
                self.on_step(f"starting nats-server on {c.nats}")
                nodes = [self.supervisor.start(spec) for spec in self.nats_specs()]
                self.supervisor.wait_ready(nodes, c.ready_timeout)
            elif not _nats_ready(c.nats)():
                raise ChildFailedError(f"NATS_URL {c.nats} does not accept connections")
            started: list[Child] = []
            if c.relay:
                self.on_step("starting " + ", ".join(c.relay_names()))
                started += [self.supervisor.start(spec) for spec in self.relay_specs()]
            if c.notary:
                self.on_step("starting " + ", ".join(c.notary_names()))
                started += [self.supervisor.start(spec) for spec in self.notary_specs()]
            for name in c.present():
                self.on_step(f"starting {', '.join(c.replica_names(name))}")
                started += [self.supervisor.start(spec) for spec in self.service_specs(name)]
            self.on_step("waiting for " + ", ".join(ch.name for ch in started) + " to be ready")
            self.supervisor.wait_ready(started, c.ready_timeout)
            if c.replicas > 1 and c.present():
                self.on_step("starting nginx on " + ", ".join(c.url(s) for s in c.present()))
                front = self.supervisor.start(self.proxy_spec())
                self.supervisor.wait_ready([front], c.ready_timeout)
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def stop(self) -> dict[str, int | None]:
        c = self.config
        services = tuple(name for s in SERVICES for name in c.replica_names(s))
        relay_layer = (*c.relay_names(), *c.notary_names())  # the notary goes with the relay
        return self.supervisor.stop_all((("proxy",), services, relay_layer, tuple(c.nats_names())))

    def first_dead(self) -> Child | None:
        return self.supervisor.first_dead()

    def endpoints(self) -> list[Endpoint]:
        c = self.config
        children = {ch.name: ch for ch in self.supervisor.children}
        rows = []
        if c.nats_url is None:
            for name, port in zip(c.nats_names(), c.nats_client_ports(), strict=True):
                node = children.get(name)
                if node is not None:
                    address = f"nats://{c.host}:{port}"
                    rows.append(Endpoint(name, address, node.pid, node.spec.log))
        else:
            rows.append(Endpoint("nats", f"{c.nats} (NATS_URL)", None, None))
        for name in c.relay_names():
            relay = children.get(name)
            if relay is not None:
                rows.append(Endpoint(name, "store -> JetStream", relay.pid, relay.spec.log))
        for name in c.notary_names():
            notary = children.get(name)
            if notary is not None:
                rows.append(Endpoint(name, "store -> checkpoints", notary.pid, notary.spec.log))
        front = children.get("proxy")
        for name in SERVICES:
            replicas = [children[r] for r in c.replica_names(name) if r in children]
            if replicas and c.replicas > 1:
                if front is not None:
                    rows.append(Endpoint(name, c.url(name), front.pid, front.spec.log))
                for replica, port in zip(replicas, c.replica_ports(name), strict=True):
                    address = f"http://{c.host}:{port}"
                    rows.append(Endpoint(replica.name, address, replica.pid, replica.spec.log))
            elif replicas:
                child = replicas[0]
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
