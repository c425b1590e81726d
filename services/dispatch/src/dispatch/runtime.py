"""What one dispatch replica runs besides its HTTP routes, started and stopped together.

- the case feed (`feeds.py`): the durable pull consumer `dispatch` on the CASEWORK stream
  (repairs and leaks), every event handled by `Dispatch.on_case_event` inside the toolkit's
  tracking block, so its effects (an assignment, a load) commit with the message's position;
- the scheduler: every `tick_seconds`, passed deadlines become `Escalated`;
- the calendar: every `tick_seconds`, recurring needs' due occurrences become service tasks
  (the first round, at start, raises those that fell due while nothing ran);
- the drain: every `drain_seconds`, the queue is offered to the roster again.

Any number of replicas may run: they share the durable consumer (JetStream gives each message
to one), and the scheduler and the drain decide on fresh state, so racing replicas record once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from casework.clock import Clock, system_clock
from casework.contracts import CaseEvent
from casework.messaging.background import ConsumerInBackground
from casework.messaging.consumer import Consumer

from dispatch import feeds
from dispatch.application import Dispatch
from dispatch.board import Board
from dispatch.config import Settings
from dispatch.metrics import DispatchMetrics
from dispatch.scheduler import Calendar, Drain, Scheduler, run_periodically

log = logging.getLogger("dispatch")


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
    ) -> Runtime:
        app = Dispatch(settings.store, clock=clock, max_clock_skew=settings.max_clock_skew)
        board = Board(app, scheduled_kinds=settings.scheduled_kinds)
        return cls(
            settings,
            app,
            board,
            Scheduler(app, board),
            Drain(app, board),
            Calendar(app, board),
            metrics if metrics is not None else DispatchMetrics(),
        )

    async def start(self, *, background: bool = True) -> None:
        """Catch the board up, start the consumer (it connects and binds in the background, so
        the app serves while NATS is away), and start the loops (unless `background` is False:
        tests drive the scheduler and the drain by hand on a fake clock)."""
        await asyncio.to_thread(self.board.catch_up)
        await asyncio.to_thread(self.app.followed.catch_up)  # before the first decision needs it
        if self.settings.nats_url is not None:
            self.start_consumer(self.settings.nats_url)
        else:
            log.warning("NATS_URL is not set: dispatch will not see new cases; API only")
        if background:
            self.tasks.append(
                asyncio.create_task(
                    run_periodically(
                        "scheduler", self.scheduler.tick, self.settings.tick_seconds, self.stop
                    ),
                    name="dispatch-scheduler",
                )
            )
            self.tasks.append(
                asyncio.create_task(
                    run_periodically(
                        "calendar", self.calendar.run_once, self.settings.tick_seconds, self.stop
                    ),
                    name="dispatch-calendar",
                )
            )
            self.tasks.append(
                asyncio.create_task(
                    run_periodically(
                        "queue", self.drain.run_once, self.settings.drain_seconds, self.stop
                    ),
                    name="dispatch-queue",
                )
            )

    def start_consumer(self, url: str) -> None:
        self.feed = feeds.start_consumer(
            url, self.app, self.settings.durable, self.settings.ack_wait
        )

    @property
    def consumer(self) -> Consumer[CaseEvent] | None:
        """The bound consumer, or None while it connects (or without NATS)."""
        return self.feed.consumer if self.feed is not None else None

    async def close(self) -> None:
        self.stop.set()
        if self.feed is not None:
            await self.feed.stop()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.app.close()
