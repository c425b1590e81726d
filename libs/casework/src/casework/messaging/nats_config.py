"""One nats-server node's configuration file, for a single node or one node of a cluster.

The same text serves tests (`NatsServer`, `NatsCluster`) and `casework up` (which runs the nodes
under its supervisor): a node named `nats-1`, its client port, its JetStream folder, and, in a
cluster, its route port and every node's routes (`cluster { routes = [...] }`, each node lists
all, itself included; nats-server ignores the route to itself). The file is written 0600:
it holds the users' and the routes' passwords.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from casework.files import write_private

CLUSTER_NAME = "casework"


@dataclass(frozen=True)
class Routes:
    """A node's place in a cluster: where it listens for routes, and every node's route URL."""

    port: int
    peers: Sequence[str]
    """`nats-route://host:port` of every node (this one included)."""
    user: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class NodeConfig:
    name: str
    host: str
    port: int
    store_dir: Path
    routes: Routes | None = None
    authorization: str | None = None
    """An `authorization { ... }` block (`nats_users.Credentials.authorization`); None: open."""
    monitor_port: int | None = None
    extra: Sequence[str] = field(default_factory=tuple)

    def render(self) -> str:
        lines = [
            f'server_name: "{self.name}"',
            f'listen: "{self.host}:{self.port}"',
            f'jetstream {{ store_dir: "{self.store_dir}" }}',
        ]
        if self.monitor_port:
            lines.append(f'http: "{self.host}:{self.monitor_port}"')
        if self.routes is not None:
            r = self.routes
            auth = ""
            peers = list(r.peers)
            if r.user and r.password:
                auth = (
                    f'  authorization {{ user: "{r.user}", password: "{r.password}", '
                    "timeout: 2 }\n"
                )
                peers = [p.replace("://", f"://{r.user}:{r.password}@", 1) for p in peers]
            routes = ", ".join(f'"{p}"' for p in peers)
            lines.append(
                f'cluster {{\n  name: "{CLUSTER_NAME}"\n  listen: "{self.host}:{r.port}"\n'
                f"{auth}  routes = [{routes}]\n}}"
            )
        if self.authorization:
            lines.append(self.authorization)
        lines.extend(self.extra)
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> Path:
        write_private(path, self.render())
        return path


def argv(binary: Path | str, config_file: Path, log_file: Path | None = None) -> list[str]:
    """The command line of a node run from its config file."""
    command = [str(binary), "--config", str(config_file)]
    if log_file is not None:
        command += ["--log", str(log_file)]
    return command


def route_url(host: str, port: int) -> str:
    return f"nats-route://{host}:{port}"
