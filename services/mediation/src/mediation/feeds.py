"""Where the service hears of case events: its durable consumer on NATS, or the store's log.

Both hand each event, as a `Notice`, to one `Handler`: it refreshes the dispute's worklist row
from the committed case and then reacts (`reactions.react`), inside the tracking block that makes
the reaction's effects and the event's position one transaction (docs/adr/004).

- **NATS** (`NATS_URL` set): the durable consumer `mediation` (`MEDIATION_DURABLE`) on stream
  `CASEWORK`, filtered on the server to dispute events and leak causes; per-message tracking,
  retries with backoff, and `casework.dlq.mediation` for what cannot be read or keeps failing
  (the casework consumer toolkit). Run `casework relay` beside it.
- **The store** (no NATS): a thread follows the notification log in order, tracking the last
  notification it handled (`mediation-store`), so a restart resumes right after it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from uuid import UUID

from casework import Casework, CaseworkError, Dispute
from casework.contracts import CaseEvent
from casework.messaging.background import ConsumerInBackground
from casework.messaging.consumer import (
    Consumer,
    SubscriptionSettings,
    handle_tracked,
    parse_contract,
)
from casework.projections.polling import Poller
from casework.projections.skipped import event_name
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import Tracking
from nats.aio.client import Client

from mediation.reactions import Notice, concerns_mediation, react
from mediation.worklist import Worklist

log = logging.getLogger("mediation.feed")

SUBJECTS = ("casework.dispute.>", "casework.leak.cause_recorded.>")
"""Dispute events, and leak causes (for damage disputes); never the dead letters."""
STORE_TRACKING = "mediation-store"


def refresh(app: Casework, worklist: Worklist, case_id: str | UUID, event: str = "") -> None:
    """The dispute's row from its committed state (never from a handler's unsaved work)."""
    try:
        case: Any = app.repository.get(UUID(str(case_id)))
    except (AggregateNotFoundError, ValueError):
        return
    if isinstance(case, Dispute):
        worklist.refresh(case, event=event)


def catch_up_schema(app: Casework, worklist: Worklist) -> int:
    """A worklist file from before its people index: each dispute refreshed once from the
    store, before the feeds start. Returns how many were."""
    behind = worklist.behind()
    for case_id in behind:
        try:
            case: Any = app.repository.get(UUID(case_id))
        except (AggregateNotFoundError, ValueError):
            continue
        if isinstance(case, Dispute):
            worklist.refresh(case, again=True)
    worklist.caught_up()
    return len(behind)


class Handler:
    """Refresh the worklist, then react; called inside the tracking block."""

    def __init__(self, worklist: Worklist) -> None:
        self.worklist = worklist

    def __call__(self, notice: Notice, app: Casework) -> None:
        if notice.kind == "dispute":
            refresh(app, self.worklist, notice.case_id, notice.event)
        for line in react(notice, app):
            log.info(line, extra={"case_id": notice.case_id})

    def from_contract(self, contract: CaseEvent, app: Casework) -> None:
        self(Notice.from_contract(contract), app)


# ------------------------------------------------------------------ NATS


def start_consumer(
    nats_url: str, app: Casework, worklist: Worklist, durable: str, **options: Any
) -> ConsumerInBackground:
    """Connect, bind the durable consumer and run it, all in the background: the app serves
    meanwhile, and `/readyz` says NATS is unreachable until it is connected."""
    handler = Handler(worklist)

    def build(nc: Client) -> Consumer[CaseEvent]:
        return Consumer(
            nc,
            app,
            handler.from_contract,
            parse_contract,
            SubscriptionSettings(
                service="mediation",
                durable=durable,
                filter_subjects=SUBJECTS,
                fetch_timeout=0.5,
                **options,
            ),
        )

    feed = ConsumerInBackground(nats_url, "casework-mediation", build)
    feed.start()
    return feed


# ------------------------------------------------------------------ the store


class StoreFeed(Poller):
    """Follows the store's notification log, in order, through the same handler."""

    thread_name = "mediation-store-feed"

    def __init__(self, app: Casework, worklist: Worklist, *, batch: int = 200) -> None:
        self.app = app
        self.handler = Handler(worklist)
        self.batch = batch
        self._position: int | None = None
        self._lock = threading.Lock()
        super().__init__()

    @property
    def position(self) -> int:
        if self._position is None:
            self._position = self.app.process_recorder.max_tracking_id(STORE_TRACKING) or 0
        return self._position

    def catch_up(self) -> int:
        """Handle everything recorded so far; returns how many events concerned mediation."""
        handled = 0
        with self._lock:
            while True:
                page = self.app.recorder.select_notifications(
                    start=self.position, limit=self.batch, inclusive_of_start=False
                )
                if not page:
                    return handled
                for notification in page:
                    try:
                        event = self.app.mapper.to_domain_event(notification)
                    except Exception as error:  # undecodable: skipped and shown, not a stop
                        self.handler.worklist.record_skipped(
                            str(notification.originator_id),
                            notification.originator_version,
                            event_name(notification.topic),
                            error,
                        )
                        with self.app.tracking(Tracking(STORE_TRACKING, notification.id)):
                            pass
                        self._position = notification.id
                        continue
                    notice = Notice.from_domain_event(event)
                    if notice is not None and concerns_mediation(notice):
                        tracking = Tracking(STORE_TRACKING, notification.id)
                        try:
                            handle_tracked(self.app, self.handler, notice, tracking)
                        except CaseworkError as error:
                            # The domain refuses this reaction for good: retrying cannot help,
                            # and stopping here would hold up every later event. Skip it, as a
                            # consumer dead-letters it, and say so.
                            log.error(
                                "mediation could not react to %s %s v%s: %s",
                                notice.kind,
                                notice.event,
                                notice.version,
                                error,
                                extra={"case_id": notice.case_id},
                            )
                            with self.app.tracking(tracking):
                                pass
                        handled += 1
                    self._position = notification.id

    def forget(self) -> None:
        with self._lock:
            self._position = None
