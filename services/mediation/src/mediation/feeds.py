"""The case feed: where the service hears of case events, its durable consumer on NATS or the
store's log, and the one handler both hand them to.

Every event arrives as the contract `casework.contracts.CaseEvent`, the model the relay
publishes: parsed from the message on NATS, or made from the stored event by
`casework.messaging.store_contracts.StoreContracts`, the piece the relay uses. The `Handler`
refreshes the dispute's worklist row from the committed case and then reacts
(`reactions.react`), inside the tracking block that makes the reaction's effects and the
event's position one transaction (docs/adr/004).

- **NATS** (`NATS_URL` set): the durable consumer `mediation` (`MEDIATION_DURABLE`) on stream
  `CASEWORK`, filtered on the server to dispute events and leak causes; per-message tracking,
  retries with backoff, and `casework.dlq.mediation` for what cannot be read or keeps failing
  (the casework consumer toolkit). Run `casework relay` beside it.
- **The store** (no NATS): the library's `casework.messaging.store_feed.StoreFeed` follows the
  notification log in order on a thread, tracking the last notification it handled
  (`mediation-store`) with the reaction's effects, so a restart resumes right after it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from uuid import UUID

from casework import Casework, Dispute
from casework.contracts import CaseEvent, DisputeEvent, UnknownEventTypeError, model_for_topic
from casework.messaging import store_feed as casework_store_feed
from casework.messaging.background import ConsumerInBackground, consume_in_background
from casework.messaging.consumer import parse_contract
from casework.projections.polling import Poller
from casework.projections.skipped import event_name
from casework.sqlite_changes import SqliteChanges
from casework.topics import is_case_topic
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import Notification

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
        worklist.refresh(case, event=event, description=sealed_description(app, case.id))


def sealed_description(app: Casework, case_id: UUID) -> str:
    """The dispute's description as stored (the sealed string, docs/adr/011): what the worklist
    keeps, so that no plaintext personal value sits in its file and an erasure reaches it."""
    (stored,) = app.recorder.select_events(case_id, lte=1)
    reported: Any = app.mapper.to_domain_event(stored)
    return str(reported.description)


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
            worklist.refresh(case, again=True, description=sealed_description(app, case.id))
    worklist.caught_up()
    return len(behind)


class Handler:
    """Refresh the worklist, then react; called inside the tracking block."""

    def __init__(self, worklist: Worklist) -> None:
        self.worklist = worklist

    def __call__(self, event: CaseEvent, app: Casework) -> None:
        if isinstance(event, DisputeEvent):
            refresh(app, self.worklist, event.case_id, event.event_name)
        for line in react(event, app):
            log.info(line, extra={"case_id": str(event.case_id)})


# ------------------------------------------------------------------ NATS


def start_consumer(
    nats_url: str, app: Casework, worklist: Worklist, durable: str
) -> ConsumerInBackground:
    """Connect, bind the durable consumer and run it, all in the background: the app serves
    meanwhile, and `/readyz` says NATS is unreachable until it is connected."""
    return consume_in_background(
        nats_url,
        app,
        Handler(worklist),
        parse_contract,
        service="mediation",
        durable=durable,
        subjects=SUBJECTS,
    )


# ------------------------------------------------------------------ the store


class StoreFeed(casework_store_feed.StoreFeed):
    """The library's store feed (`casework.messaging.store_feed`) with mediation's handler: the
    events that `concerns_mediation`, each as the contract the relay would publish; one that
    cannot be made into it is recorded as skipped on the worklist and passed."""

    def __init__(self, app: Casework, worklist: Worklist, *, batch: int = 200) -> None:
        def unreadable(notification: Notification, error: Exception) -> None:
            worklist.record_skipped(
                str(notification.originator_id),
                notification.originator_version,
                event_name(notification.topic),
                error,
            )

        super().__init__(
            app,
            Handler(worklist),
            name=STORE_TRACKING,
            concerns=concerns_mediation,
            unreadable=unreadable,
            batch=batch,
        )


class WorklistFeed(Poller):
    """The worklist alone, following the store's log: each replica's in full (docs/adr/013).

    With replicas the durable consumer hands each message to one of them, so the reactions
    (the effects, tracked in the store) happen once, but a worklist fed only by the consumer
    would hold half the disputes on each replica. This feed refreshes every dispute named in
    the log from its committed state, so every replica lists them all. Its position is kept in
    memory and starts at 0: a refresh is idempotent per version (`Worklist.refresh`), so
    reading the log again after a restart changes nothing, and no row waits for a reaction.
    """

    thread_name = "mediation-worklist-feed"

    def __init__(self, app: Casework, worklist: Worklist, *, batch: int = 500) -> None:
        self.app = app
        self.worklist = worklist
        self.batch = batch
        self.position = 0
        self._lock = threading.Lock()
        super().__init__()

    def change_signal(self) -> SqliteChanges | None:
        """On a SQLite file: catch up within milliseconds of a commit (`sqlite_changes`), not
        on the next poll."""
        return SqliteChanges.of(self.app)

    def catch_up(self) -> int:
        """Refresh the disputes named since the last call; returns how many rows it refreshed."""
        refreshed = 0
        with self._lock:
            while True:
                page = self.app.recorder.select_notifications(
                    start=self.position, limit=self.batch, inclusive_of_start=False
                )
                if not page:
                    return refreshed
                latest: dict[str, str] = {}  # one refresh per dispute per page
                for notification in page:
                    if _is_dispute_event(notification.topic):
                        latest[str(notification.originator_id)] = event_name(notification.topic)
                for case_id, event in latest.items():
                    refresh(self.app, self.worklist, case_id, event)
                refreshed += len(latest)
                self.position = page[-1].id


def _is_dispute_event(topic: str) -> bool:
    """Whether a stored topic is a dispute's event (one with no contract, from a newer version,
    is not: the consumer's handler dead-letters it, and the worklist cannot show it)."""
    if not is_case_topic(topic):
        return False
    try:
        return issubclass(model_for_topic(topic), DisputeEvent)
    except UnknownEventTypeError:
        return False
