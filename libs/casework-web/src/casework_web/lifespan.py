"""Every service's app lifespan, written once (ADR 009): build the runtime, start it, close it.

The runtime (store, case feed, periodic tasks) is built when the app starts, not when it is
made, so that making an app (for its OpenAPI, say) opens nothing. It is kept on
`app.state.runtime`, where routes reach it (`casework_web.dependencies.runtime_of`) and so do
the scrape-time gauges (`casework_web.unapplied.watch_runtime`) and the idempotency records
(`running_casework`); the service logs
"<service> ready" once it has started, naming the store without its password.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from casework.settings import store_place
from eventsourcing.application import Application
from fastapi import FastAPI


class Runs(Protocol):
    """What the lifespan needs of a service's runtime (and `running_casework`, its `casework`)."""

    @property
    def casework(self) -> Application[Any]:
        """The application whose store holds the case files (and the idempotency records)."""

    async def start(self) -> None:
        """Start the case feed and the periodic tasks (they run in the background)."""

    async def close(self) -> None:
        """Stop what `start` started and close the store and the read models."""


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def runtime_lifespan(service: str, build: Callable[[], Runs], store: str) -> Lifespan:
    """The lifespan for `FastAPI(lifespan=...)`: `build()` the runtime, put it on
    `app.state.runtime`, start it, log "<service> ready" (with `store_place(store)`), and close it
    when the app stops, whatever happened meanwhile."""
    log = logging.getLogger(service)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build()
        app.state.runtime = runtime
        await runtime.start()
        log.info("%s ready", service, extra={"store": store_place(store)})
        try:
            yield
        finally:
            await runtime.close()

    return lifespan


def running_casework(app: FastAPI) -> Application[Any] | None:
    """For `casework_web.install(casework=...)`: the running runtime's `casework`, or None before
    the lifespan has built it."""
    runtime: Runs | None = getattr(app.state, "runtime", None)
    return None if runtime is None else runtime.casework
