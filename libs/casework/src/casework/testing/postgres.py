"""A real PostgreSQL for tests and benchmarks, started and stopped by whoever needs it.

Persistence must behave the same on SQLite and PostgreSQL, and only a real server shows that
(locking, NOTIFY, pool exhaustion, sequence gaps). The machine's own PostgreSQL on port 5432 is
never touched: either `CASEWORK_TEST_POSTGRES` names a server we may create databases on, or a
throwaway cluster is made from the machine's binaries in a temporary folder, on a free loopback
port, with durability switched off because its data dies with the run.

Fixtures (register with `pytest_plugins = ["casework.testing.postgres"]`):

- `postgres_server` (session): a `PostgresServer`; skipped when no binaries are found, *failed*
  under `CI=true`, where nothing that needs a server may skip.
- `postgres_url` (function): a fresh, empty database on it, as a `postgresql://` URL usable as
  `CASEWORK_STORE`; dropped after the test.
- `store_url` (function, parametrized `sqlite` / `postgres`): run one test on both stores.

A conftest that defines its own `store_url` hides this one; see `empty_store_url` for the
two-line override. Outside pytest (benchmarks, demos), use the context managers
`throwaway_postgres()` and `fresh_database(server)`; `restartable_postgres()` gives the cluster
itself, to stop and start again on the same port (outage drills).

Tests that use PostgreSQL should carry the `postgres` marker (`store_url` adds it itself).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlparse

from casework._extras import require

require("psycopg", __name__)

import psycopg  # noqa: E402
import pytest  # noqa: E402
from psycopg import sql  # noqa: E402

TEST_POSTGRES_ENV = "CASEWORK_TEST_POSTGRES"
"""A `postgresql://` URL of a server the tests may create and drop databases on."""

BINDIR_ENV = "CASEWORK_PG_BINDIR"
"""Where to find `initdb` and `postgres` when they are not where Debian or `pg_config` put them."""

SUPERUSER = "postgres"
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 15.0

# Throwaway data: never wait for the disk. Enough connections for 20-thread tests and pools.
_FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
    "max_wal_size": "1GB",
    "checkpoint_timeout": "30min",
    "autovacuum": "off",
}


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL binaries were found, or the cluster would not start."""


