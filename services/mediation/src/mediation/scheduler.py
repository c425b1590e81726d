"""The scheduler: time turned into facts on the disputes that need it.

Every `scheduler_seconds` it asks the worklist which open disputes have a deadline passed, a
commitment past its due date, or enough failed rounds, and for each one calls the library's
race-safe commands: `escalate_if_due` (one rung, automatic, with the case file's reason) and
`check_back_commitments` (each commitment falls due once: `CommitmentFellDue`, and the mediator
is asked to check it back). Both decide on the freshly loaded case, so two schedulers (two
replicas) record each fact once. Nothing here reads the wall clock: the clock is injected.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from casework import Casework, CaseworkError, Clock
from casework.domain.ladder import FAILED_ROUNDS_BEFORE_ESCALATION
from casework.logs import describe
from casework.outages import OUTAGES, Outages, repeat

from mediation.feeds import refresh
from mediation.reactions import MEDIATION
from mediation.worklist import Worklist, utc

log = logging.getLogger("mediation.scheduler")


@dataclass
class Tick:
    """What one pass did: escalations by case (with the reason), check-backs by case."""

    escalated: dict[str, str] = field(default_factory=dict)
    fell_due: dict[str, list[int]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


class Scheduler:
    def __init__(self, app: Casework, worklist: Worklist, clock: Clock) -> None:
        self.app = app
        self.worklist = worklist
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing: set[str] = set()

    def tick(self) -> Tick:
        now = self.clock()
        stamp = utc(now) or ""
        done = Tick()
        for row in self.worklist.due(now):
            try:
                if (row.escalation_due_at and row.escalation_due_at <= stamp) or (
                    row.failed_rounds_at_tier >= FAILED_ROUNDS_BEFORE_ESCALATION
                ):
                    reason = self.app.escalate_if_due(row.case_id, MEDIATION)
                    if reason:
                        done.escalated[row.case_id] = reason
                if row.next_commitment_due and row.next_commitment_due <= stamp:
                    marked = self.app.check_back_commitments(row.case_id, MEDIATION)
                    if marked:
                        done.fell_due[row.case_id] = marked
                refresh(self.app, self.worklist, row.case_id)
            except CaseworkError as error:  # e.g. closed meanwhile: say so, go on with the rest
                done.failed[row.case_id] = str(error)
                log.warning("scheduler: %s", error, extra={"case_id": row.case_id})
                refresh(self.app, self.worklist, row.case_id)
            except OUTAGES:
                raise  # the whole round waits for the store (`repeat` logs it once each way)
            except Exception as error:  # one dispute's fault must not stop the rest of the round
                done.failed[row.case_id] = describe(error)
                if row.case_id not in self._failing:  # once per dispute, not once per round
                    self._failing.add(row.case_id)
                    log.exception("scheduler: dispute skipped", extra={"case_id": row.case_id})
            else:
                self._failing.discard(row.case_id)  # if it fails again later, say so again
        for case_id, reason in done.escalated.items():
            log.info("escalated automatically: %s", reason, extra={"case_id": case_id})
        for case_id, marked in done.fell_due.items():
            log.info("commitments fell due: %s", marked, extra={"case_id": case_id})
        return done

    def start(self, seconds: float) -> None:
        self._thread = threading.Thread(
            target=self._run, args=(seconds,), name="mediation-scheduler", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self, seconds: float) -> None:
        """Tick every `seconds`; a store outage is logged once and ridden out with backoff."""
        if not self._stop.wait(seconds):
            repeat(self.tick, seconds, self._stop, Outages("mediation scheduler", log))
