"""Riding out outages of the store (PostgreSQL, SQLite) and of NATS, and failing fast in one-shots.

Long-running parts (the relay, every consumer, the schedulers, the read-side followers) never exit
because a dependency is unreachable. Each keeps an `Outages` watch: an error that means "the
store / NATS cannot be reached" (`STORE_DOWN`, `NATS_DOWN`) is logged ONCE when the part first
sees it (down), the work is retried with a capped, jittered exponential backoff (tenacity), and
one line is logged when it works again (up, with how long it was down). Nothing else is logged per
retry, so a long outage does not flood the logs. Any other error is not an outage and is left to
the caller (a bug should be seen).

The backoff starts at `INITIAL_BACKOFF` seconds and doubles up to 80 % of the cap,
`CASEWORK_OUTAGE_BACKOFF_MAX` seconds (default 5; an environment variable of this module, read
when a retry loop is built), plus up to 20 % of the cap at random so replicas do not retry in
step: never more than the cap, which bounds how long a part takes to notice a dependency is back.

Services connect to NATS through `connect_nats` (reconnects for ever, one line each way instead
of nats-py's traceback per attempt). `quick_reconnects` makes psycopg's pool try a returned
PostgreSQL at once instead of after its own doubling delay.

One-shot commands (`casework relay --once`, `dlq`, `history`, `verify`, `anchors`) must not
wait: they call `check_store` / `connect_nats_once`, which give up within `ONE_SHOT_TIMEOUT`
seconds with `UnreachableError`, one line naming the host:port, which the `casework` script
prints as such (exit 1).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from eventsourcing.persistence import InterfaceError, OperationalError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    wait_exponential,
    wait_random,
)
from tenacity.wait import wait_base

from casework._extras import require
from casework.logs import describe
from casework.settings import persistence_env, store_url
from casework.unreachable import UnreachableError as UnreachableError  # lives apart: see there

if TYPE_CHECKING:
    from nats.aio.client import Client

log = logging.getLogger("casework.outages")


def _psycopg_errors() -> tuple[type[BaseException], ...]:
    """psycopg's "cannot reach" errors when casework[postgres] is installed; without it no
    PostgreSQL store can be opened, so none of them can be raised (the core runs on SQLite)."""
    try:
        import psycopg
    except ImportError:
        return ()
    return (psycopg.OperationalError, psycopg.InterfaceError)


def _nats_errors() -> tuple[type[BaseException], ...]:
    """nats-py's "cannot reach" errors with casework[nats] installed (else none can be raised)."""
    try:
        import nats.errors
        import nats.js.errors
    except ImportError:
        return ()
    return (
        nats.errors.ConnectionClosedError,
        nats.errors.ConnectionReconnectingError,
        nats.errors.NoServersError,
        nats.errors.StaleConnectionError,
        nats.errors.OutboundBufferLimitError,
        nats.errors.FlushTimeoutError,
        nats.errors.NoRespondersError,
        nats.errors.TimeoutError,
        nats.js.errors.ServiceUnavailableError,  # JetStream not answering (starting again)
        nats.js.errors.NoStreamResponseError,  # no stream leader: a cluster electing a new one
    )


STORE_DOWN: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    *_psycopg_errors(),
)
"""What eventsourcing and psycopg raise when the store cannot be reached (a pool timeout, a
refused or broken connection, a locked SQLite file)."""

NATS_DOWN: tuple[type[BaseException], ...] = (
    *_nats_errors(),
    TimeoutError,
    ConnectionError,  # refused, reset, aborted, broken pipe
    socket.gaierror,  # a name that does not resolve (yet)
)
"""What nats-py raises when NATS cannot be reached or does not answer in time. Only these: a
JetStream API error (a deleted consumer, a bad request) or any other OSError is not an outage
and must surface, not be retried for ever as "NATS unreachable"."""

OUTAGES = STORE_DOWN + NATS_DOWN

BACKOFF_ENV = "CASEWORK_OUTAGE_BACKOFF_MAX"
DEFAULT_BACKOFF_MAX = 5.0
INITIAL_BACKOFF = 0.2
ONE_SHOT_TIMEOUT = 8.0
"""Seconds a one-shot command gives a dependency before it says it is unreachable."""


class StoppedError(Exception):
    """Raised out of a retry loop when its part was asked to stop while waiting."""


