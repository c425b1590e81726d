"""Feeding the case index and the measures from the CASEWORK stream on NATS.

The intake's durable consumer (`INTAKE_DURABLE`, default `intake-case-index`) reads the public
contract models the relay publishes, turns each into a `Fact` and applies it to the case index
and to the measures read model. The toolkit records each handled message in the store (exactly
once); both read models are idempotent per case version besides, so a redelivery never counts
twice (and one that failed half-way is applied where it is missing). An event that arrives
before its predecessor (a redelivery overtaken by a later message) raises `GapError`: the
toolkit naks it and it is applied once the earlier one is in.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from casework import Casework
from casework.contracts import CaseEvent, parse_event
from casework.messaging.background import ConsumerInBackground
from casework.messaging.consumer import Consumer, SubscriptionSettings
from nats.aio.client import Client
from nats.aio.msg import Msg

from intake.read_model import Fact

if TYPE_CHECKING:
    from intake.api import Runtime

log = logging.getLogger("intake.feed")

CASE_SUBJECTS = ("casework.repair.>", "casework.leak.>", "casework.dispute.>")
"""Case events only: dead letters (`casework.dlq.>`) may share the stream and are not ours."""
_ENVELOPE = frozenset(CaseEvent.model_fields)
_MODEL_NAME = re.compile(r"^(Repair|Leak|Dispute)(?P<event>[A-Za-z]+?)V\d+$")


def fact_from_contract(event: CaseEvent) -> Fact:
    """`LeakWaterStoppedV1` -> a `WaterStopped` fact, with the payload fields as its data."""
    match = _MODEL_NAME.match(type(event).__name__)
    if match is None:
        raise ValueError(f"{type(event).__name__} is not a case event model")
    data = {k: v for k, v in event.model_dump().items() if k not in _ENVELOPE}
    return Fact(
        case_id=str(event.case_id),
        version=event.version,
        name=match.group("event"),
        kind=event.kind,
        at=event.occurred_at,
        actor_id=event.actor_id,
        tier=event.tier,
        data=data,
    )


def parse_message(msg: Msg) -> tuple[CaseEvent, int]:
    """The contract model, and the message's stream sequence (the index shows how far it read)."""
    event_type = (msg.headers or {}).get("ce-type")
    return parse_event(msg.data, event_type), msg.metadata.sequence.stream


async def start_nats_feed(rt: Runtime) -> None:
    """Connect, bind the durable consumer and run it, in the background until shutdown: the
    app serves meanwhile, and `/readyz` says NATS is unreachable until it is connected."""
    assert rt.settings.nats_url is not None
    index = rt.intake.index
    source = rt.settings.durable

    def handle(message: tuple[CaseEvent, int], app: Casework) -> None:
        event, sequence = message
        fact = fact_from_contract(event)
        index.apply([fact], source, sequence)
        if rt.measures is not None:
            rt.measures.model.apply([fact], source, sequence)

    def build(nc: Client) -> Consumer[tuple[CaseEvent, int]]:
        return Consumer(
            nc,
            rt.intake.app,
            handle,
            parse_message,
            SubscriptionSettings(
                service="intake",
                durable=source,
                filter_subjects=CASE_SUBJECTS,
                fetch_timeout=0.5,
            ),
        )

    rt.feed = ConsumerInBackground(rt.settings.nats_url, "casework-intake", build)
    rt.feed.start()


async def stop_nats_feed(rt: Runtime) -> None:
    if rt.feed is not None:
        await rt.feed.stop()
