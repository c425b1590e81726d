"""A throwaway PostgreSQL a test may stop and start again, on the same port, with its data.

Outage drills need a real server going away and coming back; the session's `postgres_server`
is shared by every test and must never stop, so a drill makes its own (about a second to
initdb and start). `stop()` is PostgreSQL's fast shutdown (clients are disconnected, nothing
committed is lost); `start()` brings it back where it was. Stopped by pid on exit.

Fixture (register with `pytest_plugins = ["casework.testing.postgres_outage"]`, or import it):
`stoppable_postgres`, function-scoped, skipped without binaries (failed under `CI=true`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from casework.testing.postgres import (
    _FAST_SETTINGS,
    STARTUP_TIMEOUT,
    SUPERUSER,
    PostgresServer,
    PostgresUnavailableError,
    _RunAs,
    _stop,
    _wait_until_ready,
    find_bindir,
    free_port,
    unavailable,
)


class StoppablePostgres:
    """One cluster in a temporary folder; `server` says where it listens while it runs."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.run_as = _RunAs.current()
        self.root = Path(tempfile.mkdtemp(prefix="casework-pg-outage-"))
        os.chown(self.root, self.run_as.uid, self.run_as.gid)
        self.data = self.root / "data"
        self.sockets = self.root / "run"
        self.log = self.root / "postgres.log"
        self.sockets.mkdir()
        os.chown(self.sockets, self.run_as.uid, self.run_as.gid)
        password = secrets.token_urlsafe(16)
        pwfile = self.root / "pwfile"
        pwfile.write_text(password + "\n")
        os.chown(pwfile, self.run_as.uid, self.run_as.gid)
        try:
            subprocess.run(
                [
                    str(bindir / "initdb"),
                    *("--pgdata", str(self.data), "--username", SUPERUSER),
                    *("--pwfile", str(pwfile), "--auth-host", "scram-sha-256"),
                    *("--auth-local", "trust", "--encoding", "UTF8", "--locale", "C"),
                    "--no-sync",
                    "--no-instructions",
                ],
                check=True,
                capture_output=True,
                timeout=120,
                cwd=self.root,
                **self.run_as.popen_kwargs(),
            )
        except subprocess.CalledProcessError as error:
            raise PostgresUnavailableError(f"initdb failed: {error.stdout!r}") from error
        finally:
            pwfile.unlink(missing_ok=True)
        self.server = PostgresServer("127.0.0.1", free_port(), SUPERUSER, password)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start (again) on the same port; returns once it accepts connections."""
        if self.running:
            return
        args = [str(self.bindir / "postgres"), "-D", str(self.data)]
        args += ["-c", "listen_addresses=127.0.0.1", "-c", f"port={self.server.port}"]
        args += ["-c", f"unix_socket_directories={self.sockets}"]
        for key, value in _FAST_SETTINGS.items():
            args += ["-c", f"{key}={value}"]
        with self.log.open("ab") as log_file:
            self.process = subprocess.Popen(
                args,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.root,
                start_new_session=True,
                **self.run_as.popen_kwargs(),
            )
        _wait_until_ready(self.process, self.server, self.log, STARTUP_TIMEOUT)

    def stop(self) -> None:
        """Fast shutdown, by pid; returns once the server has exited (its port is closed)."""
        if self.process is not None:
            _stop(self.process)
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def stoppable_cluster() -> Iterator[StoppablePostgres]:
    """A running `StoppablePostgres`, stopped and deleted on exit (also on failure)."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailableError("no PostgreSQL binaries (initdb, postgres) found")
    cluster = StoppablePostgres(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def stoppable_postgres() -> Iterator[StoppablePostgres]:
    """A cluster of this test's own, running; the test may `stop()` and `start()` it."""
    if find_bindir() is None:
        unavailable("no PostgreSQL binaries found for an outage drill")
    with stoppable_cluster() as cluster:
        yield cluster
