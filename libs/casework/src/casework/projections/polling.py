"""Following the store's notification log on a background thread.

A service without NATS (the embedded default) keeps its read models and reactions current by
polling the log. The loop never dies of one failure: it logs it, lets the follower forget what
it cached, and tries again at the next poll from the last position the follower recorded.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("casework.projections")


class Poller:
    """Calls `catch_up` every `poll_seconds` on a daemon thread until `stop`."""

    thread_name = "casework-feed"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def catch_up(self) -> int:
        """Apply everything recorded since the last call; how many events mattered."""
        raise NotImplementedError

    def forget(self) -> None:
        """After a failure: drop anything cached, so the next poll starts from what is recorded."""

    def start(self, poll_seconds: float) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(poll_seconds,), name=self.thread_name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self, poll_seconds: float) -> None:
        while not self._stop.is_set():
            try:
                self.catch_up()
            except Exception:  # keep following; the next poll retries
                log.exception("%s failed; retrying in %ss", self.thread_name, poll_seconds)
                self.forget()
            self._stop.wait(poll_seconds)