@dataclass(frozen=True)
class PostgresServer:
    """Where a running PostgreSQL listens, and a role allowed to create databases on it."""

    host: str
    port: int
    user: str
    password: str
    admin_dbname: str = "postgres"

    def url(self, dbname: str, **query: str | int) -> str:
        """A `postgresql://` URL for `dbname`; `query` adds e.g. `pool_size=25`."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        tail = f"?{urlencode(query)}" if query else ""
        return f"postgresql://{auth}@{self.host}:{self.port}/{quote(dbname, safe='')}{tail}"

    def connect(self, dbname: str | None = None) -> psycopg.Connection[Any]:
        """An autocommit connection (CREATE/DROP DATABASE cannot run in a transaction)."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname or self.admin_dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def create_database(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        """Drop even while a forgotten pool still holds connections (PostgreSQL 13+)."""
        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    @classmethod
    def from_url(cls, url: str) -> PostgresServer:
        """The server of a `postgresql://user:password@host:port/db` URL (`db` is the admin db)."""
        parts = urlparse(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(f"{TEST_POSTGRES_ENV} must be a postgresql:// URL, not {url!r}")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or SUPERUSER),
            password=unquote(parts.password or ""),
            admin_dbname=unquote(parts.path.lstrip("/")) or "postgres",
        )


# --------------------------------------------------------------------------- binaries


def find_bindir() -> Path | None:
    """The folder holding `initdb` and `postgres`: $CASEWORK_PG_BINDIR, pg_config, Debian, PATH."""
    candidates: list[Path] = []
    if os.environ.get(BINDIR_ENV):
        candidates.append(Path(os.environ[BINDIR_ENV]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(out.stdout.strip()))

    def major(path: Path) -> int:
        return int(path.parent.name) if path.parent.name.isdigit() else 0

    candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=major, reverse=True))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    return None


def free_port() -> int:
    """A loopback port nobody listens on right now (the caller retries if it loses the race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------- the cluster


@dataclass(frozen=True)
class _RunAs:
    """PostgreSQL refuses to run as root; as root we run it as the `postgres` system user."""

    user: str | None
    uid: int
    gid: int

    @classmethod
    def current(cls) -> _RunAs:
        if os.geteuid() != 0:
            return cls(None, os.getuid(), os.getgid())
        try:
            entry = pwd.getpwnam(SUPERUSER)
        except KeyError:
            raise PostgresUnavailableError(
                "running as root, and PostgreSQL will not run as root: create a 'postgres' "
                "system user or run the tests as an ordinary user"
            ) from None
        return cls(entry.pw_name, entry.pw_uid, entry.pw_gid)

    def popen_kwargs(self) -> dict[str, Any]:
        if self.user is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT: roll back, disconnect clients), escalating if it hangs."""
    for sig, wait in ((signal.SIGINT, SHUTDOWN_TIMEOUT), (signal.SIGQUIT, 5.0)):
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait)
            return
    process.kill()
    process.wait()


def _wait_until_ready(
    process: subprocess.Popen[bytes], server: PostgresServer, log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise PostgresUnavailableError(
                f"postgres exited with {process.returncode}:\n{_tail(log)}"
            )
        try:
            with server.connect() as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise PostgresUnavailableError(
                    f"postgres did not accept connections within {timeout:.0f}s:\n{_tail(log)}"
                ) from None
            time.sleep(0.05)


def _tail(log: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


def _initdb(bindir: Path, root: Path, run_as: _RunAs) -> str:
    """A new cluster in `root/data` (sockets in `root/run`); returns the superuser's password."""
    password = secrets.token_urlsafe(16)
    os.chown(root, run_as.uid, run_as.gid)
    sockets = root / "run"
    sockets.mkdir()
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    for path in (sockets, pwfile):
        os.chown(path, run_as.uid, run_as.gid)
    try:
        subprocess.run(
            [
                str(bindir / "initdb"),
                "--pgdata",
                str(root / "data"),
                "--username",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth-host",
                "scram-sha-256",
                "--auth-local",
                "trust",  # the socket lives in our 0700 temp dir: only we can reach it
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            timeout=120,
            cwd=root,
            **run_as.popen_kwargs(),
        )
    except subprocess.CalledProcessError as error:
        output = error.stdout.decode(errors="replace") if error.stdout else ""
        raise PostgresUnavailableError(f"initdb failed:\n{output}") from error
    pwfile.unlink()
    return password


def _launch(
    bindir: Path, root: Path, run_as: _RunAs, port: int, options: dict[str, str]
) -> subprocess.Popen[bytes]:
    args = [str(bindir / "postgres"), "-D", str(root / "data")]
    args += ["-c", "listen_addresses=127.0.0.1", "-c", f"port={port}"]
    args += ["-c", f"unix_socket_directories={root / 'run'}"]
    for key, value in options.items():
        args += ["-c", f"{key}={value}"]
    with (root / "postgres.log").open("ab") as log_file:
        return subprocess.Popen(
            args,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=root,
            start_new_session=True,  # a Ctrl-C in the terminal is ours to handle
            **run_as.popen_kwargs(),
        )


class PostgresCluster:
    """A throwaway cluster that can be stopped and started again on the same port and data:
    for drills of a store outage (`restartable_postgres`)."""

    def __init__(self, bindir: Path, root: Path, options: dict[str, str]) -> None:
        self.bindir = bindir
        self.root = root
        self.options = options
        self.run_as = _RunAs.current()
        self.process: subprocess.Popen[bytes] | None = None
        self.server: PostgresServer | None = None

    def create(self) -> PostgresServer:
        password = _initdb(self.bindir, self.root, self.run_as)
        for attempt in range(3):
            self.server = PostgresServer("127.0.0.1", free_port(), SUPERUSER, password)
            try:
                self.start()
            except PostgresUnavailableError:
                if attempt == 2 or "could not bind" not in _tail(self.root / "postgres.log"):
                    raise
                continue
            break
        assert self.server is not None
        return self.server

    def start(self) -> None:
        """Start (again) on the same port; returns once it accepts connections."""
        assert self.server is not None
        assert self.process is None
        process = _launch(self.bindir, self.root, self.run_as, self.server.port, self.options)
        try:
            _wait_until_ready(process, self.server, self.root / "postgres.log", STARTUP_TIMEOUT)
        except PostgresUnavailableError:
            _stop(process)
            raise
        self.process = process

    def stop(self) -> None:
        """A fast shutdown, as an operator's `pg_ctl stop -m fast`: clients are disconnected."""
        if self.process is not None:
            _stop(self.process)
            self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@contextlib.contextmanager
def restartable_postgres(bindir: Path | None = None) -> Iterator[PostgresCluster]:
    """`throwaway_postgres`, but the cluster itself, to `stop()` and `start()` at will."""
    bindir = bindir or find_bindir()
    if bindir is None:
        raise PostgresUnavailableError(
            f"no PostgreSQL binaries (initdb, postgres); set {BINDIR_ENV}"
        )
    cluster = PostgresCluster(
        bindir, Path(tempfile.mkdtemp(prefix="casework-pg-")), dict(_FAST_SETTINGS)
    )
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


@contextlib.contextmanager
def throwaway_postgres(
    bindir: Path | None = None,
    *,
    durable: bool = False,
    settings: dict[str, str] | None = None,
) -> Iterator[PostgresServer]:
    """A new PostgreSQL cluster in a temporary folder, stopped by pid and deleted on exit.

    `durable=True` keeps PostgreSQL's default fsync/commit settings (for benchmarks that want
    numbers closer to a real deployment); by default the cluster skips every disk flush.
    Raises `PostgresUnavailableError` when there are no binaries or the cluster will not start.
    """
    bindir = bindir or find_bindir()
    if bindir is None:
        raise PostgresUnavailableError(
            f"no PostgreSQL binaries (initdb, postgres) found; install PostgreSQL, set "
            f"{BINDIR_ENV}, or point {TEST_POSTGRES_ENV} at a server"
        )
    options = {} if durable else dict(_FAST_SETTINGS)
    options.update(settings or {})
    cluster = PostgresCluster(bindir, Path(tempfile.mkdtemp(prefix="casework-pg-")), options)
    try:
        yield cluster.create()
    finally:
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


@contextlib.contextmanager
def fresh_database(server: PostgresServer, **query: str | int) -> Iterator[str]:
    """A new empty database on `server`, as a `CASEWORK_STORE` URL; dropped on exit."""
    name = f"casework_{secrets.token_hex(8)}"
    server.create_database(name)
    try:
        yield server.url(name, **query)
    finally:
        server.drop_database(name)


# --------------------------------------------------------------------------- fixtures


def unavailable(message: str) -> None:
    """Skip the test for want of PostgreSQL; fail it under CI=true, where nothing may skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and PostgreSQL is needed: {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """$CASEWORK_TEST_POSTGRES if set, else a throwaway cluster for the whole session."""
    external = os.environ.get(TEST_POSTGRES_ENV)
    if external:
        yield PostgresServer.from_url(external)
        return
    if find_bindir() is None:
        unavailable(
            f"no PostgreSQL binaries found (set {BINDIR_ENV} or {TEST_POSTGRES_ENV} to run these)"
        )
    with throwaway_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh empty database for this test, as a `postgresql://` URL (`CASEWORK_STORE`).

    Append `?pool_size=N` (see `casework.settings`) when a test runs many threads.
    """
    with fresh_database(postgres_server) as url:
        yield url


STORE_PARAMS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
"""Parameters for a fixture that runs a test on both stores (with the `postgres` marker)."""


def empty_store_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A `CASEWORK_STORE` URL of an empty store of `kind` ("sqlite" or "postgres").

    For a module whose conftest already has a `store_url` of its own (which would hide this
    plugin's), re-declare it there::

        @pytest.fixture(params=STORE_PARAMS)
        def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
            return empty_store_url(request.param, request, tmp_path)
    """
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'cases.db'}"
    if kind == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        return url
    raise ValueError(f"unknown store kind {kind!r}; use 'sqlite' or 'postgres'")


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store, once as a SQLite file and once as a PostgreSQL database."""
    return empty_store_url(request.param, request, tmp_path)
