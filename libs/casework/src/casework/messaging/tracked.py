"""Exactly once, the eventsourcing way: a handler's effects and its message's position commit
together, or not at all.

What `Consumer` runs for each message, kept apart from the consumer's NATS loop because it
knows nothing of NATS: a handler gets the parsed event and the `Casework` application, and runs
inside `app.tracking(position)`. The benchmark and tests call it directly. `Outcome` names
what became of a message; `casework.messaging.consumer` re-exports all of these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from eventsourcing.persistence import IntegrityError, Tracking

from casework.application import Casework
from casework.unit_of_work import retrying_on_conflict

E = TypeVar("E")

Handler = Callable[[E, Casework], None]
"""Does the service's work for one event by calling Casework commands; synchronous."""


def position(service: str, stream: str, sequence: int) -> Tracking:
    """The tracking record of `service` having handled message `sequence` of `stream`.

    eventsourcing keeps one row per tracking name and asks "is the recorded id >= this one?",
    which is right for a log followed in order. Here a name per message makes that question
    exact ("was THIS message handled?") whatever order messages arrive in, and a second
    delivery of the same message racing the first clashes on the same row.
    """
    return Tracking(application_name=f"{service}<{stream}#{sequence}", notification_id=sequence)


class Outcome(StrEnum):
    DONE = "done"
    """Handled now: its effects and its position committed together; acked."""
    DUPLICATE = "duplicate"
    """Handled before (the position was recorded): acked, nothing done again."""
    RETRY = "retry"
    """The handler raised; nak'ed with a delay for another attempt."""
    DEAD_LETTERED = "dead_lettered"
    """Malformed, or failed every attempt: filed on the dead-letter subject, then acked."""
    NOT_OURS = "not_ours"
    """A replayed dead letter of another service (`casework dlq replay`): acked, not handled."""
    RETURNED = "returned"
    """Not (or not finished) handled because we are stopping: nak'ed for another replica."""


def handle_tracked(
    app: Casework,
    handler: Handler[E],
    event: E,
    tracking: Tracking,
    conflict_attempts: int = 5,
) -> Outcome:
    """Run `handler` so that its effects and `tracking` commit together, or not at all.

    DUPLICATE when the position is already recorded, also when a second delivery of the same
    message committed first (the tracking rows clash). A clash on a case's version means the
    case changed while the handler decided: run it again on fresh state, a bounded number of
    times. Synchronous: call it from a worker thread.
    """
    outcome, _ = handle_deferring(app, handler, event, tracking, conflict_attempts)
    return outcome


def handle_deferring(
    app: Casework,
    handler: Handler[E],
    event: E,
    tracking: Tracking,
    conflict_attempts: int = 5,
    *,
    position_alone: bool = True,
) -> tuple[Outcome, bool]:
    """`handle_tracked`, and whether the position is still to be recorded: with
    `position_alone` False, a handler that wrote nothing leaves that to the caller, who
    records it (`Casework.record_positions`, a run of them at once) before acknowledging."""
    if app.is_tracked(tracking):
        return Outcome.DUPLICATE, False

    def attempt() -> tuple[Outcome, bool]:
        try:
            with app.tracking(tracking, position_alone=position_alone) as processing:
                handler(event, app)
        except IntegrityError:
            if app.is_tracked(tracking):
                return Outcome.DUPLICATE, False
            raise  # a case changed under the handler: run it again on fresh state
        return Outcome.DONE, not position_alone and not processing.events

    return retrying_on_conflict(
        attempt,
        attempts=conflict_attempts,
        what=f"the cases {tracking.application_name} touches",
    )


@dataclass(frozen=True)
class Handled:
    """What `handle_in_batch` did with one message of a batch."""

    outcome: Outcome
    pending: bool
    """Its handler wrote nothing and its position is not recorded: the caller's to record
    (with the batch's others, or in a later message's transaction) before acknowledging."""
    carried: bool
    """The earlier positions it was given (`also`) were recorded in its transaction."""


def handle_in_batch(
    app: Casework,
    handler: Handler[E],
    event: E,
    tracking: Tracking,
    conflict_attempts: int = 5,
    *,
    first_delivery: bool = False,
    also: Sequence[Tracking] = (),
) -> Handled:
    """`handle_deferring` for a consumer's batch, with two savings that change no outcome.

    `first_delivery` (JetStream delivers the message for the first time): its position is not
    looked up before the handler runs. It can only be recorded already if the durable consumer
    was made again from the stream's start, and then the handler's transaction clashes on the
    position (`IntegrityError`), is found tracked and is a DUPLICATE with nothing written, as a
    racing redelivery is; a handler that writes nothing leaves its position to the caller,
    whose recording clashes the same way. So the lookup, one store read per message, is only
    made for redeliveries, which are the ones likely to be duplicates. What this asks of a
    handler: that running it again on a message already handled has no effect outside the
    store (its effects are the events it saves); one that raises on such a replay costs the
    message a nak, and its redelivery is then looked up and found a DUPLICATE.

    `also`: positions of earlier messages of the batch whose handlers wrote nothing; if this
    handler writes, they are recorded in its transaction (`CaseStore.tracking`), one commit
    fewer. If that transaction clashes, the handler runs again without them (one of them may be
    what clashed: a redelivery handled elsewhere), and they stay the caller's to record.
    """
    if not first_delivery and app.is_tracked(tracking):
        return Handled(Outcome.DUPLICATE, False, False)
    carrying = list(also) if also and app.carries_positions() else []

    def attempt() -> Handled:
        try:
            with app.tracking(tracking, position_alone=False, also=carrying) as processing:
                handler(event, app)
        except IntegrityError:
            if app.is_tracked(tracking):
                return Handled(Outcome.DUPLICATE, False, False)
            carrying.clear()
            raise  # a case changed under the handler (or a carried position): run it again
        wrote = bool(processing.events)
        return Handled(Outcome.DONE, not wrote, wrote and bool(carrying))

    return retrying_on_conflict(
        attempt,
        attempts=conflict_attempts,
        what=f"the cases {tracking.application_name} touches",
    )
