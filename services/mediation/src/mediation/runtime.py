"""What one mediation replica runs besides its HTTP routes, started and stopped together.

- the `Casework` application (the only writer of case files) and the `Desk` of use cases on it;
- the worklist (`worklist.py`), the mediators' read model, in its own SQLite file;
- the case feed (`feeds.py`): the durable NATS consumer `mediation` when `NATS_URL` is set,
  otherwise a thread following the store's log; either hands every case event, as the contract
  `CaseEvent`, to the one handler that refreshes the worklist and reacts;
- with replicas (`MEDIATION_READ_MODELS=store`), beside the consumer, the worklist feed: every
  replica's worklist follows the store's log whole, since the shared durable gives each message
  to one replica (docs/adr/013);
- the scheduler: every `scheduler_seconds`, deadlines and commitments due become facts.

The app's lifespan (`api/app.py`) builds it, `start`s it and `close`s it; routes reach it
through the `Rt` dependency (`api/deps.py`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from casework import Casework, Clock, system_clock
from casework.messaging.background import ConsumerInBackground
from casework_web.unapplied import HoldsSkipped

from mediation.config import Settings
from mediation.feeds import StoreFeed, WorklistFeed, catch_up_schema, start_consumer
from mediation.scheduler import Scheduler
from mediation.service import Desk
from mediation.worklist import Worklist

log = logging.getLogger("mediation")


@dataclass
class Runtime:
    settings: Settings
    app: Casework
    worklist: Worklist
    desk: Desk
    scheduler: Scheduler
    store_feed: StoreFeed | None = None
    """The store's log followed on a thread: the case feed when NATS is not configured."""
    feed: ConsumerInBackground | None = None
    """The NATS consumer, connected and bound in the background (the app serves meanwhile)."""
    worklist_feed: WorklistFeed | None = None
    """The worklist following the store's log beside the consumer (replicas)."""

    @classmethod
    def build(cls, settings: Settings, clock: Clock = system_clock) -> Runtime:
        app = Casework(settings.store, clock=clock, max_clock_skew=settings.max_clock_skew)
        worklist = Worklist(settings.db_path)
        return cls(
            settings=settings,
            app=app,
            worklist=worklist,
            desk=Desk(app, worklist),
            scheduler=Scheduler(app, worklist, clock),
            store_feed=StoreFeed(app, worklist) if settings.nats_url is None else None,
            worklist_feed=(
                WorklistFeed(app, worklist)
                if settings.nats_url is not None and settings.read_models == "store"
                else None
            ),
        )

    @property
    def casework(self) -> Casework:
        """The application over the case store (`casework_web.lifespan.running_casework`)."""
        return self.app

    def read_models(self) -> dict[str, HoldsSkipped]:
        """Mediation's read models by name (readiness and metrics show what each skipped)."""
        return {"worklist": self.worklist}

    async def start(self) -> None:
        """Bring an older worklist file up to its schema, start the case feed (the store's log
        is caught up first, so the first listing is current), then the scheduler (unless
        `scheduler_seconds` is 0: tests tick it by hand on a fake clock)."""
        settings = self.settings
        if caught_up := catch_up_schema(self.app, self.worklist):
            log.info("worklist indexed anew", extra={"disputes": caught_up})
        if self.store_feed is not None:
            self.store_feed.catch_up()
            self.store_feed.start(settings.feed_poll_seconds)
        else:
            assert settings.nats_url is not None
            self.feed = start_consumer(settings.nats_url, self.app, self.worklist, settings.durable)
        if self.worklist_feed is not None:
            self.worklist_feed.catch_up()
            self.worklist_feed.start(settings.feed_poll_seconds)
        if settings.scheduler_seconds > 0:
            self.scheduler.start(settings.scheduler_seconds)

    async def close(self) -> None:
        self.scheduler.stop()
        if self.feed is not None:
            await self.feed.stop()
        if self.store_feed is not None:
            self.store_feed.stop()
        if self.worklist_feed is not None:
            self.worklist_feed.stop()
        self.worklist.close()
        self.app.close()
