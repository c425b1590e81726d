"""Where dispatch hears of case events (ADR 009's case feed): its durable consumer on NATS, or
the store's log.

Every event of a kind dispatch assigns (repair, leak, and any registered kind that names skills:
`ASSIGNABLE_KINDS`) arrives as the contract `casework.contracts.CaseEvent` and goes to
one handler, `Dispatch.on_case_event`, inside a tracking block, so its effects (an assignment,
a load) commit with the event's position, exactly once. Disputes are mediation's.

- **NATS** (`NATS_URL` set): the durable consumer `dispatch` (`DISPATCH_DURABLE`) on stream
  `CASEWORK`, filtered on the server to `case_subjects()`; the relay publishes the contract,
  `parse_contract` reads it back; each message's position is its own tracking record.
- **The store** (no NATS): the library's `casework.messaging.store_feed.StoreFeed` follows the
  notification log in order on a thread and makes each such event into the contract
  the relay would publish (`StoreContracts`, the relay's own piece); the position is the
  tracking record `dispatch-store`, committed with the handler's effects, so a restart (or a
  second replica on the same store) resumes after the last event handled.
"""

from __future__ import annotations

import logging

from casework import Casework
from casework.contracts import CaseEvent
from casework.messaging.background import ConsumerInBackground, consume_in_background
from casework.messaging.consumer import Handler, parse_contract
from casework.messaging.store_feed import StoreFeed

from dispatch.application import ASSIGNABLE_KINDS, Dispatch

log = logging.getLogger("dispatch")


def case_subjects() -> tuple[str, ...]:
    """What dispatch acts on, one subject filter per kind it assigns; disputes are mediation's."""
    return tuple(f"casework.{kind}.>" for kind in ASSIGNABLE_KINDS)


STORE_TRACKING = "dispatch-store"
"""The store feed's position: the tracking name of the last notification it handled."""


def concerns_dispatch(model: type[CaseEvent]) -> bool:
    """Whether events of this contract reach the handler: those of the kinds dispatch assigns
    (`case_subjects`)."""
    return model.model_fields["kind"].default in ASSIGNABLE_KINDS


def handler(app: Dispatch) -> Handler[CaseEvent]:
    """The consumer's handler for `app`: whatever the event, bring the case's assignment in
    line. The consumer opens its tracking block on `app.casework`, which the handler is given."""

    def handle(event: CaseEvent, casework: Casework) -> None:
        assert casework is app.casework
        outcome = app.on_case_event(event)
        if outcome is not None:
            extra = {"case_id": str(event.case_id)}
            if outcome.queued:
                log.info("case %s waits: %s", event.case_id, outcome.why, extra=extra)
            else:
                log.info("case %s assigned to %s", event.case_id, outcome.assigned_to, extra=extra)

    return handle


def start_consumer(
    url: str, app: Dispatch, durable: str, ack_wait: float, linger: float = 0.0
) -> ConsumerInBackground:
    """Connect, bind the durable consumer and run it, all in the background: the app serves
    meanwhile, and `/readyz` says NATS is unreachable until it is connected."""

    return consume_in_background(
        url,
        app.casework,
        handler(app),
        parse_contract,
        service="dispatch",
        durable=durable,
        subjects=case_subjects(),
        ack_wait=ack_wait,
        linger=linger,
    )


def store_feed(app: Dispatch) -> StoreFeed:
    """The case feed without NATS: the store's log, through the same handler."""
    return StoreFeed(app.casework, handler(app), name=STORE_TRACKING, concerns=concerns_dispatch)
