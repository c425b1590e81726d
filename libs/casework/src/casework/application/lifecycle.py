"""The shared lifecycle's commands: report a case of each kind, then respond, assign, escalate,
resolve, confirm or reopen, rate, visit back, close, note and link.

Each loads the case, lets the domain decide and saves, through `CaseStore._update` (one unit of
work and its retry); the report commands save a new case file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from casework.application.store import CaseStore, _as_uuid
from casework.domain.actors import Actor
from casework.domain.case import Case
from casework.domain.dispute import Dispute
from casework.domain.errors import CaseExistsError
from casework.domain.leak import LeakEmergency
from casework.domain.places import Address, Tier
from casework.domain.repair import Repair
from casework.kinds.registry import KindError, kind_named
from casework.unit_of_work import UnitOfWork


class LifecycleCommands(CaseStore):
    """What any case can be told, whatever its kind."""

    # ------------------------------------------------------------- reporting

    def report_repair(
        self,
        actor: Actor,
        address: str,
        description: str,
        category: str = "other",
        priority: str = "routine",
        channel: str = "phone",
        contact: str = "",
        case_id: UUID | None = None,
    ) -> UUID:
        with self.sealing():  # each event hashed once, sealed
            case = Repair.report(
                actor,
                self.clock(),
                Address.parse(address),
                description,
                category,
                priority,
                channel,
                contact=contact,
                case_id=case_id,
            )
        return self._save_new(case, case_id)

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
        contact: str = "",
        case_id: UUID | None = None,
    ) -> UUID:
        with self.sealing():  # each event hashed once, sealed
            case = LeakEmergency.report(
                actor,
                self.clock(),
                Address.parse(address),
                description,
                source_unit,
                source_unoccupied=source_unoccupied,
                reaches_other_flat=reaches_other_flat,
                channel=channel,
                contact=contact,
                case_id=case_id,
            )
        return self._save_new(case, case_id)

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
        contact: str = "",
        case_id: UUID | None = None,
    ) -> UUID:
        start = Tier(tier) if tier is not None else None
        with self.sealing():  # each event hashed once, sealed
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
                contact=contact,
                case_id=case_id,
            )
        return self._save_new(case, case_id)

    def report_case(
        self,
        kind: str,
        actor: Actor,
        address: str,
        description: str,
        *,
        priority: str | None = None,
        channel: str = "phone",
        contact: str = "",
        case_id: UUID | None = None,
        **fields: Any,
    ) -> UUID:
        """Report a case of any registered kind (`casework.kinds`): its `Kind.report` opens it
        with the common fields and the kind's own (`fields`, e.g. a lift's `lift_id`)."""
        spec = kind_named(kind)
        if spec.report is None:
            raise KindError(f"the kind {kind} names no report function (Kind.report)")
        with self.sealing():  # each event hashed once, sealed
            case = spec.report(
                actor,
                self.clock(),
                Address.parse(address),
                description,
                priority=priority,
                channel=channel,
                contact=contact,
                case_id=case_id,
                **fields,
            )
        return self._save_new(case, case_id)

    def _save_new(self, case: Case, case_id: UUID | None) -> UUID:
        """Save a new case file; with a given id taken already (a retried report whose first
        attempt was stored), `CaseExistsError`: the store's unique (case, version) refuses a
        second first event, so two attempts at once cannot both open it either."""
        try:
            self.save(case)
        except IntegrityError:
            if case_id is None:
                raise
            raise CaseExistsError(f"case {case_id} was opened already") from None
        return case.id

    def add_reporter(
        self, case_id: UUID | str, actor: Actor, channel: str = "phone", contact: str = ""
    ) -> None:
        self._update(case_id, Case, lambda c, at: c.add_reporter(actor, at, channel, contact))

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

    def give_contact(
        self,
        case_id: UUID | str,
        actor: Actor,
        reporter_id: str,
        contact: str,
        given_at: datetime,
        why: str,
    ) -> bool:
        """Record a reporter's contact given earlier (`Case.ContactGiven`); False if the case
        file already holds theirs given then or later (nothing recorded)."""
        recorded: list[bool] = []

        def give(case: Case, at: datetime) -> None:
            recorded[:] = [case.give_contact(actor, at, reporter_id, contact, given_at, why)]

        self._update(case_id, Case, give)
        return recorded[0]

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
