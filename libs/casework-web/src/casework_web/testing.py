"""Test helpers: an app served for real over loopback HTTP, in a thread of the test's process.

Used by the services' and the libraries' tests that need a real server (a browser, a client's
retries over real sockets, the server's own loop) without a process of its own.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn


@contextmanager
def served_in_thread(
    server: uvicorn.Server, name: str = "server-under-test", start_timeout: float = 30.0
) -> Iterator[int]:
    """`server` run in a thread until the block ends; the port it listens on (its config's, or
    the one the system gave for port 0). No signal handlers are installed in a thread, so it is
    stopped as a signal would stop it (`handle_exit`), then joined; a server that does not stop
    within `start_timeout` fails the test."""
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        assert thread.is_alive(), f"{name} stopped while starting"
        assert time.monotonic() < deadline, f"{name} did not start in {start_timeout:g} s"
        time.sleep(0.02)
    try:
        (listener,) = [s for srv in server.servers for s in srv.sockets]
        yield int(listener.getsockname()[1])
    finally:
        server.handle_exit(signal.SIGTERM, None)
        thread.join(timeout=start_timeout)
        assert not thread.is_alive(), f"{name} did not stop"
