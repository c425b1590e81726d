"""The deadline scheduler and the queue's drain: time turned into facts, exactly once.

`Scheduler.tick()` asks the board which cases' recorded deadlines have passed by the injected
clock's now, and calls `escalate_if_due` for each. That command decides on the freshly loaded
case inside its own retry loop: two replicas ticking at the same moment record one `Escalated`
(the loser's save clashes, it reloads, finds the case already at the next rung with new
deadlines, and records nothing). A restart rebuilds the board from the log and finds nothing due
that was already escalated, because every escalation recorded the new rung's deadlines. Nothing
here reads the wall clock; with a `FakeClock`, tests move time by hand and call `tick()`.

`Calendar.run_once()` raises the task of each recurring need whose occurrence has fallen due by
the injected clock, through `raise_occurrence_if_due`, which decides on the freshly loaded need:
the task's id is derived from the need and the occurrence and the need's cursor moves in the same
transaction, so two replicas raise each occurrence once, and a restarted one finds the cursor
where the last raise left it. The first run after a start raises the latest occurrence missed
while nothing ran (and records how many earlier ones it passes over).

`Drain.run_once()` offers the queue to the roster again (someone came on duty, finished a job,
joined): the same rule, on fresh state; a case still without anyone records nothing new.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from uuid import UUID

from casework.domain import SYSTEM, CaseworkError
from casework.outages import Outages, repeat_async

from dispatch.application import Dispatch, Outcome, Raised
from dispatch.board import Board

log = logging.getLogger("dispatch.scheduler")


@dataclass(frozen=True)
class Escalation:
    case_id: UUID
    reason: str


class Scheduler:
    def __init__(self, app: Dispatch, board: Board) -> None:
        self.app = app
        self.board = board

    def tick(self, *, caught_up: bool = False) -> list[Escalation]:
        """Escalate every case whose deadline has passed; returns what this replica recorded.
        `caught_up`: the board was caught up just before (`Runtime.on_the_tick`)."""
        if not caught_up:
            self.board.catch_up()
        now = self.app.clock()
        done: list[Escalation] = []
        for case_id in self.board.due(now):
            try:
                reason = self.app.casework.escalate_if_due(case_id, SYSTEM)
            except CaseworkError as error:  # kept clashing, or the case changed shape: retry
                log.warning("escalation check of %s failed, retrying: %s", case_id, error)
                self.board.retry_later(case_id, now)
                continue
            if reason is not None:
                log.info("case %s escalated: %s", case_id, reason, extra={"case_id": str(case_id)})
                done.append(Escalation(case_id, reason))
        if done:
            self.board.catch_up()
        return done


class Calendar:
    def __init__(self, app: Dispatch, board: Board) -> None:
        self.app = app
        self.board = board

    def run_once(self, *, caught_up: bool = False) -> list[Raised]:
        """Raise every recurring need's due occurrence; returns what this replica raised.
        `caught_up`: the board was caught up just before (`Runtime.on_the_tick`)."""
        if not caught_up:
            self.board.catch_up()
        now = self.app.clock()
        raised: list[Raised] = []
        for demand_id in self.board.demands_due(now):
            try:
                done = self.app.raise_occurrence_if_due(demand_id)
            except CaseworkError as error:  # kept clashing, or retired meanwhile: next round
                log.warning("occurrence of need %s not raised, retrying: %s", demand_id, error)
                continue
            if done is not None:
                log.info(
                    "need %s: occurrence of %s raised (%s)",
                    demand_id,
                    done.occurrence.isoformat(),
                    done.outcome.assigned_to or "queued",
                )
                raised.append(done)
        if raised:
            self.board.catch_up()
        return raised


class Drain:
    def __init__(self, app: Dispatch, board: Board) -> None:
        self.app = app
        self.board = board

    def run_once(self) -> list[Outcome]:
        """Offer each waiting piece of work to the roster again; returns the assignments made."""
        self.board.catch_up()
        assigned: list[Outcome] = []
        for waiting in self.board.waiting():
            try:
                outcome = self.app.redispatch(waiting.work_id)
            except CaseworkError as error:
                log.warning("queue: %s could not be offered again: %s", waiting.work_id, error)
                continue
            if outcome is not None and not outcome.queued:
                assigned.append(outcome)
        if assigned:
            self.board.catch_up()
        return assigned


async def run_periodically(name: str, step: object, every: float, stop: asyncio.Event) -> None:
    """Run `step()` (blocking: in a worker thread) every `every` seconds until `stop`; a store
    outage is logged once and ridden out with backoff (`casework.outages.repeat_async`)."""
    assert callable(step)
    await repeat_async(step, every, stop, Outages(f"dispatch {name}", log))
