"""One unit of work and one retry on a version clash, for the library and every service.

A command loads each aggregate it touches once, lets the domain decide, and saves every changed
aggregate in one transaction. When another writer saved one of them first, eventsourcing's
optimistic concurrency raises `IntegrityError`: the whole unit is thrown away and run again on
fresh state (`retrying_on_conflict`), a bounded number of times with a short, jittered,
exponential pause, so racing writers (threads, replicas) end with one consistent outcome.

Retries are tenacity's (as in `casework.outages`); what is the library's own is only what a
clash means here and the error a caller sees when the clashes do not stop.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity import wait_random_exponential as _wait_random_exponential

from casework.domain.case import Case
from casework.domain.errors import CaseNotFoundError, ConcurrencyConflictError

T = TypeVar("T")
U = TypeVar("U", bound="UnitOfWork")

MAX_ATTEMPTS = 8
"""How many times a unit is run before its caller is told the work kept changing."""

CONFLICT_PAUSE = 0.002
"""Seconds: the first retry waits up to this long at random, each next one up to twice that."""


class Host(Protocol):
    """What a unit of work needs of the application it works on (`Casework` is one)."""

    def clock(self) -> datetime: ...

    def dated(self, case: Case, at: datetime) -> datetime: ...

    def pending(self, aggregate_id: UUID) -> Any | None: ...

    def load(self, aggregate_id: UUID) -> Any | None: ...

    def save(self, *objs: Any, **kwargs: Any) -> Any: ...


def retrying_on_conflict(
    attempt: Callable[[], T],
    *,
    attempts: int = MAX_ATTEMPTS,
    what: str = "the work",
    conflict: type[BaseException] | tuple[type[BaseException], ...] = IntegrityError,
) -> T:
    """`attempt()` until it ends without a version clash (`conflict`), at most `attempts`
    times; then `ConcurrencyConflictError` ("<what> kept changing under N attempts")."""
    try:  # the first try without tenacity's machinery: most units never clash (issue 16)
        return attempt()
    except conflict as error:
        if attempts <= 1:
            raise _kept_changing(what, attempts) from error
    time.sleep(random.uniform(0, CONFLICT_PAUSE))
    retrying = Retrying(  # the tries after the first, each pause twice the one before at most
        stop=stop_after_attempt(attempts - 1),
        wait=_wait_random_exponential(multiplier=2 * CONFLICT_PAUSE, max=1.0),
        retry=retry_if_exception_type(conflict),
    )
    try:
        return retrying(attempt)
    except RetryError as error:
        raise _kept_changing(what, attempts) from error.last_attempt.exception()


def _kept_changing(what: str, attempts: int) -> ConcurrencyConflictError:
    return ConcurrencyConflictError(f"{what} kept changing under {attempts} attempts; try again")


def run_unit(
    new_unit: Callable[[], U],
    change: Callable[[U], T],
    *,
    attempts: int = MAX_ATTEMPTS,
    what: str = "the work",
) -> T:
    """Run `change` on a fresh unit and save what it changed, again on a fresh one on a clash."""

    def attempt() -> T:
        unit = new_unit()
        result = change(unit)
        unit.save()
        return result

    return retrying_on_conflict(attempt, attempts=attempts, what=what)


class UnitOfWork:
    """One attempt at a change: every aggregate loaded once, every changed one saved together.

    Inside a consumer's `tracking` block nothing is written until the block commits; the unit
    then builds on the block's pending aggregates (`Casework.pending`), never on a second copy
    (two objects for one aggregate in one unit would clash with each other at commit).
    """

    def __init__(self, app: Host) -> None:
        self.app = app
        self.loaded: dict[UUID, Any] = {}
        self._at: datetime | None = None

    @property
    def at(self) -> datetime:
        """When the change is recorded: the clock, read once, when first needed (after the
        first case is loaded, so a rival's write just before it is seen, not clashed with)."""
        if self._at is None:
            self._at = self.app.clock()
        return self._at

    def add(self, aggregate: Any) -> Any:
        self.loaded[aggregate.id] = aggregate
        return aggregate

    def get(self, aggregate_id: UUID) -> Any | None:
        found = self.peek(aggregate_id)
        if found is None:
            found = self.app.load(aggregate_id)
            if found is None:
                return None
        self.loaded[aggregate_id] = found
        if isinstance(found, Case):
            # A case file never runs backwards: a clock a little behind the case's latest
            # event dates the unit at that event (`Casework.dated`); far behind, it is refused.
            self._at = self.app.dated(found, self.at)
        return found

    def peek(self, aggregate_id: UUID) -> Any | None:
        """The aggregate as this unit (or the open tracking block) has it already, else None."""
        if aggregate_id in self.loaded:
            return self.loaded[aggregate_id]
        return self.app.pending(aggregate_id)

    def case(self, case_id: UUID) -> Case:
        found = self.get(case_id)
        if not isinstance(found, Case):
            raise CaseNotFoundError(f"no case file with id {case_id}")
        return found

    def save(self) -> None:
        changed = [a for a in self.loaded.values() if a.pending_events]
        if changed:
            self.app.save(*changed)
