"""The board: open work as the store's notification log tells it, kept in memory per replica.

Hand-written, not an eventsourcing `ProjectionRunner`, for the reasons of docs/adr/010 (SQLite
has no subscriptions; the runner ends at an outage or at an event it cannot decode).

It folds every case event (and every service-task event) onto the aggregates in order, so it
holds each open case's current state without loading any: what the scheduler needs (when each
case's next deadline falls), what the property manager's queue shows (work nobody could take,
with the recorded reason), which leaks wait for a decision at the compound or the community,
and the volunteer service list. Closed cases and finished tasks are dropped.

The scheduler and the queue's drain act through commands that decide on the freshly loaded
case, so a board that lags (or runs on the other replica) costs at most a wasted check, never a
second escalation or assignment. One decision is made on the board's own state: a case waiting
for someone is assigned on a copy caught up to the log (`folded`, in `Assigning._waiting`),
whose save is checked by the case's version like any other (a copy that went stale clashes,
and the retry folds again). At start it is
rebuilt from the whole log; it follows by "greater than the last id seen" (ids can have gaps).
"""

from __future__ import annotations

import copy
import heapq
import itertools
import logging
import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from casework.domain import Case, LeakEmergency, Status, Tier
from casework.logs import describe
from casework.projections.skipped import SkippedEvent, event_name
from casework.topics import is_case_topic
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from dispatch.application import ASSIGNABLE_KINDS, Dispatch, needs_assignment
from dispatch.domain.demand import OPEN_TASK, Demand, ServiceTask, TaskStatus
from dispatch.domain.member import Member

log = logging.getLogger("dispatch.board")

_TASK_PREFIX = get_topic(ServiceTask) + "."
_DEMAND_PREFIX = get_topic(Demand) + "."
_MEMBER_JOINED = get_topic(Member.Joined)
_WORK_COMPLETED = get_topic(Member.WorkCompleted)


@dataclass(frozen=True)
class ServiceEntry:
    """One line of the volunteer service list (志愿服务清单)."""

    member_id: str
    member_role: str
    work_id: str
    work_kind: str
    address: str
    summary: str
    for_whom: tuple[str, ...]
    at: datetime


@dataclass(frozen=True)
class Waiting:
    """Work in the queue: nobody suitable was free (or it was not yet looked at)."""

    work_id: str
    kind: str
    address: str
    since: datetime
    reason: str
    respond_by: datetime | None
    tier: str | None
    priority: str | None
    description: str


