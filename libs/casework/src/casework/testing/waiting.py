"""Waiting for what other processes do: poll a condition instead of sleeping a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

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
