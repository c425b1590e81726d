"""What one dispatch replica runs besides its HTTP routes, started and stopped together.

- the case feed (`feeds.py`): the durable pull consumer `dispatch` on the CASEWORK stream
  (repairs and leaks) when `NATS_URL` is set, else a thread following the store's log; either
  hands every event to `Dispatch.on_case_event` inside a tracking block, so its effects (an
  assignment, a load) commit with the event's position;
- the scheduler: every `tick_seconds`, passed deadlines become `Escalated`;
- the calendar: on the same tick, recurring needs' due occurrences become service tasks
  (the first round, at start, raises those that fell due while nothing ran);
- the drain: every `drain_seconds`, the queue is offered to the roster again.

Any number of replicas may run: they share the durable consumer (JetStream gives each message
to one) or the store feed's position (the first to commit an event's position wins; the other
finds it handled), and the scheduler and the drain decide on fresh state, so racing replicas
record once.

The app's lifespan (`casework_web.lifespan.runtime_lifespan`, in `api/app.py`) builds it,
`start`s it and `close`s it; routes reach it through the `Rt` dependency (`api/deps.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from casework import Casework
from casework.clock import Clock, system_clock
from casework.contracts import CaseEvent
from casework.messaging.background import ConsumerInBackground
from casework.messaging.consumer import Consumer
from casework.messaging.store_feed import StoreFeed
from casework.outages import STORE_DOWN
from casework_web.unapplied import HoldsSkipped, in_memory

from dispatch import feeds
from dispatch.application import Dispatch
from dispatch.board import Board
from dispatch.config import Settings
from dispatch.metrics import DispatchMetrics
from dispatch.scheduler import Calendar, Drain, Scheduler, run_periodically

log = logging.getLogger("dispatch.scheduler")


@dataclass
class Runtime:
    settings: Settings
    app: Dispatch
    board: Board
    scheduler: Scheduler
    drain: Drain
    calendar: Calendar
    metrics: DispatchMetrics = field(default_factory=DispatchMetrics)
    """What the routes count (`dispatch_actions_total`) beside the web standard's metrics."""
    background: bool = True
    """Run the case feed's and the periodic tasks' loops; False: tests drive them by hand."""
    store_feed: StoreFeed | None = None
    """The store's log followed on a thread: the case feed when NATS is not configured."""
    feed: ConsumerInBackground | None = None
    """The NATS consumer, connected and bound in the background (the app serves meanwhile)."""
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        settings: Settings,
        clock: Clock = system_clock,
        metrics: DispatchMetrics | None = None,
        *,
        background: bool = True,
    ) -> Runtime:
        app = Dispatch(settings.store, clock=clock, max_clock_skew=settings.max_clock_skew)
        board = Board(app, scheduled_kinds=settings.scheduled_kinds)
        app.case_view = board  # case events that ask nothing of dispatch skip the case's replay
        metrics = metrics if metrics is not None else DispatchMetrics()
        metrics.queue_length.set_function(lambda: len(board.waiting()))
        return cls(
            settings,
            app,
            board,
            Scheduler(app, board),
            Drain(app, board),
            Calendar(app, board),
            metrics,
            background,
            store_feed=feeds.store_feed(app) if settings.nats_url is None else None,
        )

    @property
    def casework(self) -> Casework:
        """The application over the case store (`casework_web.lifespan.running_casework`)."""
        return self.app.casework

    def read_models(self) -> dict[str, HoldsSkipped]:
        """Dispatch's read models (both in memory) by name: readiness and metrics show what each
        skipped."""
        return {
            "board": in_memory(self.board.skipped),
            "roster": in_memory(self.app.followed.skipped),
        }

    async def start(self) -> None:
        """Catch the board up, start the case feed (the NATS consumer connects and binds in the
        background, so the app serves while NATS is away; the store feed catches up first), and
        start the loops. Unless `background` is False: then the store feed and the loops are
        left to the caller (tests handle case events, tick the scheduler and drain the queue by
        hand on a fake clock)."""
        await asyncio.to_thread(self.board.catch_up)
        await asyncio.to_thread(self.app.followed.catch_up)  # before the first decision needs it
        settings = self.settings
        if settings.nats_url is not None:
            self.feed = feeds.start_consumer(
                settings.nats_url,
                self.app,
                settings.durable,
                settings.ack_wait,
                settings.fetch_linger_seconds,
            )
        elif self.store_feed is not None and self.background:
            await asyncio.to_thread(self.store_feed.catch_up)
            self.store_feed.start(settings.feed_poll_seconds)
        if self.background:
            for name, run, seconds in (
                ("scheduler and calendar", self.on_the_tick, settings.tick_seconds),
                ("queue", self.drain.run_once, settings.drain_seconds),
            ):
                self.tasks.append(
                    asyncio.create_task(
                        run_periodically(name, run, seconds, self.stop), name=f"dispatch-{name}"
                    )
                )

    def on_the_tick(self) -> None:
        """Deadlines, then recurring needs, on one catch-up of the board: one step a tick.

        Why one: as two steps, each was a hop to a worker thread and a read of the log every
        second, idle or not, 0.6 ms of CPU a second each on the 2-core box (issue 16). The
        calendar still runs when the scheduler's round fails for another reason than the store
        (a bug), and the scheduler's error is raised after it; the store away, it is raised at
        once, for `run_periodically` to ride out."""
        self.board.catch_up()
        try:
            self.scheduler.tick(caught_up=True)
        except STORE_DOWN:
            raise
        except Exception:
            try:
                self.calendar.run_once(caught_up=True)
            except Exception:
                log.exception("the calendar's round failed too")
            raise
        self.calendar.run_once(caught_up=True)

    @property
    def consumer(self) -> Consumer[CaseEvent] | None:
        """The bound consumer, or None while it connects (or without NATS)."""
        return self.feed.consumer if self.feed is not None else None

    async def close(self) -> None:
        self.stop.set()
        if self.feed is not None:
            await self.feed.stop()
        if self.store_feed is not None:
            self.store_feed.stop()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.app.close()
