"""The machinery under every `Casework` command: the store, exactly-once handling, the unit of work.

`CaseStore` opens the store (SQLite or PostgreSQL, from the settings), dates commands against
the case's latest event (`dated`), collects a handled message's saves into one transaction with
its tracking position (`tracking`), loads cases (`get_case`, `load`) and runs a change in a
`UnitOfWork` with its retry (`_update`, `run`). The command and query groups build on it
(`casework.application.lifecycle`, `.kinds`, `.auditor`) and `Casework` composes them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Repository,
)
from eventsourcing.domain import MutableOrImmutableAggregate
from eventsourcing.persistence import (
    EventStore,
    ProcessRecorder,
    Recording,
    Tracking,
)
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from casework.application.snapshots import (
    LongCases,
    OpeningSnapshots,
    SnapshotRepository,
    fold_stored,
    take,
)
from casework.clock import Clock, system_clock
from casework.domain.actors import Actor, check_may
from casework.domain.case import Case
from casework.domain.chained import Chained, StoringHook, storing
from casework.domain.errors import (
    CaseNotFoundError,
    InvalidTransitionError,
    ValidationError,
)
from casework.outages import quick_reconnects
from casework.privacy import Privacy, privacy_for, seal_pending
from casework.privacy.reveal import OpeningMapper
from casework.settings import (
    DEFAULT_MAX_CLOCK_SKEW,
    SNAPSHOT_EVERY_ENV,
    clock_skew,
    persistence_env,
    snapshot_every,
    store_url,
)
from casework.settings import max_clock_skew as max_clock_skew_setting
from casework.side_tables import (
    SIDE_WRITES,
    Beside,
    SideWrite,
    SqliteRecorder,
    closing,
    opening,
    writes_beside,
)
from casework.unit_of_work import MAX_ATTEMPTS, UnitOfWork, run_unit

logger = logging.getLogger(__name__)

TCase = TypeVar("TCase", bound=Case)
T = TypeVar("T")

MAX_CLOCK_SKEW = DEFAULT_MAX_CLOCK_SKEW
"""How far behind a case's latest event a writer's clock may be and still have its command
recorded, dated at that latest event (see `Casework.dated`), unless `CASEWORK_MAX_CLOCK_SKEW`
or the `max_clock_skew` argument says otherwise."""

_processing: ContextVar[ProcessingEvent[UUID] | None] = ContextVar(
    "casework_processing", default=None
)
"""The unit of work of the message being handled in this thread or task, if any."""


def _as_uuid(case_id: UUID | str) -> UUID:
    if isinstance(case_id, UUID):
        return case_id
    try:
        return UUID(str(case_id))
    except ValueError:
        raise CaseNotFoundError(f"{case_id!r} is not a case id (a UUID)") from None


class CaseStore(Application[UUID]):
    """The store of case files and how a command reaches it; `Casework` adds the commands."""

    def __init__(
        self,
        store: str | None = None,
        *,
        clock: Clock = system_clock,
        env: Mapping[str, str] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        max_clock_skew: timedelta | None = None,
        read_only: bool = False,
    ) -> None:
        """`max_clock_skew` None: `CASEWORK_MAX_CLOCK_SKEW` (seconds), else 5 s. Read here, with
        the store, so every process that writes (services, relay, CLI) honours it, and a bad
        value stops the process at start instead of surfacing at the first late command.

        `read_only`: for commands that only read (audit, measures, rebuild): a SQLite store must
        exist (`StoreNotFoundError` otherwise) and is opened read-only (`read_only_env`)."""
        skew = (
            max_clock_skew_setting()
            if max_clock_skew is None
            else clock_skew(max_clock_skew, "max_clock_skew")
        )
        url = store or store_url()
        own = persistence_env(url, read_only=read_only)
        settings = {**own, **(env or {})}
        if read_only:  # a caller's env (e.g. shorter timeouts) cannot reopen the store writable
            settings.update(own)
        # Snapshots of long case files (`casework.application.snapshots`); not for a store
        # opened read-only, which may predate them (no table) and cannot make their table.
        self.snapshot_every = 0 if read_only else snapshot_every(env)
        if self.snapshot_every:
            settings["IS_SNAPSHOTTING_ENABLED"] = "y"
        given = {**os.environ, **settings}
        cache = self.AGGREGATE_CACHE_MAXSIZE
        for name in (cache, f"{type(self).name.upper()}_{cache}"):  # eventsourcing reads both
            if given.get(name):
                # Before the store is opened. eventsourcing's aggregate cache would keep a
                # case's opened personal values past the person's erasure (destroying the key
                # must be the end of them), and with fast-forward off it caches what a unit
                # saved, which may be a service's sealed copy.
                raise ValidationError(
                    f"{name} is not supported: a cached case would keep a person's values "
                    f"after their erasure; long cases load from snapshots "
                    f"({SNAPSHOT_EVERY_ENV}) instead. Unset it."
                )
        super().__init__(env=settings)
        quick_reconnects(self.recorder)  # a PostgreSQL back after an outage is used at once
        self.clock = clock
        self.max_attempts = max_attempts
        self.max_clock_skew = skew

    def dated(self, case: Case, at: datetime) -> datetime:
        """The time to record a command on `case` with, given this writer's clock says `at`.

        The domain refuses an event dated before the case's latest (`OutOfOrderError`): an
        auditor must be able to read a case file's order as its time order. Writers on several
        hosts never have quite the same clock, so a command that loses a race to a writer whose
        clock runs a little ahead would find the case's latest event "in its future". Within
        `max_clock_skew` that is the clocks' disagreement, not a fact out of order: the command
        is dated at the case's latest event (the earliest moment consistent with the file, and
        never later than any writer has seen). Further behind than that, the clock is wrong, and
        the command is refused rather than have a broken clock silently rewrite the timeline.
        """
        last = case.last_event_at
        if at < last <= at + self.max_clock_skew:
            return last
        return at

    def construct_recorder(self) -> ProcessRecorder:
        """A process recorder: it stores events like the default one, and can also record, in
        the same transaction, which upstream message they were the effect of (see `tracking`).

        On a fresh PostgreSQL database every process of a stack creates the tables, types and
        functions at once on start; PostgreSQL answers the losers of that race with "tuple
        concurrently updated" or a duplicate in its catalogue. The statements are idempotent,
        so a loser tries again (a bounded number of times) and finds them made.
        """
        return _creating()(self.factory.process_recorder)

    def construct_snapshot_store(self) -> EventStore[UUID]:
        """The snapshot table is created on start too: the same race, the same retry."""
        recorder = _creating()(self.factory.aggregate_recorder, purpose="snapshots")
        return EventStore(mapper=self.mapper, recorder=recorder)

    @property
    def process_recorder(self) -> ProcessRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder

    # ------------------------------------------------------ exactly once

    @contextmanager
    def tracking(
        self,
        tracking: Tracking,
        *,
        position_alone: bool = True,
        also: Sequence[Tracking] = (),
    ) -> Iterator[ProcessingEvent[UUID]]:
        """Handle one upstream message as one transaction: its events and its position together.

        Inside the block, commands do not write: their saves are collected (and later commands
        see the cases as the earlier ones left them). On a clean exit everything collected is
        written with `tracking` in one transaction; the tracking record alone if nothing was —
        unless `position_alone` is False: then a block that collected nothing writes nothing,
        and the caller must record the position itself (`record_positions`, which writes a
        run of them in one transaction) before it acknowledges the message.
        If the position was recorded already (a redelivery raced us) or a case changed under
        us, eventsourcing raises `IntegrityError` and nothing of the block is written; the
        caller asks `is_tracked` to tell the two apart. Nested blocks are refused.

        `also`: positions of earlier messages whose handling wrote nothing (with `position_alone`
        False). If the block writes, they are recorded in its transaction too, so a consumer's
        no-ops cost no commit of their own; if it writes nothing, they are not recorded. Only
        where `carries_positions` says so (else `also` must be empty). One of them recorded
        already fails the whole transaction with `IntegrityError`, as a clash would.
        """
        if also and not self.carries_positions():
            raise TypeError(f"{type(self.recorder).__name__} records no positions beside a save")
        if _processing.get() is not None:
            raise RuntimeError("a tracking block is already open in this context")
        processing: ProcessingEvent[UUID] = ProcessingEvent(tracking=tracking)
        token = _processing.set(processing)
        try:
            yield processing
        finally:
            _processing.reset(token)
        if not processing.events and not position_alone:
            return
        if also and processing.events:
            processing.saved_kwargs[SIDE_WRITES] = (_positions_write(self.recorder, also),)
        recordings = self._record(processing)
        self._take_snapshots(processing)
        self._notify(recordings)

    def carries_positions(self) -> bool:
        """Whether `tracking(..., also=...)` can record other messages' positions in its
        transaction: on SQLite (eventsourcing's recorder, with side writes). Not on PostgreSQL
        yet: its group commit runs several threads' saves in one transaction, where a clash on
        one carried position would have to be told apart from the others'."""
        return isinstance(self.recorder, SqliteRecorder)

    @contextmanager
    def together(self) -> Iterator[Together]:
        """Everything the block's commands save, and the side writes it adds (`Together.also`),
        written in one transaction on a clean exit; nothing if the block raises.

        For a request whose effects and answer must be one commit: a report, the note of who
        took it, and the Idempotency-Key's kept answer (issue 16: one write and one WAL sync
        where there were three); a new person's data key, made to seal their first value, is
        written in the same transaction (`casework.privacy.sql_keys`), so a block that writes
        nothing leaves no key either. Inside the block commands do not write (as in `tracking`),
        `get_case` sees the cases as the block left them, and a clash shows only when the
        block commits: `IntegrityError` (a case changed by another writer meanwhile, a new
        case's id taken, a side write's unique key met), with nothing written — the caller
        decides whether to run the block again. Needs a recorder that takes side writes
        (`casework.side_tables.writes_beside`): eventsourcing's SQLite and PostgreSQL as this
        library configures them. Nested in another block, or in `tracking`, it is refused.
        """
        if _processing.get() is not None:
            raise RuntimeError("a tracking or together block is already open in this context")
        if not writes_beside(self.recorder):
            raise TypeError(f"{type(self.recorder).__name__} takes no side writes")
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        block = Together(processing, getattr(self.recorder, "datastore", None))
        token = _processing.set(processing)
        beside = opening(block)
        try:
            yield block
        finally:
            closing(beside)
            _processing.reset(token)
        if not processing.events and not block.side_writes:
            return
        processing.saved_kwargs[SIDE_WRITES] = tuple(block.side_writes)
        recordings = self._record(processing)
        for done in block.on_commit:
            done()
        self._take_snapshots(processing)
        self._notify(recordings)

    def record_positions(self, trackings: Sequence[Tracking]) -> None:
        """Record the positions of messages whose handling wrote nothing, in one transaction.

        A consumer handles most messages without writing (another service's fact, its own
        event coming back): one commit for a run of them instead of one each. All or none: if
        one position is recorded already (a redelivery raced us), eventsourcing raises
        `IntegrityError` and none of them is written; the caller records them one by one.
        """
        if not trackings:
            return
        recorder: Any = self.process_recorder
        datastore = getattr(recorder, "datastore", None)
        if datastore is None or not hasattr(recorder, "_insert_tracking"):
            for tracking in trackings:  # a recorder we do not know the insides of
                recorder.insert_tracking(tracking)
            return
        # eventsourcing's own SQLite and PostgreSQL recorders: their tracking insert, several
        # times in one of their transactions (the public `insert_tracking` commits each).
        with datastore.transaction(commit=True) as cursor:
            for tracking in trackings:
                recorder._insert_tracking(cursor, tracking)

    def is_tracked(self, tracking: Tracking) -> bool:
        """Whether the message at this position was already handled (its effects recorded)."""
        return self.process_recorder.has_tracking_id(
            tracking.application_name, tracking.notification_id
        )

    def save(
        self,
        *objs: MutableOrImmutableAggregate[UUID] | Any,
        **kwargs: Any,
    ) -> list[Recording[UUID]]:
        """Seal personal values of every new event first, one place for every writer (docs/adr/
        011-personal-data.md): what is stored, chained and published is the sealed state.
        Events recorded inside `sealing` were sealed and hashed as they were recorded; the rest
        are sealed here (`seal_pending`)."""
        for obj in objs:
            if isinstance(obj, Chained) and obj.pending_events:
                seal_pending(obj, self.privacy.sealer)
        processing = _processing.get()
        if processing is None:
            return super().save(*objs, **kwargs)
        processing.collect_events(*objs, **kwargs)
        return []

    # --------------------------------------------------------------- personal data

    def storing_hook(self) -> StoringHook | None:
        """What turns each event a command records into the event to store (sealed, hashed
        once): this store's `Sealer.stored_form`."""
        hook: StoringHook = self.privacy.sealer.stored_form
        return hook

    def sealing(self) -> storing:
        """A block whose events are sealed as they are recorded (`storing_hook`), so each is
        hashed once; `save` would seal them anyway, at the cost of a second hash."""
        return storing(self.storing_hook())

    @property
    def privacy(self) -> Privacy:
        """This store's personal data: its keys, sealing and opening (`casework.privacy`)."""
        made = self.__dict__.get("_casework_privacy")  # kept there by `privacy_for`
        return made if made is not None else privacy_for(self)

    def construct_event_store(self) -> EventStore[UUID]:
        """Events are read with their sealed values opened (`OpeningMapper`): the repository's
        aggregates, `events.get` and the history see plain values, or `[erased]`. What reads
        the stored state as stored (the relay, `verify`) goes through `mapper` and `recorder`."""
        return self._opening_events(allowed=True)

    @cached_property
    def personal_hidden(self) -> Repository[UUID]:
        """A repository that loads aggregates with personal values as `[personal]` (auditors)."""
        return self._opening_repository(allowed=False)

    def _opening_events(self, *, allowed: bool) -> EventStore[UUID]:
        mapper = OpeningMapper(self.mapper, lambda: self.privacy.opener, allowed=allowed)
        return EventStore(mapper=mapper, recorder=self.recorder)

    def construct_repository(self) -> Repository[UUID]:
        """The repository commands load with: events and snapshots opened (`allowed`)."""
        return self._opening_repository(allowed=True, events=self.events)

    def _opening_snapshots(self, *, allowed: bool) -> EventStore[UUID] | None:
        if self.snapshots is None:
            return None
        return OpeningSnapshots(
            self.snapshots,
            lambda: self.privacy.opener,
            allowed=allowed,
            long_cases=self.long_cases,
        )

    @cached_property
    def long_cases(self) -> LongCases:
        """The cases known here to be long enough to have snapshots (`LongCases`)."""
        return LongCases(self.snapshot_every)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """A case file is snapshotted at every `snapshot_every`-th event (after the commit:
        a snapshot that cannot be taken costs only speed, never the command)."""
        every = self.snapshot_every
        if not every or self.snapshots is None:
            return
        for event in processing_event.events:
            version = event.originator_version
            if version % every or not isinstance(
                processing_event.aggregates.get(event.originator_id), Case
            ):
                continue
            try:
                self.take_snapshot(event.originator_id, version=version)
            except Exception as error:  # logged; the case is replayed from its events
                logger.warning(
                    "no snapshot of case %s at version %s: %s", event.originator_id, version, error
                )

    def take_snapshot(
        self, aggregate_id: UUID, version: int | None = None, projector_func: Any = None
    ) -> None:
        """A snapshot folded from the stored (sealed) events, so it holds no plaintext
        personal value (`casework.application.snapshots`)."""
        if self.snapshots is None:
            raise RuntimeError(f"snapshots are off ({SNAPSHOT_EVERY_ENV}=0)")
        stored = self.recorder.select_events(aggregate_id, lte=version)
        aggregate, fields = fold_stored(self.mapper, stored)
        if aggregate is None:
            raise AggregateNotFoundError(aggregate_id)
        self.snapshots.put([take(aggregate, fields)])
        self.long_cases.saw(aggregate_id, aggregate.version)

    def _opening_repository(
        self, *, allowed: bool, events: EventStore[UUID] | None = None
    ) -> Repository[UUID]:
        return SnapshotRepository(
            long_cases=self.long_cases,
            event_store=events or self._opening_events(allowed=allowed),
            snapshot_store=self._opening_snapshots(allowed=allowed),
        )

    # --------------------------------------------------------------- loading

    def pending(self, aggregate_id: UUID) -> Any | None:
        """The aggregate as the open `tracking` block left it, if the block changed it; else None.

        A handler that changes other aggregates besides cases (a service's own, kept in this
        store) builds on these rather than on a fresh load: two objects for one aggregate in one
        unit of work would clash with each other at commit.
        """
        processing = _processing.get()
        return processing.aggregates.get(aggregate_id) if processing is not None else None

    def get_case(
        self, case_id: UUID | str, version: int | None = None, *, personal: bool = True
    ) -> Case:
        """The case as recorded (or after event `version`); `personal` False: personal values
        read `[personal]` (what an auditor is shown)."""
        uid = _as_uuid(case_id)
        processing = _processing.get()
        if processing is not None and version is None and personal:
            pending = processing.aggregates.get(uid)
            if isinstance(pending, Case):
                return pending
        repository = self.repository if personal else self.personal_hidden
        try:
            case: Any = repository.get(uid, version=version)
        except AggregateNotFoundError:
            raise CaseNotFoundError(f"no case file with id {uid}") from None
        if not isinstance(case, Case):
            raise CaseNotFoundError(f"no case file with id {uid}")
        if version is not None and case.version != version:
            raise ValidationError(f"case {uid} has only {case.version} events, not {version}")
        return case

    # -------------------------------------------------------------- plumbing

    def check_may(self, actor: Actor, action: str) -> None:
        """For adapters that want to refuse early (e.g. before parsing a large body)."""
        check_may(actor, action)

    def _update(
        self,
        case_id: UUID | str,
        kind: type[TCase],
        action: Callable[[TCase, datetime], Any],
    ) -> TCase:
        uid = _as_uuid(case_id)

        def change(unit: UnitOfWork) -> TCase:
            case = unit.case(uid)
            if not isinstance(case, kind):
                raise InvalidTransitionError(
                    f"case {uid} is a {case.KIND}; that command is for a {kind.KIND}"
                )
            action(case, unit.at)
            return case

        return self.run(change, what=f"case {uid}")

    def run(self, change: Callable[[UnitOfWork], T], *, what: str = "the work") -> T:
        """Run `change` in a unit of work and save what it changed, retrying on a clash
        (`casework.unit_of_work`); for commands that touch more than one case."""
        with self.sealing():
            return run_unit(lambda: UnitOfWork(self), change, attempts=self.max_attempts, what=what)

    def load(self, aggregate_id: UUID) -> Any | None:
        """Any aggregate of this store as recorded now, or None (what a unit of work loads)."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None


class Together(Beside):
    """An open `CaseStore.together` block: what its commands saved so far (`processing`) and
    the side writes to commit with them (`casework.side_tables.Beside`: `also`, and a new
    person's data key made inside the block)."""

    def __init__(self, processing: ProcessingEvent[UUID], datastore: Any = None) -> None:
        super().__init__(datastore)
        self.processing = processing


def _positions_write(recorder: Any, trackings: Sequence[Tracking]) -> SideWrite:
    """A side write recording `trackings` with the save's cursor (`CaseStore.tracking`)."""

    def write(cursor: Any) -> None:
        for tracking in trackings:
            recorder._insert_tracking(cursor, tracking)

    return write


CREATE_ATTEMPTS = 6
"""How often a process that lost the race to create the store's tables tries again."""


def _creating() -> Retrying:
    """Retries for creating the store's schema (see `construct_recorder`)."""
    return Retrying(
        stop=stop_after_attempt(CREATE_ATTEMPTS),
        wait=wait_random_exponential(multiplier=0.05, min=0.01),
        retry=retry_if_exception(_lost_creation_race),
        reraise=True,
    )


def _lost_creation_race(error: BaseException) -> bool:
    """Whether creating the store's schema failed only because another process was doing it."""
    text = f"{error} {error.__cause__ or ''}".lower()
    return any(
        sign in text
        for sign in (
            "concurrently updated",
            "already exists",
            "duplicate key value",
            "pg_type",
            "__migration__",  # eventsourcing's tracking-table migration marker, also raced
        )
    )
