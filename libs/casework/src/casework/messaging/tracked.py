"""Exactly once, the eventsourcing way: a handler's effects and its message's position commit
together, or not at all.

What `Consumer` runs for each message, kept apart from the consumer's NATS loop because it
knows nothing of NATS: a handler gets the parsed event and the `Casework` application, and runs
inside `app.tracking(position)`. The benchmark and tests call it directly. `Outcome` names
what became of a message; `casework.messaging.consumer` re-exports all of these.
"""

from __future__ import annotations

from collections.abc import Callable
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
