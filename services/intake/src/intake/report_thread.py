"""The thread a replica on SQLite takes reports in: one, its own, instead of anyio's pool.

`POST /cases` does all its store work in one hop to a thread (the report and its kept answer in
one transaction, then the read models caught up). On SQLite those transactions are one writer
at a time whatever the threads, so a pool buys no concurrency there; what it costs is anyio's
machinery per hop (a cancel scope, the capacity limiter, the worker's queue; its backend
imported on the first request) and a cold thread now and then. One thread of our own,
reached with `loop.run_in_executor`, measured 0.3–0.45 ms of CPU less per report (issue 16).

Not on PostgreSQL: there reports commit side by side on the pool's connections (and group
commit gathers them, ADR 018), which one thread would serialise; they keep anyio's pool.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from eventsourcing.sqlite import SQLiteProcessRecorder
from starlette.concurrency import run_in_threadpool

T = TypeVar("T")

THREAD_NAME = "intake-reports"


class ReportThread:
    """Runs a report's store work: in the replica's own thread on SQLite, else in anyio's pool."""

    def __init__(self, app: Any) -> None:
        self.own: ThreadPoolExecutor | None = None
        if isinstance(getattr(app, "recorder", None), SQLiteProcessRecorder):
            self.own = ThreadPoolExecutor(1, thread_name_prefix=THREAD_NAME)

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """`work(*args)` in the thread, with this task's context (as anyio's pool runs it).

        As in anyio's pool, a request cancelled (the client gone, the server stopping) while
        its work still waits for the thread is dropped with nothing done; once the work is
        under way the request waits for it: what the thread commits is done, and the request
        ends after it, not before."""
        if self.own is None:
            return await run_in_threadpool(work, *args)
        context = contextvars.copy_context()
        submitted = self.own.submit(context.run, work, *args)
        future = asyncio.wrap_future(submitted)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if not submitted.cancel():  # under way, or done
                await asyncio.wait([future])
            raise

    def close(self) -> None:
        """Let the work under way finish; take no more."""
        if self.own is not None:
            self.own.shutdown(wait=True)
