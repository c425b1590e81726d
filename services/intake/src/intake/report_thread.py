"""The thread a replica on SQLite takes reports in: one, its own, instead of anyio's pool.

`POST /cases` does all its store work in one hop to a thread (the report and its kept answer in
one transaction). On SQLite those transactions are one writer at a time whatever the threads,
so a pool buys no concurrency there; what it costs is anyio's machinery per hop (a cancel scope,
the capacity limiter, the worker's queue; its backend imported on the first request) and a cold
thread now and then. One thread of our own, reached with `loop.run_in_executor`, measured
0.3–0.45 ms of CPU less per report (issue 16).

Not on PostgreSQL: there reports commit side by side on the pool's connections (and group
commit gathers them, ADR 018), which one thread would serialise; they keep anyio's pool.

Overload: in anyio's pool a report that could not have the SQLite file within the store's lock
timeout failed with a 503; one thread with an unbounded queue would instead let reports wait
without end, the latest behind all the others. So the queue is bounded twice: a report arriving
while `most_waiting` wait already is refused at once, and one that waited longer than the store's
lock timeout (`CASEWORK_SQLITE_LOCK_TIMEOUT`) is refused when its turn comes; either way with
nothing of it done (`ReportsBusyError`: 503 and Retry-After; a retry with the same
Idempotency-Key is handled afresh).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from casework.settings import sqlite_lock_timeout
from eventsourcing.sqlite import SQLiteProcessRecorder
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")

log = logging.getLogger("intake")

THREAD_NAME = "intake-reports"

MOST_WAITING = 200
"""Reports that may wait for the thread at once by default (`INTAKE_REPORTS_WAITING`): a
report's store work takes a few ms, so 200 is about a second of work; the next is refused."""

SAID_EVERY = 10.0
"""Seconds between two log lines about refused reports: an overload refuses hundreds a second,
and a line each would bury the log and spend the CPU the replica lacks (each 503 is counted in
`intake_requests_total` as it happens)."""

RETRY_AFTER_SECONDS = 1
"""What a refused report is told to wait: the queue drains in about that."""


class ReportsBusyError(Exception):
    """A report refused before any of it was done: the report thread has more waiting than it
    may hold, or this one waited past the store's lock timeout (503 with Retry-After)."""


class ReportThread:
    """Runs a report's store work: in the replica's own thread on SQLite, else in anyio's pool."""

    def __init__(
        self,
        app: Any,
        *,
        most_waiting: int = MOST_WAITING,
        longest_wait: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.own: ThreadPoolExecutor | None = None
        if isinstance(getattr(app, "recorder", None), SQLiteProcessRecorder):
            self.own = ThreadPoolExecutor(1, thread_name_prefix=THREAD_NAME)
            # Its thread started now, not at the first report: a thread that cannot start (the
            # process at its limit) fails the service's start here, where `submit` would raise
            # with the report's work already queued, to be done later and answered never.
            self.own.submit(int).result()
        self.most_waiting = most_waiting
        self.longest_wait = float(sqlite_lock_timeout()) if longest_wait is None else longest_wait
        """Seconds a report may wait for the thread: as long as a writer waits for the file."""
        self._waiting = 0
        self._counting = threading.Lock()
        self._clock = clock
        self._refused = 0
        """Refusals not yet in the log (`said_refused`)."""
        self._said_at = -math.inf

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` in the thread, with this task's context (as anyio's pool runs it).

        As in anyio's pool, a request cancelled (the client gone, the server stopping) while
        its work still waits for the thread is dropped with nothing done; once the work is
        under way the request waits for it: what the thread commits is done, and the request
        ends after it, not before. `ReportsBusyError` when the queue is full or the work waited too
        long (module docstring)."""
        if self.own is None:
            return await run_in_threadpool(work, *args)
        with self._counting:
            if self._waiting >= self.most_waiting:
                raise ReportsBusyError(
                    f"{self._waiting} reports are already waiting for this replica's store"
                )
            self._waiting += 1
        context = contextvars.copy_context()
        try:
            submitted = self.own.submit(self._started, time.monotonic(), context.run, work, *args)
        except BaseException:  # shut down: not waiting after all
            with self._counting:
                self._waiting -= 1
            raise
        future = asyncio.wrap_future(submitted)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if submitted.cancel():  # still waiting: dropped, never started
                with self._counting:
                    self._waiting -= 1
            else:  # under way, or done
                await asyncio.wait([future])
            raise

    def _started(
        self, queued_at: float, run: Callable[..., T], work: Callable[..., T], *args: Any
    ) -> T:
        """In the thread: out of the queue; refused if it waited too long, else done."""
        with self._counting:
            self._waiting -= 1
        waited = time.monotonic() - queued_at
        if waited > self.longest_wait:
            raise ReportsBusyError(
                f"the report waited {waited:.1f} s for this replica's store, longer than its "
                f"lock timeout ({self.longest_wait:g} s)"
            )
        return run(work, *args)

    @property
    def waiting(self) -> int:
        """Reports waiting for the thread now (not the one under way)."""
        return self._waiting

    def said_refused(self, busy: ReportsBusyError) -> None:
        """Log a refused report: the first at once, then at most one line per `SAID_EVERY`
        seconds, with how many were refused since the line before."""
        with self._counting:
            self._refused += 1
            now = self._clock()
            if now - self._said_at < SAID_EVERY:
                return
            count, self._refused, self._said_at = self._refused, 0, now
        log.warning(
            "%d report%s refused, busy, since the last such line; the last: %s",
            count,
            "" if count == 1 else "s",
            busy,
        )

    def close(self) -> None:
        """Let the work under way finish; take no more."""
        if self.own is not None:
            self.own.shutdown(wait=True)
