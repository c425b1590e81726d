"""Where dispatch hears of case events: its durable consumer on NATS (ADR 009's case feed).

Every repair and leak event arrives as the contract `casework.contracts.CaseEvent` (the relay
publishes it, `parse_contract` reads it back) and goes to one handler, `Dispatch.on_case_event`,
inside the consumer toolkit's tracking block, so its effects (an assignment, a load) commit
with the message's position, exactly once. Disputes are mediation's, so they are filtered out
on the server.

Without NATS dispatch hears nothing (API only): unlike intake and mediation it does not yet
follow the store's log instead, which would be a third copy of their store feeds; that waits
for one store feed in the library.
"""

from __future__ import annotations

import logging

from casework import Casework
from casework.contracts import CaseEvent
from casework.messaging.background import ConsumerInBackground, consume_in_background
from casework.messaging.consumer import Handler, parse_contract

from dispatch.application import Dispatch

log = logging.getLogger("dispatch")

CASE_SUBJECTS = ("casework.repair.>", "casework.leak.>")
"""What dispatch acts on; disputes are mediation's."""


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


def start_consumer(url: str, app: Dispatch, durable: str, ack_wait: float) -> ConsumerInBackground:
    """Connect, bind the durable consumer and run it, all in the background: the app serves
    meanwhile, and `/readyz` says NATS is unreachable until it is connected."""

    return consume_in_background(
        url,
        app.casework,
        handler(app),
        parse_contract,
        service="dispatch",
        durable=durable,
        subjects=CASE_SUBJECTS,
        ack_wait=ack_wait,
    )
