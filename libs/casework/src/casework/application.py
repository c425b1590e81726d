"""The Casework application: the only writer of case files, and the auditor's reader.

Services call these commands with plain values and an `Actor`; they never build events or write
SQL. Each command loads the case, lets the domain decide, and saves; when another command on the
same case won the race (eventsourcing's optimistic concurrency raises `IntegrityError`), it
reloads and decides again, a bounded number of times: one `UnitOfWork` and one retry
(`casework.unit_of_work`) for the library and the services alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import MutableOrImmutableAggregate
from eventsourcing.persistence import (
    ProcessRecorder,
    Recording,
    Tracking,
)
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from casework.audit import Anchor, HistoryEntry, VerifyResult, history_entry, verify_events
from casework.clock import Clock, system_clock
from casework.domain.actors import Actor, check_may
from casework.domain.case import Case
from casework.domain.dispute import Dispute
from casework.domain.errors import (
    CaseNotFoundError,
    InvalidTransitionError,
    TamperedError,
    ValidationError,
)
from casework.domain.leak import LeakEmergency
from casework.domain.places import Address, Tier
from casework.domain.repair import Repair
from casework.domain.windows import check_as_of
from casework.outages import quick_reconnects
from casework.settings import DEFAULT_MAX_CLOCK_SKEW, clock_skew, persistence_env, store_url
from casework.settings import max_clock_skew as max_clock_skew_setting
from casework.topics import is_case_topic
from casework.unit_of_work import MAX_ATTEMPTS, UnitOfWork, run_unit

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


class Casework(Application[UUID]):
    """Case files as event streams, one per case; see the module docstring."""

    name = "casework"

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
        retrying = Retrying(
            stop=stop_after_attempt(CREATE_ATTEMPTS),
            wait=wait_random_exponential(multiplier=0.05, min=0.01),
            retry=retry_if_exception(_lost_creation_race),
            reraise=True,
        )
        return retrying(self.factory.process_recorder)

    @property
    def process_recorder(self) -> ProcessRecorder:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder

    # ------------------------------------------------------ exactly once

    @contextmanager
    def tracking(
        self, tracking: Tracking, *, position_alone: bool = True
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
        """
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
        recordings = self._record(processing)
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
        processing = _processing.get()
        if processing is None:
            return super().save(*objs, **kwargs)
        processing.collect_events(*objs, **kwargs)
        return []

    # ------------------------------------------------------------- reporting

    def report_repair(
        self,
        actor: Actor,
        address: str,
        description: str,
        category: str = "other",
        priority: str = "routine",
        channel: str = "phone",
    ) -> UUID:
        case = Repair.report(
            actor, self.clock(), Address.parse(address), description, category, priority, channel
        )
        self.save(case)
        return case.id

    def report_leak(
        self,
        actor: Actor,
        address: str,
        description: str,
        source_unit: str,
        *,
        source_unoccupied: bool = False,
        reaches_other_flat: bool = False,
        channel: str = "phone",
    ) -> UUID:
        case = LeakEmergency.report(
            actor,
            self.clock(),
            Address.parse(address),
            description,
            source_unit,
            source_unoccupied=source_unoccupied,
            reaches_other_flat=reaches_other_flat,
            channel=channel,
        )
        self.save(case)
        return case.id

    def report_dispute(
        self,
        actor: Actor,
        address: str,
        description: str,
        category: str,
        parties: list[str] | None = None,
        *,
        tier: Tier | str | None = None,
        priority: str = "routine",
        channel: str = "phone",
    ) -> UUID:
        start = Tier(tier) if tier is not None else None
        case = Dispute.report(
            actor,
            self.clock(),
            Address.parse(address),
            description,
            category,
            parties,
            tier=start,
            priority=priority,
            channel=channel,
        )
        self.save(case)
        return case.id

    def add_reporter(self, case_id: UUID | str, actor: Actor, channel: str = "phone") -> None:
        self._update(case_id, Case, lambda c, at: c.add_reporter(actor, at, channel))

    # ------------------------------------------------------ shared lifecycle

    def acknowledge(self, case_id: UUID | str, actor: Actor, note: str = "") -> None:
        self._update(case_id, Case, lambda c, at: c.acknowledge(actor, at, note))

    def assign(self, case_id: UUID | str, actor: Actor, assignee: Actor, why: str) -> None:
        self._update(case_id, Case, lambda c, at: c.assign(actor, at, assignee, why))

    def accept_assignment(self, case_id: UUID | str, actor: Actor) -> None:
        self._update(case_id, Case, lambda c, at: c.accept_assignment(actor, at))

    def queue_for_assignment(self, case_id: UUID | str, actor: Actor, why: str) -> None:
        self._update(case_id, Case, lambda c, at: c.queue_for_assignment(actor, at, why))

    def decline_assignment(self, case_id: UUID | str, actor: Actor, reason: str) -> None:
        self._update(case_id, Case, lambda c, at: c.decline_assignment(actor, at, reason))

    def escalate(self, case_id: UUID | str, actor: Actor, reason: str) -> None:
        self._update(case_id, Case, lambda c, at: c.escalate(actor, at, reason))

    def escalate_if_due(self, case_id: UUID | str, actor: Actor) -> str | None:
        """The scheduler's command: climb one rung, automatically, if the case says it is due.

        Decided on the freshly loaded case inside the retry loop, so two schedulers racing on one
        case record one escalation: the loser reloads, finds nothing due, and records nothing.
        """
        decided: list[str] = []

        def decide(case: Case, at: datetime) -> None:
            decided.clear()
            reason = case.escalation_reason(at)
            if reason is not None:
                case.escalate(actor, at, reason, automatic=True)
                decided.append(reason)

        self._update(case_id, Case, decide)
        return decided[0] if decided else None

    def resolve(self, case_id: UUID | str, actor: Actor, summary: str) -> None:
        self._update(case_id, Case, lambda c, at: c.resolve(actor, at, summary))

    def confirm_resolution(self, case_id: UUID | str, actor: Actor) -> None:
        self._update(case_id, Case, lambda c, at: c.confirm_resolution(actor, at))

    def reopen(self, case_id: UUID | str, actor: Actor, reason: str) -> None:
        self._update(case_id, Case, lambda c, at: c.reopen(actor, at, reason))

    def rate_satisfaction(
        self, case_id: UUID | str, actor: Actor, score: int, comment: str = ""
    ) -> None:
        self._update(case_id, Case, lambda c, at: c.rate_satisfaction(actor, at, score, comment))

    def record_return_visit(self, case_id: UUID | str, actor: Actor, note: str) -> None:
        self._update(case_id, Case, lambda c, at: c.record_return_visit(actor, at, note))

    def close_case(self, case_id: UUID | str, actor: Actor, reason: str = "") -> None:
        self._update(case_id, Case, lambda c, at: c.close_case(actor, at, reason))

    def add_note(self, case_id: UUID | str, actor: Actor, text: str) -> None:
        self._update(case_id, Case, lambda c, at: c.add_note(actor, at, text))

    def link_cases(
        self, case_id: UUID | str, other_id: UUID | str, actor: Actor, relation: str
    ) -> None:
        """Both case files record the link, in one transaction."""
        first, second = _as_uuid(case_id), _as_uuid(other_id)

        def change(unit: UnitOfWork) -> None:
            a, b = unit.case(first), unit.case(second)
            a.link(actor, unit.at, second, relation)
            b.link(actor, unit.at, first, relation)

        self.run(change, what=f"case {first}")

    # ---------------------------------------------------------------- repair

    def start_work(self, case_id: UUID | str, actor: Actor) -> None:
        self._update(case_id, Repair, lambda c, at: c.start_work(actor, at))

    def finish_work(self, case_id: UUID | str, actor: Actor, summary: str) -> None:
        self._update(case_id, Repair, lambda c, at: c.finish_work(actor, at, summary))

    # ------------------------------------------------------------------ leak

    def attempt_owner_contact(
        self, case_id: UUID | str, actor: Actor, channel: str, outcome: str, note: str = ""
    ) -> None:
        self._update(
            case_id,
            LeakEmergency,
            lambda c, at: c.attempt_owner_contact(actor, at, channel, outcome, note),
        )

    def arrive_on_site(self, case_id: UUID | str, actor: Actor) -> None:
        self._update(case_id, LeakEmergency, lambda c, at: c.arrive_on_site(actor, at))

    def stop_water(self, case_id: UUID | str, actor: Actor, method: str, note: str = "") -> None:
        self._update(case_id, LeakEmergency, lambda c, at: c.stop_water(actor, at, method, note))

    def record_cause(
        self,
        case_id: UUID | str,
        actor: Actor,
        cause: str,
        damage: str = "",
        damaged_units: list[str] | None = None,
    ) -> None:
        self._update(
            case_id,
            LeakEmergency,
            lambda c, at: c.record_cause(actor, at, cause, damage, damaged_units or []),
        )

    # --------------------------------------------------------------- dispute

    def convene_mediation(
        self,
        case_id: UUID | str,
        actor: Actor,
        form: str,
        scheduled_for: datetime,
        place: str,
        participants: list[dict[str, str]],
    ) -> str:
        meeting_id = uuid4().hex[:12]
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.convene_mediation(
                actor, at, meeting_id, form, scheduled_for, place, participants
            ),
        )
        return meeting_id

    def hold_round(
        self,
        case_id: UUID | str,
        actor: Actor,
        meeting_id: str,
        attendees: list[str],
        outcome: str,
        *,
        positions: dict[str, str] | None = None,
        proposals: list[str] | None = None,
        options: list[str] | None = None,
        tally: dict[str, int] | None = None,
        note: str = "",
        walk_ins: list[dict[str, str]] | None = None,
    ) -> None:
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.hold_round(
                actor,
                at,
                meeting_id,
                attendees,
                outcome,
                positions,
                proposals,
                options,
                tally,
                note,
                walk_ins,
            ),
        )

    def reschedule_meeting(
        self,
        case_id: UUID | str,
        actor: Actor,
        meeting_id: str,
        scheduled_for: datetime,
        place: str,
        reason: str,
    ) -> None:
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.reschedule_meeting(actor, at, meeting_id, scheduled_for, place, reason),
        )

    def invite_participants(
        self,
        case_id: UUID | str,
        actor: Actor,
        meeting_id: str,
        participants: list[dict[str, str]],
        reason: str,
    ) -> None:
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.invite_participants(actor, at, meeting_id, participants, reason),
        )

    def name_lead_mediator(
        self, case_id: UUID | str, actor: Actor, lead: Actor, reason: str
    ) -> None:
        """`lead` answers for the dispute at its current tier (the actor themself, or named by
        the tier's head); the domain decides who may."""
        self._update(case_id, Dispute, lambda c, at: c.name_lead_mediator(actor, at, lead, reason))

    def cancel_meeting(
        self, case_id: UUID | str, actor: Actor, meeting_id: str, reason: str
    ) -> None:
        self._update(
            case_id, Dispute, lambda c, at: c.cancel_meeting(actor, at, meeting_id, reason)
        )

    def record_mediation_failed(
        self, case_id: UUID | str, actor: Actor, meeting_id: str, reason: str
    ) -> None:
        self._update(
            case_id, Dispute, lambda c, at: c.record_mediation_failed(actor, at, meeting_id, reason)
        )

    def reach_agreement(
        self,
        case_id: UUID | str,
        actor: Actor,
        meeting_id: str,
        terms: list[str],
        commitments: list[dict[str, str]],
        basis: str = "",
    ) -> None:
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.reach_agreement(actor, at, meeting_id, terms, commitments, basis),
        )

    def record_follow_up(
        self, case_id: UUID | str, actor: Actor, commitment_index: int, kept: bool, note: str
    ) -> None:
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.record_follow_up(actor, at, commitment_index, kept, note),
        )

    def escalate_dispute(
        self,
        case_id: UUID | str,
        actor: Actor,
        grounds: str,
        reason: str = "",
        matter: str | None = None,
    ) -> None:
        """Up one rung on grounds the case file bears out (see `Dispute.escalate_on_grounds`)."""
        self._update(
            case_id,
            Dispute,
            lambda c, at: c.escalate_on_grounds(actor, at, grounds, reason, matter),
        )

    def check_back_commitments(self, case_id: UUID | str, actor: Actor) -> list[int]:
        """The scheduler's check-back: marks commitments past their due date, once each.

        Decided on the freshly loaded case inside the retry loop, like `escalate_if_due`, so two
        schedulers racing on one case record each check-back once.
        """
        marked: list[int] = []

        def decide(case: Dispute, at: datetime) -> None:
            marked[:] = case.check_back_commitments(actor, at)

        self._update(case_id, Dispute, decide)
        return marked

    # --------------------------------------------------------------- queries

    def pending(self, aggregate_id: UUID) -> Any | None:
        """The aggregate as the open `tracking` block left it, if the block changed it; else None.

        A handler that changes other aggregates besides cases (a service's own, kept in this
        store) builds on these rather than on a fresh load: two objects for one aggregate in one
        unit of work would clash with each other at commit.
        """
        processing = _processing.get()
        return processing.aggregates.get(aggregate_id) if processing is not None else None

    def get_case(self, case_id: UUID | str, version: int | None = None) -> Case:
        uid = _as_uuid(case_id)
        processing = _processing.get()
        if processing is not None and version is None:
            pending = processing.aggregates.get(uid)
            if isinstance(pending, Case):
                return pending
        try:
            case: Any = self.repository.get(uid, version=version)
        except AggregateNotFoundError:
            raise CaseNotFoundError(f"no case file with id {uid}") from None
        if not isinstance(case, Case):
            raise CaseNotFoundError(f"no case file with id {uid}")
        if version is not None and case.version != version:
            raise ValidationError(f"case {uid} has only {case.version} events, not {version}")
        return case

    def history(self, case_id: UUID | str) -> list[HistoryEntry]:
        """Every event of the case in order: what, who and in which role, when, tier, why."""
        uid = _as_uuid(case_id)
        events = list(self.events.get(uid))
        if not events:
            raise CaseNotFoundError(f"no case file with id {uid}")
        return [history_entry(e) for e in events]

    def state_as_of(
        self, case_id: UUID | str, *, at: datetime | None = None, version: int | None = None
    ) -> Case:
        """The case after event `version`, or at moment `at` (read from the file, not the clock)."""
        if (at is None) == (version is None):
            raise ValidationError("give exactly one of at= (a time) or version= (an event number)")
        if version is not None:
            if version < 1:
                raise ValidationError("versions start at 1 (the report)")
            return self.get_case(case_id, version=version)
        assert at is not None
        if at.tzinfo is None:
            raise ValidationError("as-of times must carry a timezone, e.g. 2026-11-24T09:30+08:00")
        check_as_of(at, self.clock() + self.max_clock_skew)
        last = 0
        for entry in self.history(case_id):
            if entry.at > at:
                break
            last = entry.version
        if last == 0:
            raise ValidationError(f"case {case_id} did not exist yet at {at.isoformat()}")
        return self.get_case(case_id, version=last)

    def verify(self, case_id: UUID | str, anchor: Anchor | None = None) -> VerifyResult:
        """Walk one case's hash chain; against an anchor, also notice events removed from its end.

        An anchored case with no events left is tampering (all of it was deleted), not "unknown".
        """
        uid = _as_uuid(case_id)
        stored = list(self.recorder.select_events(uid))
        if not stored:
            if anchor is None:
                raise CaseNotFoundError(f"no case file with id {uid}")
            return VerifyResult(
                uid,
                ok=False,
                events=0,
                head="",
                position=1,
                problem=f"the anchor saw {anchor.version} events; none remain (removed)",
            )
        return verify_events(uid, stored, self.mapper, anchor)

    def case_ids(self, batch: int = 1000) -> Iterator[UUID]:
        """Every case id, in the order cases were first recorded (from the notification log).

        Services' own aggregates kept in the same store (a roster) are not case files: skipped.
        """
        seen: set[UUID] = set()
        start = 1
        while True:
            page = self.recorder.select_notifications(start=start, limit=batch)
            if not page:
                return
            for notification in page:
                if not is_case_topic(notification.topic):
                    continue
                case_id = _as_uuid(notification.originator_id)
                if case_id not in seen:
                    seen.add(case_id)
                    yield case_id
            start = page[-1].id + 1

    def verify_all(self, anchors: Mapping[UUID, Anchor] | None = None) -> Iterator[VerifyResult]:
        """Every case in the store, then every anchored case the store no longer lists.

        A case whose every event was deleted is gone from the notification log too, so only the
        anchors can name it.
        """
        anchors = anchors or {}
        seen: set[UUID] = set()
        for case_id in self.case_ids():
            seen.add(case_id)
            yield self.verify(case_id, anchors.get(case_id))
        for case_id, anchor in anchors.items():
            if case_id not in seen:
                yield self.verify(case_id, anchor)

    def anchors(self) -> dict[UUID, Anchor]:
        """Every case's current head, for an auditor to keep and verify against later.

        Refuses when a case does not verify: an anchor vouches for what it saw.
        """
        heads: dict[UUID, Anchor] = {}
        for case_id in self.case_ids():
            result = self.verify(case_id)
            if not result.ok:
                raise TamperedError(result.describe())
            heads[case_id] = Anchor(result.events, result.head)
        return heads

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
        return run_unit(lambda: UnitOfWork(self), change, attempts=self.max_attempts, what=what)

    def load(self, aggregate_id: UUID) -> Any | None:
        """Any aggregate of this store as recorded now, or None (what a unit of work loads)."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None


CREATE_ATTEMPTS = 6
"""How often a process that lost the race to create the store's tables tries again."""


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
