"""Several bundled nats-servers on loopback, routed into one JetStream cluster.

For tests and drills (the `nats_cluster` fixture) and anything else that wants a real cluster
on one machine; `casework up --nats-nodes 3` runs the same config files under its supervisor.
Node i is named `nats-i`, has its own client port, route port, monitoring port and JetStream
folder (`<root>/nats-i`), and lists every node's route. `start` returns once every node
accepts clients and reports itself healthy (`/healthz`: JetStream up and a meta leader known),
so a stream with 3 replicas can be created at once. Every node is stopped by its pid however
the block ends; `kill(name)` SIGKILLs one node (as a crash would) and `start_node` brings it
back on the same ports and folder.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from casework.messaging.nats_config import Routes, route_url
from casework.messaging.nats_server import NatsServer, NatsServerError, find_binary, free_port
from casework.messaging.nats_users import ROUTE, Credentials


def node_names(count: int) -> list[str]:
    return [f"nats-{i}" for i in range(1, count + 1)]


class NatsCluster:
    """`count` routed nodes; `credentials` set: every node requires the deployment's users."""

    def __init__(
        self,
        root: Path,
        count: int = 3,
        *,
        host: str = "127.0.0.1",
        credentials: Credentials | None = None,
        binary: Path | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        if count < 1:
            raise ValueError("a cluster needs at least one node")
        self.root = root
        self.host = host
        self.credentials = credentials
        self.ready_timeout = ready_timeout
        binary = binary or find_binary()
        route_ports = [free_port(host) for _ in range(count)]
        peers = [route_url(host, port) for port in route_ports] if count > 1 else []
        authorization = credentials.ensure().authorization() if credentials else None
        route_user = credentials.password(ROUTE) if credentials else None
        self.nodes: dict[str, NatsServer] = {}
        for name, route_port in zip(node_names(count), route_ports, strict=True):
            routes = None
            if peers:
                routes = Routes(
                    route_port, peers, ROUTE if route_user else None, route_user or None
                )
            self.nodes[name] = NatsServer(
                root / name,
                port=free_port(host),
                host=host,
                binary=binary,
                name=name,
                routes=routes,
                authorization=authorization,
                monitor_port=free_port(host),
                log_file=root / f"{name}.log",
            )

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes.values()]

    @property
    def url(self) -> str:
        """Every node, comma-separated: the `NATS_URL` of a part that connects to the cluster."""
        return ",".join(self.urls)

    def node(self, name: str) -> NatsServer:
        try:
            return self.nodes[name]
        except KeyError:
            raise KeyError(f"no node {name!r}; nodes: {', '.join(self.nodes)}") from None

    def start(self) -> NatsCluster:
        try:
            for node in self.nodes.values():
                node.start()
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def start_node(self, name: str) -> NatsServer:
        node = self.node(name).start()
        self.wait_healthy([name])
        return node

    def kill(self, name: str) -> int:
        """SIGKILL one node by its pid; returns the pid."""
        node = self.node(name)
        pid = node.pid
        if pid is None:
            raise NatsServerError(f"{name} is not running")
        node.kill()
        return pid

    def wait_healthy(self, names: list[str] | None = None) -> None:
        deadline = time.monotonic() + self.ready_timeout
        for name in names or list(self.nodes):
            node = self.nodes[name]
            while not healthy(node):
                if time.monotonic() > deadline:
                    raise NatsServerError(
                        f"{name} did not report healthy within {self.ready_timeout:.0f} s; "
                        f"see {node.log_file}"
                    )
                time.sleep(0.1)

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()

    def pids(self) -> dict[str, int | None]:
        return {name: node.pid for name, node in self.nodes.items()}

    def name_of(self, server_name: str | None) -> str | None:
        """The node a stream's `cluster.leader` names (its `server_name`), if one of ours."""
        return server_name if server_name in self.nodes else None

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def healthy(node: NatsServer) -> bool:
    """The node's `/healthz` answers ok: it serves clients and its JetStream is ready."""
    if not node.running or not node.monitor_port:
        return node.running
    url = f"http://{node.host}:{node.monitor_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            status: object = json.loads(response.read() or b"{}").get("status")
            return status == "ok"
    except (urllib.error.URLError, OSError, ValueError):
        return False