def backoff_max() -> float:
    """`CASEWORK_OUTAGE_BACKOFF_MAX` in seconds (a positive number), else 5."""
    given = os.environ.get(BACKOFF_ENV, "").strip()
    try:
        value = float(given) if given else DEFAULT_BACKOFF_MAX
    except ValueError:
        value = DEFAULT_BACKOFF_MAX
    return value if value > 0 else DEFAULT_BACKOFF_MAX


def backoff(maximum: float | None = None) -> wait_base:
    """Exponential from `INITIAL_BACKOFF`, capped at 80 % of the cap, plus up to 20 % jitter."""
    cap = maximum if maximum is not None else backoff_max()
    return wait_exponential(multiplier=INITIAL_BACKOFF, max=cap * 0.8) + wait_random(0, cap * 0.2)


def dependency_of(error: BaseException) -> str | None:
    """ "store" or "NATS" when `error` means that dependency is unreachable, else None."""
    if isinstance(error, STORE_DOWN):
        return "store"
    if isinstance(error, NATS_DOWN):
        return "NATS"
    return None


class Outages:
    """One part's view of its dependencies: each state change logged once (see the docstring)."""

    def __init__(self, part: str, logger: logging.Logger | None = None) -> None:
        self.part = part
        self.log = logger or log
        self._since: dict[str, float] = {}
        self._lock = threading.Lock()
        self.outages = 0
        """How many outages this part has seen begin (for tests and metrics)."""

    def is_down(self, dependency: str) -> bool:
        return dependency in self._since

    @property
    def down(self) -> tuple[str, ...]:
        return tuple(self._since)

    def failed(self, error: BaseException) -> bool:
        """Note `error`; True when it is an outage (logged if it starts one), False otherwise."""
        dependency = dependency_of(error)
        if dependency is None:
            return False
        with self._lock:
            if dependency in self._since:
                return True
            self._since[dependency] = time.monotonic()
            self.outages += 1
        self.log.warning(
            "%s: %s unreachable (%s); retrying with backoff (at most %.1f s apart) until it "
            "is back",
            self.part,
            dependency,
            describe(error),
            backoff_max(),
            extra={"dependency": dependency, "dependency_state": "down"},
        )
        return True

    def recovered(self, *dependencies: str) -> None:
        """The work that needed `dependencies` (all, if none named) went through: log each
        one that was down as up again."""
        with self._lock:
            back = [
                (name, since)
                for name, since in self._since.items()
                if not dependencies or name in dependencies
            ]
            for name, _ in back:
                del self._since[name]
        for name, since in back:
            self.log.warning(
                "%s: %s reachable again after %.1f s; resumed",
                self.part,
                name,
                time.monotonic() - since,
                extra={"dependency": name, "dependency_state": "up"},
            )

    # -------------------------------------------------------------- retry loops

    def _before_sleep(self, state: RetryCallState) -> None:
        assert state.outcome is not None
        error = state.outcome.exception()
        if error is not None:
            self.failed(error)

    def retrying(
        self, stop: asyncio.Event | None = None, on: tuple[type[BaseException], ...] = OUTAGES
    ) -> AsyncRetrying:
        """`async for attempt in outages.retrying(stop): with attempt: ...`: the block again
        after each outage error, backing off, until it goes through; `StoppedError` if `stop`
        is set meanwhile. Call `recovered()` after it."""

        async def sleep(seconds: float) -> None:
            if stop is None:
                await asyncio.sleep(seconds)
                return
            try:
                await asyncio.wait_for(stop.wait(), seconds)
            except TimeoutError:
                return
            raise StoppedError

        return AsyncRetrying(
            sleep=sleep,
            wait=backoff(),
            retry=retry_if_exception_type(on),
            before_sleep=self._before_sleep,
            reraise=True,
        )

    def retrying_sync(
        self, stop: threading.Event | None = None, on: tuple[type[BaseException], ...] = OUTAGES
    ) -> Retrying:
        """`retrying` for a worker thread; `stop` is a `threading.Event`."""

        def sleep(seconds: float) -> None:
            if stop is None:
                time.sleep(seconds)
            elif stop.wait(seconds):
                raise StoppedError

        return Retrying(
            sleep=sleep,
            wait=backoff(),
            retry=retry_if_exception_type(on),
            before_sleep=self._before_sleep,
            reraise=True,
        )

    def call_sync(
        self,
        work: Callable[[], Any],
        stop: threading.Event | None = None,
        on: tuple[type[BaseException], ...] = STORE_DOWN,
    ) -> Any:
        """`work()` until it goes through, riding out outages of the store (by default); any
        other error (a bad setting) is raised at once."""
        result: Any = None
        for attempt in self.retrying_sync(stop, on):
            with attempt:
                result = work()
        self.recovered()
        return result


