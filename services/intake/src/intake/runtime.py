"""What one intake replica runs besides its HTTP routes, started and stopped together.

- the front desk (`Intake`): the `Casework` application, the places, the triage rules and the
  case index it lists from and finds matters in (contacts are in the case files, sealed);
- the measures (`MeasuresDesk` over `MeasuresModel`), a second read model of the same events;
- a person's export and erasure (`People`, over the library's `casework.privacy.people`);
- the case feed (`feeds.py`) that keeps both read models current: the durable consumer on NATS
  when `NATS_URL` is set (the read models filled from the store first if they are empty, so an
  upgrade or a lost `intake.db` misses nothing), else a thread following the store's log, which
  a listing also catches up before it reads (`catch_up_read_models`, docs/adr/019). With
  replicas (`INTAKE_READ_MODELS=store`) every replica follows the store's log whole even with
  NATS: a shared durable hands each message to one replica only, which would leave each
  replica's read models with half the cases (docs/adr/013).

Routes reach it as `Rt` (`api/deps.py`); the lifespan (`api/app.py`) builds, starts and closes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from casework import Casework, Clock
from casework.messaging.background import ConsumerInBackground
from casework_web import TokenStore
from casework_web.unapplied import HoldsSkipped

from intake.config import Settings
from intake.feeds import STORE_SOURCE, ReadModels, StoreFeed, start_consumer
from intake.measures.desk import MeasuresDesk
from intake.measures.model import MeasuresModel
from intake.measures.rebuild import backfill
from intake.observability import Metrics
from intake.people import People
from intake.places import Places
from intake.read_model import CaseIndex
from intake.report_thread import ReportThread
from intake.service import Intake
from intake.triage import TriageRules

log = logging.getLogger("intake")


@dataclass
class Runtime:
    settings: Settings
    intake: Intake
    tokens: TokenStore
    metrics: Metrics
    measures: MeasuresDesk
    people: People
    store_feed: StoreFeed | None = None
    """The store feed, when there is no NATS."""
    feed: ConsumerInBackground | None = None
    """The NATS consumer, connected and bound in the background (the app serves meanwhile)."""
    reports: ReportThread = field(init=False)
    """Where `POST /cases` does its store work (`report_thread`), made with the runtime."""

    def __post_init__(self) -> None:
        self.reports = ReportThread(self.intake.app, most_waiting=self.settings.reports_waiting)

    @classmethod
    def build(
        cls, settings: Settings, clock: Clock, metrics: Metrics, tokens: TokenStore
    ) -> Runtime:
        app = Casework(settings.store, clock=clock, max_clock_skew=settings.max_clock_skew)
        index = CaseIndex(settings.db_path)
        intake = Intake(
            app,
            Places.load(settings.places_file),
            TriageRules.load(settings.triage_file),
            index,
            clock,
        )
        model = MeasuresModel(settings.db_path, beside=index)  # one transaction for both
        measures = MeasuresDesk(model, intake.places, clock)
        rt = cls(settings, intake, tokens, metrics, measures, People(app))
        if settings.nats_url is None or settings.read_models == "store":
            rt.store_feed = StoreFeed(app, index, also=[model])
        elif (filled := backfill(app, settings.db_path, index, model)) is not None:
            log.info("measures filled from the store", extra={"events": filled.events})
        return rt

    @property
    def casework(self) -> Casework:
        """The application over the case store (`casework_web.lifespan.running_casework`)."""
        return self.intake.app

    @property
    def source(self) -> str:
        """The name of the case feed's position in the read models."""
        return STORE_SOURCE if self.store_feed is not None else self.settings.durable

    def catch_up_read_models(self) -> None:
        """Before a listing reads the case index: bring the read models up to everything
        stored, so it shows the report its reader just made (and any other writer's), though
        no report catches them up itself (docs/adr/019); if that cannot be done now, the
        listing reads them as they stand (`StoreFeed.catch_up_to_read`). With the NATS consumer
        there is no store feed: the read models are as current as the consumer."""
        if self.store_feed is not None:
            self.store_feed.catch_up_to_read()

    def read_models(self) -> dict[str, HoldsSkipped]:
        """The intake's read models by name (readiness and metrics show what each skipped)."""
        return {"case index": self.intake.index, "measures": self.measures.model}

    async def start(self) -> None:
        """Catch the store feed up and follow the log, or start the NATS consumer."""
        if self.store_feed is not None:
            self.store_feed.catch_up()
            self.store_feed.start(self.settings.feed_poll_seconds)
        else:
            assert self.settings.nats_url is not None
            read_models = ReadModels(self.intake.index, [self.measures.model])
            self.feed = start_consumer(
                self.settings.nats_url, self.intake.app, read_models, self.settings.durable
            )

    async def close(self) -> None:
        if self.feed is not None:
            await self.feed.stop()
        if self.store_feed is not None:
            self.store_feed.stop()
        self.reports.close()
        self.intake.index.close()
        self.measures.model.close()
        self.intake.app.close()
