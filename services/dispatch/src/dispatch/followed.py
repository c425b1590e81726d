"""The roster as the store's log tells it, kept in memory by each replica: every member and the
directory, folded from their events as they are recorded.

Hand-written, not an eventsourcing `ProjectionRunner`: it is caught up synchronously before each
decision, skips what it cannot fold, and runs on SQLite, which has no subscriptions (docs/adr/010).

Why: the rule weighs everyone covering the place, and loading each of them from the store for
every decision (a replay of a whole history that grows with every piece of work) cost most of a
decision's time, so dispatch assigned only a few repairs a second with 300 staff on the roster
(docs/BENCHMARKS.md). Following the log costs two small queries per catch-up (the newest id,
then the roster's events after the last one seen) however large the roster is; the second is
skipped when the board, which reads the whole log anyway, has handed the roster its events as
they passed (`offer`): then the roster is already up to the board's position.

Sound because the log is read in commit order: notification ids are committed in order (one
SQLite writer; PostgreSQL's recorder locks the table for inserts), so after `catch_up` the
members here are exactly what a fresh load from the store would give at that moment. Still, it
is the basis of the choice, never of the write: the member chosen is brought up to date inside
the unit of work (`Dispatch.load`: a copy of the member here, plus any events recorded since)
and saved at its next version, so a replica that chose on facts another replica has just
changed clashes and decides again, as it did when every candidate was loaded.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from casework.domain.places import Address
from casework.logs import describe
from casework.projections.skipped import SkippedEvent, event_name
from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from dispatch.domain.member import Member
from dispatch.domain.places import covers
from dispatch.domain.roster import ROSTER_ID, Roster
from dispatch.domain.rule import Candidate

log = logging.getLogger("dispatch.roster")


def _event_topics(aggregate: type) -> list[str]:
    return [
        get_topic(value)
        for value in vars(aggregate).values()
        if isinstance(value, type) and issubclass(value, aggregate.Event)  # type: ignore[attr-defined]
    ]


class FollowedRoster:
    """Members and the directory, folded from the log; thread-safe (a replica's API and its
    consumer read it at once)."""

    def __init__(self, app: Application[UUID], batch: int = 1000) -> None:
        self.app = app
        self.batch = batch
        self.position = 0
        self.members: dict[UUID, Member] = {}
        self.roster: Roster | None = None
        self.topics = tuple(_event_topics(Member) + _event_topics(Roster))
        self._topic_set = frozenset(self.topics)
        self._lock = threading.RLock()
        self._candidates: dict[UUID, tuple[int, Candidate]] = {}
        """Each member as the rule sees them, and the member's version it was made at."""
        self._by_place: tuple[int, dict[str, list[str]]] | None = None
        """Actor ids listed for each place, and the directory's version it was made at."""
        self.skipped: list[SkippedEvent] = []
        """Roster events passed over, oldest first (shown on /readyz)."""

    def catch_up(self, upto: int | None = None) -> None:
        """Fold in the roster's events recorded since the last call: up to the newest recorded
        now, or up to notification `upto` (a position the caller knows is recorded, e.g. the
        board's just after catching up: one query fewer, and both views at the same point)."""
        with self._lock:
            newest = (self.app.recorder.max_notification_id() or 0) if upto is None else upto
            while self.position < newest:
                page = self.app.recorder.select_notifications(
                    start=self.position,
                    limit=self.batch,
                    stop=newest,
                    topics=self.topics,
                    inclusive_of_start=False,
                )
                for notification in page:
                    try:
                        self._fold(self.app.mapper.to_domain_event(notification))
                    except Exception as error:  # the same event fails every retry: go on
                        self._skip(notification, error)
                    self.position = notification.id
                if len(page) < self.batch:
                    break  # nothing more of ours up to `newest`
            self.position = max(self.position, newest)

    def offer(self, after: int, notification: Any) -> None:
        """Fold in `notification`, read by a follower of the whole log (the board) whose
        previous notification was `after`, if it is the next one here: the roster is then up to
        `after` (everything up to it folded) and behind `notification`. What the roster's own
        catch-up would read (its events, in the log's order), without its two queries: a
        `Reported` decided after the board caught up finds the roster there already, and
        `catch_up` reads nothing. A roster behind `after`, or ahead, is left alone."""
        with self._lock:
            if not after <= self.position < notification.id:
                return
            if notification.topic in self._topic_set:
                try:
                    self._fold(self.app.mapper.to_domain_event(notification))
                except Exception as error:  # as in `catch_up`
                    self._skip(notification, error)
            self.position = notification.id

    def _skip(self, notification: Any, error: Exception) -> None:
        """Note a roster event that cannot be read or folded in; the member it concerns stays as
        last folded (and a write that loads them from the store meets the same error)."""
        skipped = SkippedEvent(
            str(notification.originator_id),
            notification.originator_version,
            event_name(notification.topic),
            describe(error),
        )
        self.skipped.append(skipped)
        log.error(
            "the followed roster skipped %s v%s of %s: %s; it goes on with the next event",
            skipped.event,
            skipped.version,
            skipped.case_id,
            skipped.error,
        )

    def _fold(self, event: Any) -> None:
        if event.originator_id == ROSTER_ID:
            self.roster = event.mutate(self.roster)
        else:
            self.members[event.originator_id] = event.mutate(self.members.get(event.originator_id))

    @contextmanager
    def reading(self) -> Iterator[FollowedRoster]:
        """Hold the view still while reading several members (nothing folds in meanwhile)."""
        with self._lock:
            yield self

    def candidate(self, member: Member) -> Candidate:
        """`Candidate.of(member)` for a member folded here, made again only when the member's
        version has moved (every piece of work taken or given back moves it); call it while
        `reading`. A member changed in a unit of work but not recorded is not one of these."""
        made = self._candidates.get(member.id)
        if made is None or made[0] != member.version:
            made = (member.version, Candidate.of(member))
            self._candidates[member.id] = made
        return made[1]

    def covering(self, address: Address) -> list[str]:
        """`Roster.covering(address)` of the directory folded here: actor ids of members listing
        a place that contains the address, sorted. Asked of each distinct place listed (a few
        dozen compounds and buildings) rather than of each member's places (hundreds of
        members); the index is made again when the directory's version moves."""
        roster = self.roster
        if roster is None:
            return []
        if self._by_place is None or self._by_place[0] != roster.version:
            by_place: dict[str, list[str]] = {}
            for actor_id, places in roster.places.items():
                for path in places:
                    by_place.setdefault(path, []).append(actor_id)
            self._by_place = (roster.version, by_place)
        found: set[str] = set()
        for path, actor_ids in self._by_place[1].items():
            if covers(path, address):
                found.update(actor_ids)
        return sorted(found)

    def copy(self, aggregate_id: UUID) -> Member | Roster | None:
        """A private copy of a member (or the directory) as last folded, or None if unknown."""
        with self._lock:
            found: Member | Roster | None = (
                self.roster if aggregate_id == ROSTER_ID else self.members.get(aggregate_id)
            )
            return _private(found) if found is not None else None


def _private(aggregate: Any) -> Any:
    """A copy that can be changed without changing `aggregate`: its attributes, and a new list,
    dict or set for each that is one. Members and the directory hold nothing mutable deeper
    down (their dicts and lists hold frozen `Held`s, events, tuples and strings), so this is
    what `copy.deepcopy` gives, at a fraction of its cost (the chosen member is copied for
    every assignment, and a deep copy of one holding 20 pieces of work was a fifth of it)."""
    duplicate = copy.copy(aggregate)
    for name, value in vars(aggregate).items():
        if isinstance(value, (list, dict, set)):
            setattr(duplicate, name, copy.copy(value))
    return duplicate