POOL_RECONNECT_TIMEOUT = 5.0


def quick_reconnects(recorder: object) -> None:
    """Let a PostgreSQL store be noticed back soon after an outage of any length.

    psycopg's pool retries a lost connection with a doubling delay for 5 minutes (its
    `reconnect_timeout`, which eventsourcing does not expose), so after an outage of N seconds
    it could take about N more to try again. With a few seconds, a slot whose reconnecting
    failed is given up and the next request for a connection starts a fresh attempt (the parts'
    own backoff paces those requests). SQLite has no pool: nothing to do.
    """
    pool = getattr(getattr(recorder, "datastore", None), "pool", None)
    if pool is not None and hasattr(pool, "reconnect_timeout"):
        pool.reconnect_timeout = POOL_RECONNECT_TIMEOUT


# ------------------------------------------------------------------ one-shot commands


def store_address(env: dict[str, str]) -> str | None:
    """host:port of a PostgreSQL store from its eventsourcing settings; None for SQLite."""
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        return None
    return f"{env.get('POSTGRES_HOST', '127.0.0.1')}:{env.get('POSTGRES_PORT', '5432')}"


def one_shot_store_env(env: dict[str, str]) -> dict[str, str]:
    """eventsourcing settings that make a one-shot command's store calls give up quickly."""
    if env.get("PERSISTENCE_MODULE") != "eventsourcing.postgres":
        return {}
    return {"POSTGRES_CONNECT_TIMEOUT": str(int(ONE_SHOT_TIMEOUT // 2) or 1)}


def one_shot_env() -> dict[str, str]:
    """For a one-shot command's `Casework(env=...)`: checks first that the store named by
    `CASEWORK_STORE` answers (`UnreachableError` within `ONE_SHOT_TIMEOUT` if not), then
    shortens the pool's wait so a store lost midway fails the command soon too."""
    url = store_url()
    if not url.startswith(("postgresql://", "postgres://")):
        return {}  # SQLite: nothing to reach (and nothing to create here)
    env = persistence_env(url)
    check_store(env)
    return one_shot_store_env(env)


def check_store(env: dict[str, str], timeout: float = ONE_SHOT_TIMEOUT) -> None:
    """Raise `UnreachableError` unless the PostgreSQL store named by `env` answers within
    `timeout` seconds (SQLite: nothing to check)."""
    address = store_address(env)
    if address is None:
        return
    require("psycopg", "a PostgreSQL store")
    import psycopg

    try:
        with psycopg.connect(
            host=env.get("POSTGRES_HOST", "127.0.0.1"),
            port=env.get("POSTGRES_PORT", "5432"),
            user=env.get("POSTGRES_USER", "postgres"),
            password=env.get("POSTGRES_PASSWORD", ""),
            dbname=env.get("POSTGRES_DBNAME", "postgres"),
            connect_timeout=max(1, int(timeout)),
        ) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as error:
        reason = " ".join(str(error).split()).split(": ")[-1][:200] or type(error).__name__
        raise UnreachableError(
            f"the store (PostgreSQL at {address}) is unreachable: {reason}"
        ) from None


def nats_address(url: str) -> str:
    """`host:port` of each server in `url` (never the user or password a URL may carry)."""
    shown = []
    for server in url.split(","):
        parts = urlparse(server.strip() if "://" in server else f"nats://{server.strip()}")
        shown.append(f"{parts.hostname or '127.0.0.1'}:{parts.port or 4222}")
    return ",".join(shown)


async def connect_nats_once(url: str, timeout: float = ONE_SHOT_TIMEOUT, **options: Any) -> Client:
    """A NATS connection for a one-shot command, or `UnreachableError` within `timeout` s.

    nats-py retries a first connect for ever unless `max_reconnect_attempts` is positive (0 and
    -1 alike loop), so it is 1 here (two tries), no reconnecting afterwards, and the whole
    attempt is bounded by `timeout` besides.
    """
    require("nats", "casework.outages.connect_nats_once")
    import nats

    from casework.messaging.nats_users import client_options, servers

    seen: list[Exception] = []

    async def remember(error: Exception) -> None:  # the one line below says it all
        seen.append(error)

    options = {
        **client_options(),
        "connect_timeout": max(1, int(timeout / 3)),
        "allow_reconnect": False,
        "max_reconnect_attempts": 1,
        "reconnect_time_wait": 0.2,
        "error_cb": remember,
        **options,
    }
    try:
        return await asyncio.wait_for(nats.connect(servers(url), **options), timeout)
    except NATS_DOWN as error:  # socket.gaierror is an OSError
        cause = seen[-1] if seen else error
        raise UnreachableError(
            f"NATS at {nats_address(url)} is unreachable: {describe(cause)}"
        ) from None


# ------------------------------------------------------------------ periodic work


def repeat(
    step: Callable[[], object],
    seconds: float,
    stop: threading.Event,
    outages: Outages,
    *,
    on_error: Callable[[], None] | None = None,
    wait: Callable[[float], object] | None = None,
) -> None:
    """Call `step()` every `seconds` until `stop` (on a thread of its own); for pollers and
    schedulers, which need the store only. A store outage is ridden out with backoff (logged
    once, and once when over); any other error is logged with its traceback and the step runs
    again next round. `on_error` runs after every failure (e.g. to drop a cache). `wait(seconds)`
    waits between rounds (default `stop.wait`; a follower may return early on a commit); after a
    failure that is not an outage the wait is the full `seconds` (`stop.wait`), so a step that
    keeps failing logs its traceback once a round, not on every commit."""
    while not stop.is_set():
        failed = False
        try:
            for attempt in outages.retrying_sync(stop, STORE_DOWN):
                with attempt:
                    try:
                        step()
                    except Exception:
                        if on_error is not None:
                            on_error()
                        raise
            outages.recovered()
        except StoppedError:
            return
        except Exception:  # not an outage: a bug to see; the next round tries again
            outages.log.exception("%s failed; trying again in %.1f s", outages.part, seconds)
            failed = True
        (stop.wait if failed or wait is None else wait)(seconds)


async def repeat_async(
    step: Callable[[], object], seconds: float, stop: asyncio.Event, outages: Outages
) -> None:
    """`repeat` for an event loop: the blocking `step()` runs in a worker thread."""
    while not stop.is_set():
        try:
            async for attempt in outages.retrying(stop, STORE_DOWN):
                with attempt:
                    await asyncio.to_thread(step)
            outages.recovered()
        except StoppedError:
            return
        except Exception:  # not an outage: a bug to see; the next round tries again
            outages.log.exception("%s failed; trying again in %.1f s", outages.part, seconds)
        try:
            await asyncio.wait_for(stop.wait(), seconds)
        except TimeoutError:
            continue


async def connect_nats(url: str, name: str, **options: Any) -> Client:
    """A NATS connection for a long-running part: it reconnects for ever, and says so once
    per outage (nats-py's default would log a traceback for every reconnect attempt).

    The first connect also waits for ever (nats-py retries it while reconnecting is allowed
    with no limit): a part started before NATS waits for it instead of exiting.
    """
    require("nats", "casework.outages.connect_nats")
    import nats
    import nats.errors

    from casework.messaging.nats_users import client_options, servers

    outages = Outages(name, log)

    async def on_error(error: Exception) -> None:
        if not outages.failed(error):
            log.warning("%s: NATS error: %s", name, describe(error))

    held: list[Client] = []

    async def on_disconnected() -> None:
        if held and (held[0].is_closed or held[0].is_draining):
            return  # closed by its owner: not an outage
        outages.failed(nats.errors.ConnectionClosedError())

    async def on_reconnected() -> None:
        outages.recovered("NATS")

    settings: dict[str, Any] = {
        **client_options(),
        "name": name,
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 1.0,
        "error_cb": on_error,
        "disconnected_cb": on_disconnected,
        "reconnected_cb": on_reconnected,
        **options,
    }
    nc = await nats.connect(servers(url), **settings)
    held.append(nc)
    outages.recovered("NATS")
    return nc