class Board:
    @property
    def scheduled_kinds(self) -> Collection[str]:
        """The kinds whose deadlines this board escalates: those named, or (None) every kind
        dispatch assigns, as registered now (`ASSIGNABLE_KINDS`)."""
        return ASSIGNABLE_KINDS.keys() if self._scheduled is None else self._scheduled

    def __init__(
        self,
        app: Dispatch,
        *,
        scheduled_kinds: Iterable[str] | None = None,
        batch: int = 500,
    ) -> None:
        self.app = app
        self._scheduled = None if scheduled_kinds is None else frozenset(scheduled_kinds)
        self.batch = batch
        self.position = 0
        self.cases: dict[UUID, Case] = {}
        self.tasks: dict[UUID, ServiceTask] = {}
        self.demands: dict[UUID, Demand] = {}
        self.queue_reasons: dict[UUID, str] = {}
        self.service_list: list[ServiceEntry] = []
        self._members: dict[UUID, tuple[str, str]] = {}
        self._due: list[tuple[datetime, int, UUID, int]] = []
        self._order = itertools.count()
        self._lock = threading.RLock()
        self.skipped: list[SkippedEvent] = []
        """Events the board could not fold in and passed over, oldest first."""

    # ------------------------------------------------------------- following

    def catch_up(self) -> int:
        """Fold in everything recorded since the last call; how many notifications were read.

        A page shorter than `batch` was everything recorded when it was read: no second query
        to find nothing (dispatch catches the board up before each case event it handles)."""
        read = 0
        roster = self.app.followed  # fed the roster's events as they pass (`FollowedRoster.offer`)
        with self._lock:
            while True:
                page = self.app.casework.recorder.select_notifications(
                    start=self.position, limit=self.batch, inclusive_of_start=False
                )
                for notification in page:
                    if notification.id > self.position:
                        self._apply_or_skip(notification)
                        roster.offer(self.position, notification)
                        self.position = notification.id
                read += len(page)
                if len(page) < self.batch:
                    return read

    @contextmanager
    def current(self, case_id: UUID, since: int | None = None) -> Iterator[Case | None]:
        """The case as the log says it is now (caught up first), held still while it is read;
        None if the board does not hold it (closed, not yet recorded) or skipped any event
        (what it holds may then be behind the store). Read only: never write through it.

        `since`: the case as the board holds it, not caught up first, if that is at its event
        `since` or later (else None): what a case event's handler may answer from when the
        answer is that nothing is to be done (`Assigning._in_line`), without a log read."""
        with self._lock:
            if since is None:
                self.catch_up()
            held = None if self.skipped else self.cases.get(case_id)
            yield held if since is None or (held is not None and held.version >= since) else None

    def folded(self, case_id: UUID) -> Case | None:
        """A private copy of the case caught up to the log, to change and save in a unit of work
        in place of a replay from the store; None as `current` gives it. Its personal values
        are as stored, sealed (the board keeps no plaintext): for a decision that reads none
        (`Assigning.on_case_event` asks only for a case waiting for someone). Caught up first,
        so a unit run again after a clash builds on what the rival recorded."""
        with self._lock:
            self.catch_up()
            case = None if self.skipped else self.cases.get(case_id)
            return copy.deepcopy(case) if case is not None else None

    def forget(self) -> None:
        """After a failed catch-up: nothing to drop, the position moves only past what was folded
        in (`casework.projections.polling.catch_up_after_write` calls this)."""

    def _apply_or_skip(self, notification: Notification) -> None:
        """Fold the event in; one that cannot be read or applied is recorded in `skipped` (and
        logged) and the board goes on with the next: the same event would fail every retry."""
        try:
            self._apply(notification)
        except Exception as error:
            skipped = SkippedEvent(
                str(notification.originator_id),
                notification.originator_version,
                event_name(notification.topic),
                describe(error),
            )
            self.skipped.append(skipped)
            log.error(
                "the board skipped %s v%s of %s: %s; it goes on with the next event",
                skipped.event,
                skipped.version,
                skipped.case_id,
                skipped.error,
                extra={"case_id": skipped.case_id},
            )

    def _apply(self, notification: Notification) -> None:
        topic = notification.topic
        if topic.startswith(_TASK_PREFIX):
            self._fold_task(self.app.casework.mapper.to_domain_event(notification))
        elif topic.startswith(_DEMAND_PREFIX):
            self._fold_demand(self.app.casework.mapper.to_domain_event(notification))
        elif topic == _MEMBER_JOINED:
            event: Any = self.app.casework.mapper.to_domain_event(notification)
            self._members[event.originator_id] = (event.member_actor_id, event.member_role)
        elif topic == _WORK_COMPLETED:
            self._record_service(self.app.casework.mapper.to_domain_event(notification))
        elif is_case_topic(topic):
            self._fold_case(self.app.casework.mapper.to_domain_event(notification))

    def _fold_case(self, event: Any) -> None:
        case_id: UUID = event.originator_id
        known: Any = None
        if not isinstance(event, Aggregate.Created):
            known = self.cases.get(case_id)
            if known is None:
                return  # closed before (nothing follows a close)
        case: Case = event.mutate(known)
        if type(event).__name__ == "QueuedForAssignment":
            self.queue_reasons[case_id] = event.reason
        if case.status is Status.CLOSED:
            self.cases.pop(case_id, None)
            self.queue_reasons.pop(case_id, None)
            return
        self.cases[case_id] = case
        if case.assignee is not None:
            self.queue_reasons.pop(case_id, None)
        if case.KIND in self.scheduled_kinds:
            self._schedule(case, event.timestamp)

    def _fold_task(self, event: Any) -> None:
        task_id: UUID = event.originator_id
        known: Any = None
        if not isinstance(event, Aggregate.Created):
            known = self.tasks.get(task_id)
            if known is None:
                return
        task: ServiceTask = event.mutate(known)
        if type(event).__name__ == "Queued":
            self.queue_reasons[task_id] = event.reason
        if task.status not in OPEN_TASK:
            self.tasks.pop(task_id, None)
            self.queue_reasons.pop(task_id, None)
            return
        self.tasks[task_id] = task

    def _fold_demand(self, event: Any) -> None:
        known: Any = None
        if not isinstance(event, Aggregate.Created):
            known = self.demands.get(event.originator_id)
            if known is None:
                return
        demand: Demand = event.mutate(known)
        if demand.active:
            self.demands[demand.id] = demand
        else:
            self.demands.pop(demand.id, None)

    def _record_service(self, event: Any) -> None:
        actor_id, role = self._members.get(event.originator_id, ("?", "?"))
        self.service_list.append(
            ServiceEntry(
                actor_id,
                role,
                event.work_id,
                event.work_kind,
                event.address,
                event.summary,
                tuple(event.for_whom),
                event.timestamp,
            )
        )

    # ------------------------------------------------------------- deadlines

    def _schedule(self, case: Case, event_time: datetime) -> None:
        """Queue the moment after which this case should be looked at by the scheduler."""
        moments = []
        due = case.escalation_due_at()
        if due is not None:
            moments.append(due)
        if case.escalation_reason(event_time) is not None:  # due already (failed rounds)
            moments.append(event_time)
        if moments:
            entry = (min(moments), next(self._order), case.id, case.version)
            heapq.heappush(self._due, entry)

    def due(self, now: datetime) -> list[UUID]:
        """Cases whose recorded deadline has passed by `now` (each once per state seen)."""
        found: list[UUID] = []
        with self._lock:
            while self._due and self._due[0][0] < now:
                _, _, case_id, version = heapq.heappop(self._due)
                case = self.cases.get(case_id)
                if case is not None and case.version == version and case_id not in found:
                    found.append(case_id)
        return found

    def demands_due(self, now: datetime) -> list[UUID]:
        """Recurring needs with an occurrence due by `now`, as folded here (one pass over the
        active needs per tick: fine for a county's demand list)."""
        with self._lock:
            return sorted(
                (d.id for d in self.demands.values() if d.due_occurrence(now) is not None),
                key=str,
            )

    def retry_later(self, case_id: UUID, at: datetime) -> None:
        """Look at the case again at the next tick after `at` (a check that failed)."""
        with self._lock:
            case = self.cases.get(case_id)
            if case is not None:
                heapq.heappush(self._due, (at, next(self._order), case_id, case.version))

    def next_due(self) -> datetime | None:
        with self._lock:
            return self._due[0][0] if self._due else None

    # ----------------------------------------------------------------- views

    def waiting(self, place: str | None = None) -> list[Waiting]:
        """Work nobody holds yet, oldest first; `place` limits it to a community/compound/…"""
        rows: list[Waiting] = []
        with self._lock:
            for case in self.cases.values():
                if needs_assignment(case) and _within(case.address.path, place):
                    rows.append(
                        Waiting(
                            str(case.id),
                            case.KIND,
                            case.address.path,
                            case.queued_at or case.reported_at,
                            self.queue_reasons.get(case.id, "not yet looked at"),
                            case.respond_by,
                            case.tier.value,
                            case.priority.value,
                            self._opened_description(case),
                        )
                    )
            for task in self.tasks.values():
                if task.status is TaskStatus.REQUESTED and _within(task.address.path, place):
                    rows.append(
                        Waiting(
                            str(task.id),
                            "task",
                            task.address.path,
                            task.queued_at or task.requested_at,
                            self.queue_reasons.get(task.id, "not yet looked at"),
                            task.due_by,
                            None,
                            None,
                            task.description,
                        )
                    )
        return sorted(rows, key=lambda w: (w.since, w.work_id))

    def _opened_description(self, case: Case) -> str:
        """The board folds the store's events as stored, so it holds personal values sealed
        (docs/adr/011) and keeps no plaintext: opened here, for the staff who read the queue,
        `[erased]` once the reporter was erased."""
        opener = self.app.casework.privacy.opener
        return str(opener.open(case.description, case_id=case.id, field="description"))

    def leaks_at(self, tier: Tier, place: str | None) -> list[LeakEmergency]:
        """Leaks still running at this rung: the property manager (compound) may shut the
        riser valve; the community may enter with witnesses."""
        with self._lock:
            return sorted(
                (
                    c
                    for c in self.cases.values()
                    if isinstance(c, LeakEmergency)
                    and c.tier is tier
                    and c.water_stopped_at is None
                    and c.status not in (Status.RESOLVED, Status.CONFIRMED)
                    and _within(c.address.path, place)
                ),
                key=lambda c: (c.reported_at, str(c.id)),
            )

    def services(
        self,
        place: str | None = None,
        member: str | None = None,
        since: datetime | None = None,
    ) -> list[ServiceEntry]:
        with self._lock:
            return [
                e
                for e in self.service_list
                if _within(e.address, place)
                and (member is None or e.member_id == member)
                and (since is None or e.at >= since)
            ]


def _within(path: str, place: str | None) -> bool:
    if place is None:
        return True
    mine = place.split("/")
    return path.split("/")[: len(mine)] == mine
