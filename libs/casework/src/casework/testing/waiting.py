"""Waiting for what other processes do: poll a condition instead of sleeping a guessed time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 15.0, interval: float = 0.02) -> T:
    """Poll until `check()` is truthy or `timeout` seconds pass; returns its last answer.

    The caller asserts on the answer, so a timeout fails with the caller's own message and the
    last state seen, not a bare "timed out".
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


@contextmanager
def served_without_waiting(
    client: AbstractContextManager[Any], timeout: float = 15.0
) -> Iterator[None]:
    """Enter `client` (a TestClient: its app's lifespan) and fail if that takes over `timeout`:
    the app must serve while a dependency (NATS) is still away. Exits `client` on the way out.

    Entered on a thread, so an app that does wait fails the test instead of hanging it.
    """
    entered = threading.Thread(target=client.__enter__, daemon=True)
    entered.start()
    entered.join(timeout=timeout)
    assert not entered.is_alive(), "the app waited (for NATS?) before serving"
    try:
        yield
    finally:
        client.__exit__(None, None, None)
