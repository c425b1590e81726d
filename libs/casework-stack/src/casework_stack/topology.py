"""The stack's shape, with nothing heavy imported: services, ports, start and stop order.

Kept apart from `stack.py` so the `casework` console script can describe `up`, `demo` and
`rebuild` (their options and defaults) without loading an HTTP client or the services.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

SERVICES = ("intake", "dispatch", "mediation")
"""The HTTP services, in start order; each runs its `casework-<name>` console script."""

STOP_LAYERS = (SERVICES, ("relay", "notary"), ("nats",))
"""Stop the services first (they finish their requests and consumers), then the relay and the
notary, then NATS."""

READ_MODEL_SERVICES = ("intake", "mediation")
"""The services whose read models `casework rebuild` rebuilds (see `rebuild.REBUILDERS`)."""


@dataclass(frozen=True)
class Ports:
    """The documented loopback ports (README, "Running the stack")."""

    intake: int = 8000
    dispatch: int = 8001
    mediation: int = 8002
    nats: int = 4223

    def of(self, name: str) -> int:
        port: int = getattr(self, name)
        return port

    @classmethod
    def free(cls, host: str = "127.0.0.1") -> Ports:
        """Ports nobody listens on now: for demos, tests and benchmarks beside a running stack."""
        return cls(*(free_port(host) for _ in range(4)))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
        return False


def accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def sqlite_store(var: Path) -> str:
    return f"sqlite:///{(var / 'casework.db').resolve()}"


def shown_store(store: str) -> str:
    """The store URL fit to print: no password."""
    if "@" in store and "://" in store:
        scheme, rest = store.split("://", 1)
        return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
    return store
