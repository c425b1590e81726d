"""The case feed: where the service hears of case events, its durable consumer on NATS or the
store's log, and the one handler both hand them to.

Every event arrives as the contract `casework.contracts.CaseEvent`, the model the relay
publishes: parsed from the message on NATS, or made from the stored event by
`casework.contracts.mapping.to_contract`, as the relay makes it. The `Handler` refreshes the
dispute's worklist row from the committed case and then reacts (`reactions.react`), inside the
tracking block that makes the reaction's effects and the event's position one transaction
(docs/adr/004).

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

from casework import Case, Casework, CaseworkError, Dispute
from casework.contracts import CaseEvent, CasePlace, DisputeEvent, model_for_topic, to_contract
from casework.messaging.background import ConsumerInBackground
from casework.messaging.consumer import (
    Consumer,
    SubscriptionSettings,
    handle_tracked,
    parse_contract,
)
from casework.outages import OUTAGES
from casework.projections.polling import Poller
from casework.projections.skipped import event_name
from casework.topics import is_case_topic
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import Tracking
from nats.aio.client import Client

from mediation.reactions import concerns_mediation, react
from mediation.worklist import Worklist

log = logging.getLogger("mediation.feed")

SUBJECTS = ("casework.dispute.>", "casework.leak.cause_recorded.>")
"""What `reactions.concerns_mediation` accepts, as NATS subjects: dispute events, and leak causes
(for damage disputes); never the dead letters."""
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


def short_name(event: CaseEvent) -> str:
    """`meeting_rescheduled` for `casework.dispute.meeting_rescheduled.v1`: the name under which
    the worklist records an event it could not apply."""
    return event.type.split(".")[2]


class Handler:
    """Refresh the worklist, then react; called inside the tracking block."""

    def __init__(self, worklist: Worklist) -> None:
        self.worklist = worklist

    def __call__(self, event: CaseEvent, app: Casework) -> None:
        if isinstance(event, DisputeEvent):
            refresh(app, self.worklist, event.case_id, short_name(event))
        for line in react(event, app):
            log.info(line, extra={"case_id": str(event.case_id)})


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
            handler,
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
    """Follows the store's notification log, in order, through the same handler.

    Only the events that concern mediation are decoded (the topic says which contract an event
    has); each becomes its contract as the relay would publish it. One that cannot be (an event
    from a newer version, or one the contract refuses) is recorded as skipped on the worklist
    and passed, as a consumer dead-letters a message it cannot read."""

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
                    contract = self._contract(notification)
                    if contract is not None:
                        self._handle(contract, Tracking(STORE_TRACKING, notification.id))
                        handled += 1
                    self._position = notification.id

    def _contract(self, notification: Any) -> CaseEvent | None:
        """The notification as its contract, if it concerns mediation; None if not, or if it
        cannot be made (then recorded as skipped, and its position tracked)."""
        topic = notification.topic
        try:
            if not is_case_topic(topic) or not concerns_mediation(model_for_topic(topic)):
                return None
            event = self.app.mapper.to_domain_event(notification)
            return to_contract(event, self._place(event))
        except OUTAGES:
            raise  # the store is away: the poller waits for it and reads this one again
        except Exception as error:  # undecodable: skipped and shown, not a stop
            self.handler.worklist.record_skipped(
                str(notification.originator_id),
                notification.originator_version,
                event_name(topic),
                error,
            )
            with self.app.tracking(Tracking(STORE_TRACKING, notification.id)):
                pass
            return None

    def _place(self, event: Any) -> CasePlace | None:
        """Where the event's case is, from its first event (later events do not repeat it);
        None for the first, which carries it. One read by primary key per event: mediation
        sees a small share of the log, so the relay's cache of places is not worth keeping."""
        if isinstance(event, Case.Opened):
            return None
        first = self.app.recorder.select_events(event.originator_id, lte=1, limit=1)
        if not first:
            raise ValueError(f"case {event.originator_id} has events but no first event")
        return CasePlace.of(self.app.mapper.to_domain_event(first[0]))

    def _handle(self, contract: CaseEvent, tracking: Tracking) -> None:
        try:
            handle_tracked(self.app, self.handler, contract, tracking)
        except CaseworkError as error:
            # The domain refuses this reaction for good: retrying cannot help, and stopping
            # here would hold up every later event. Skip it, as a consumer dead-letters it, and
            # say so.
            log.error(
                "mediation could not react to %s v%s: %s",
                contract.type,
                contract.version,
                error,
                extra={"case_id": str(contract.case_id)},
            )
            with self.app.tracking(tracking):
                pass

    def forget(self) -> None:
        with self._lock:
            self._position = None
