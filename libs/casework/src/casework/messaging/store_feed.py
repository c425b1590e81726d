"""The case feed without NATS: the store's log followed in order, each case event handed on as
its contract, exactly once, to the same handler a service's durable consumer calls.

What mediation and dispatch run when no `NATS_URL` is set (ADR 009's case feed), written once.
Every notification in the log is read in order; one whose contract `concerns` the service is
made into the contract `CaseEvent` the relay would publish for it
(`casework.messaging.store_contracts.StoreContracts`, the relay's own piece) and handed to the
handler inside `app.tracking(...)` (`casework.messaging.tracked.handle_tracked`), so the
handler's effects and the notification's position commit in one transaction: a restart, or a
second replica following the same log under the same name, never handles it twice.

The position is the tracking record `Tracking(name, notification id)`: one name, ids rising,
which is how eventsourcing's `max_tracking_id` reads a log followed in order. Notifications that
do not concern the service are passed without being decoded (the topic says which contract an
event has) and without a record; a restart reads them again and passes them again.

Two kinds of event are passed over rather than stop the feed, as a consumer dead-letters a
message: one that cannot be made into its contract (from a newer version, say), given to
`unreadable` (a read model's `record_skipped`, or a log line) and its position recorded; and
one whose handling the domain refuses for good (`CaseworkError`: retrying cannot help), logged
and its position recorded. An outage, or any other failure, propagates: the `Poller` waits,
forgets the cached position and reads the same notification again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from eventsourcing.persistence import Notification, Tracking

from casework.application import Casework
from casework.contracts import CaseEvent, model_for_topic
from casework.domain.errors import CaseworkError
from casework.messaging.store_contracts import StoreContracts
from casework.messaging.tracked import Handler, Outcome, handle_tracked
from casework.outages import OUTAGES
from casework.projections.polling import Poller
from casework.projections.skipped import event_name
from casework.sqlite_changes import SqliteChanges
from casework.topics import is_case_topic

log = logging.getLogger("casework.feed")

Concerns = Callable[[type[CaseEvent]], bool]
"""Whether events of a contract reach the service (what its NATS subjects filter on)."""
Unreadable = Callable[[Notification, Exception], None]
"""Told of a case event that cannot be made into its contract, before it is passed."""


def log_unreadable(notification: Notification, error: Exception) -> None:
    """The default for `unreadable`: one error line naming the event and why."""
    log.error(
        "case event %s v%s (%s) cannot be read and is passed: %s",
        notification.originator_id,
        notification.originator_version,
        event_name(notification.topic),
        error,
        extra={"case_id": str(notification.originator_id)},
    )


class StoreFeed(Poller):
    """Follows `app`'s notification log under the tracking name `name` (see the module
    docstring); `catch_up` on demand, or every `poll_seconds` on a thread after `start`."""

    def __init__(
        self,
        app: Casework,
        handler: Handler[CaseEvent],
        *,
        name: str,
        concerns: Concerns,
        unreadable: Unreadable = log_unreadable,
        batch: int = 200,
    ) -> None:
        self.app = app
        self.handler = handler
        self.name = name
        self.concerns = concerns
        self.unreadable = unreadable
        self.contracts = StoreContracts(app)
        self.batch = batch
        self.thread_name = f"{name}-feed"
        self._position: int | None = None
        self._lock = threading.Lock()
        super().__init__()

    def change_signal(self) -> SqliteChanges | None:
        """On a SQLite file: catch up within milliseconds of a commit (`sqlite_changes`)."""
        return SqliteChanges.of(self.app)

    @property
    def position(self) -> int:
        """The id of the last notification read (0: none): the recorded position on first use
        and after `forget`, then kept as the feed reads on."""
        if self._position is None:
            self._position = self.app.process_recorder.max_tracking_id(self.name) or 0
        return self._position

    def catch_up(self) -> int:
        """Handle everything recorded so far; returns how many events the handler handled now
        (not those another replica following the log under the same name handled first)."""
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
                        handled += self._handle(contract, Tracking(self.name, notification.id))
                    self._position = notification.id

    def forget(self) -> None:
        with self._lock:
            self._position = None

    def _contract(self, notification: Notification) -> CaseEvent | None:
        """The notification as its contract if it concerns the service; None if it does not,
        or if it cannot be made (then told to `unreadable` and its position recorded)."""
        topic = notification.topic
        try:
            if not is_case_topic(topic) or not self.concerns(model_for_topic(topic)):
                return None
            return self.contracts.of_notification(notification)
        except OUTAGES:
            raise  # the store is away: the poller waits for it and reads this one again
        except Exception as error:  # undecodable: passed and shown, not a stop
            self.unreadable(notification, error)
            self._record(Tracking(self.name, notification.id))
            return None

    def _handle(self, contract: CaseEvent, tracking: Tracking) -> bool:
        """Whether the handler handled it now (its effects and position committed)."""
        try:
            return handle_tracked(self.app, self.handler, contract, tracking) is Outcome.DONE
        except CaseworkError as error:
            # The domain refuses this for good: retrying cannot help, and stopping here would
            # hold up every later event. Pass it, as a consumer dead-letters it, and say so.
            log.error(
                "%s could not handle %s v%s: %s",
                self.name,
                contract.type,
                contract.version,
                error,
                extra={"case_id": str(contract.case_id)},
            )
            self._record(tracking)
            return False

    def _record(self, tracking: Tracking) -> None:
        """The position alone, for an event passed over."""
        if not self.app.is_tracked(tracking):
            with self.app.tracking(tracking):
                pass
