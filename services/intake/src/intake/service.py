"""The front desk's use cases: take a report, show a case, record what residents and staff say.

Everything here goes through the `Casework` application (the only writer of case files) and
checks the principal's scope first. A case outside the principal's scope answers exactly as a
case that does not exist (`CaseNotFoundError`), so ids cannot be probed; a refusal of something
the principal can see is a `NotPermittedError` with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol
from uuid import UUID

from casework import (
    Actor,
    Case,
    CaseNotFoundError,
    Casework,
    Clock,
    Dispute,
    InvalidTransitionError,
    NotPermittedError,
    Role,
    ValidationError,
    VerifyResult,
)
from casework.application.store import Together
from casework.audit import HistoryEntry
from casework.domain.actors import PERMISSIONS, check_may
from casework.domain.case import SETTLED
from casework.kinds.registry import BUILTIN
from casework.privacy import PERSONAL
from casework.side_tables import SideWrite
from casework.transparency.exports import build_export, canonical
from casework.unit_of_work import retrying_on_conflict
from casework_web import Principal
from casework_web.auth import PLACE_BOUND_ROLES
from eventsourcing.persistence import IntegrityError

from intake.places import Places
from intake.read_model import CaseIndex, CaseRow
from intake.schemas import CaseCreate
from intake.triage import Report, Triage, TriageRules, triage

AUDITORS_READ_ONLY = "auditors read everything and change nothing"
NOT_AN_EXPORTER = (
    "a case-file export is for auditors and for staff of the case's place; residents read their "
    "own case at GET /cases/{id}/history, and a data protection officer exports a person's data "
    "at GET /people/{id}"
)


class Keep(Protocol):
    """What the caller of `Intake.report` commits with the report (its kept answer)."""

    def __call__(self, reported: Reported) -> SideWrite:
        """Given the report's outcome, what to write in its transaction."""

    def look(self) -> None:
        """The report found a trace of an earlier attempt (its commit met one, or the keyed
        case exists): raise if that attempt's answer is kept (the caller answers with it);
        return to go on (replay the case, or run the report again)."""


@dataclass(frozen=True)
class _Taken:
    """A report past its checks and triage, as each attempt at storing it needs it."""

    who: Principal
    reporter: Actor
    address: str
    body: CaseCreate
    decided: Triage
    case_id: UUID | None
    keep: Keep | None


@dataclass(frozen=True)
class Reported:
    case: Case
    outcome: str
    triage: Triage

    @property
    def message(self) -> str:
        if self.outcome == "opened":
            return f"case {self.case.id} opened at the {self.case.tier.value} tier"
        if self.outcome == "linked":
            return (
                f"the same matter is already open as case {self.case.id}; "
                "your report was added to it"
            )
        return f"you have already reported this matter: case {self.case.id}"


class Intake:
    def __init__(
        self,
        app: Casework,
        places: Places,
        rules: TriageRules,
        index: CaseIndex,
        clock: Clock,
    ) -> None:
        self.app = app
        self.places = places
        self.rules = rules
        self.index = index
        self.clock = clock
        self._matters = threading.Lock()

    # --------------------------------------------------------------- reporting

    def report(
        self,
        who: Principal,
        body: CaseCreate,
        case_id: UUID | None = None,
        keep: Keep | None = None,
    ) -> Reported:
        """Take a report: join the open case of its matter, or open one.

        `case_id` is given with an Idempotency-Key (derived from the caller and the key): the
        case it opens takes that id, so a retry whose first attempt opened the case (though
        its answer was lost, e.g. the store went down between commit and answer) finds it and
        is answered as the first was, never opening a second case nor joining it to itself.

        Everything the report writes in the store is one transaction (`Casework.together`):
        the case (or the reporter joined to it), the note of who took it, and `keep(reported)`,
        the side write the caller wants committed with it (the Idempotency-Key's answer).
        `keep` is called in the transaction that commits, last in each attempt; a clash at the
        commit (another writer changed the joined case) runs the report again, and an exception
        from `keep` (the key found used) ends it with nothing written (issue 16)."""
        if who.is_auditor:
            raise NotPermittedError(AUDITORS_READ_ONLY)
        address = self.places.check_path(body.address)
        reporter = self._reporter(who, body)
        if not who.is_resident and not who.covers(address.path):
            raise NotPermittedError(
                f"a {who.actor.role.value} of {who.place} cannot take reports for {address.path}"
            )
        if reporter.role not in PERMISSIONS["report"]:
            raise NotPermittedError(f"a {reporter.role.value} may not report a case")
        decided = triage(
            Report(
                description=body.description,
                address=address,
                kind=body.kind,
                category=body.category,
                priority=body.priority,
                source_unit=body.source_unit,
                source_unoccupied=body.source_unoccupied,
                reaches_other_flat=body.reaches_other_flat,
                needs_county=body.needs_county,
            ),
            self.rules,
        )
        taken = _Taken(who, reporter, address.path, body, decided, case_id, keep)
        if case_id is not None and decided.duplicate_key is not None and self._exists(case_id):
            # Looked up first only where it matters: a retry whose first attempt opened the
            # case would otherwise find it as the open case of its matter and join it. Any
            # other report meets its first attempt's case on committing (below), at the cost
            # of a retry's work, not of every report's read (issue 16).
            return _again_on_conflict(lambda: self._replay(taken))
        return _again_on_conflict(lambda: self._attempt(taken))

    def _attempt(self, taken: _Taken) -> Reported:
        """One attempt at the report, committed whole. A commit that met an earlier attempt's
        trace asks `keep` first (its answer kept: the caller answers with it), then replays a
        keyed case found opened (by this key's first attempt: its answer lost, or running on
        another replica); any other clash (the joined case changed) is raised, for the report
        to run again."""
        try:
            return self._report_once(taken)
        except IntegrityError:
            if taken.keep is not None:
                taken.keep.look()
            if taken.case_id is not None and self._exists(taken.case_id):
                return self._replay(taken)
            raise

    def _report_once(self, taken: _Taken) -> Reported:
        body, decided = taken.body, taken.decided
        contact = body.reporter.contact if body.reporter and body.reporter.contact else ""
        if decided.duplicate_key is None:
            with self.app.together() as unit:  # committed as the block closes
                opened = self._open(
                    taken.reporter, taken.address, body, decided, contact, taken.case_id
                )
                return self._finish(unit, taken, opened, "opened")
        with self._matters:  # one decision at a time per process: join, or open
            with self.app.together() as unit:
                joined, outcome = self._join_open_matter(
                    decided.duplicate_key, taken.reporter, body, contact
                )
                if joined is None:
                    opened = self._open(
                        taken.reporter, taken.address, body, decided, contact, taken.case_id
                    )
                else:
                    opened = joined
                reported = self._finish(unit, taken, opened, outcome)
            if joined is None:  # committed: the desk's own new case, at once
                self.index.remember_matter(decided.duplicate_key, str(opened))
        return reported

    def _finish(self, unit: Together, taken: _Taken, case_id: UUID, outcome: str) -> Reported:
        """Inside the report's transaction: its extras, and its answer from the case as the
        transaction leaves it (not read back: `get_case` sees the unsaved case)."""
        self._record_extras(case_id, taken.who, taken.reporter, taken.body)
        reported = Reported(self.app.get_case(case_id), outcome, taken.decided)
        if taken.keep is not None:
            unit.also(taken.keep(reported))
        return reported

    def _exists(self, case_id: UUID) -> bool:
        try:
            self.app.get_case(case_id)
        except CaseNotFoundError:
            return False
        return True

    def _replay(self, taken: _Taken) -> Reported:
        """A retried report whose first attempt opened `case_id`: its outcome again ("opened",
        as the first answer said), finishing what the first may not have reached (the note of
        who took it and the photos, the matter's row) and nothing more. A different report
        with the key is refused, as the Idempotency-Key middleware refuses it while it keeps the
        first answer (its record is gone when the first answer was lost)."""
        assert taken.case_id is not None
        if taken.keep is not None:
            taken.keep.look()  # its answer kept: that, not a look at the case, is the answer
        case_id, body, decided = taken.case_id, taken.body, taken.decided
        case = self.app.get_case(case_id)
        if (
            case.kind != decided.kind
            or case.address.path != taken.address
            or taken.reporter.id not in case.reporter_ids
            or case.description != body.description.strip()
        ):
            raise ValidationError(
                f"this Idempotency-Key opened case {case_id} for a different report (another "
                "kind, address, reporter or description); use a new key for a new report"
            )
        if decided.duplicate_key is not None:
            self.index.remember_matter(decided.duplicate_key, str(case_id))  # a no-op if known
        with self.app.together() as unit:
            if case.note_count == 0:
                self._record_extras(case_id, taken.who, taken.reporter, body)
            reported = Reported(self.app.get_case(case_id), "opened", decided)
            if taken.keep is not None:
                unit.also(taken.keep(reported))
        return reported

    def _reporter(self, who: Principal, body: CaseCreate) -> Actor:
        if body.reporter is None or body.reporter.id == who.actor.id:
            if body.reporter is not None and body.reporter.role is not who.actor.role:
                raise NotPermittedError(
                    f"you are a {who.actor.role.value}; report in that role, not as "
                    f"{body.reporter.role.value}"
                )
            return who.actor
        if who.is_resident:
            raise NotPermittedError(
                "residents report for themselves: leave out reporter, or give your own id"
            )
        return Actor(body.reporter.id, body.reporter.role)

    def _join_open_matter(
        self, key: str, reporter: Actor, body: CaseCreate, contact: str
    ) -> tuple[UUID | None, str]:
        """The open case of this matter, if there is one: `cases_of_matter` is the case index's
        (rebuilt from the store), so a case another replica opened a moment ago may not be in it
        yet; that race opens a second case, as two reports at once on two replicas always could."""
        for candidate in self.index.cases_of_matter(key):
            case = self.app.get_case(candidate)
            if case.status in SETTLED:
                continue
            if reporter.id in case.reporter_ids:
                return case.id, "already_reported"
            try:
                self.app.add_reporter(case.id, reporter, body.channel, contact)
            except InvalidTransitionError:
                continue  # settled in the meantime: look further, or open a new case
            return case.id, "linked"
        return None, "opened"

    def _open(
        self,
        reporter: Actor,
        address: str,
        body: CaseCreate,
        decided: Triage,
        contact: str,
        case_id: UUID | None = None,
    ) -> UUID:
        if decided.kind not in BUILTIN:  # a registered kind: its own report opens the case
            return self.app.report_case(
                decided.kind,
                reporter,
                address,
                body.description,
                priority=decided.priority,
                channel=body.channel,
                contact=contact,
                case_id=case_id,
                **(body.details or {}),
            )
        if decided.kind == "leak":
            assert decided.source_unit is not None
            return self.app.report_leak(
                reporter,
                address,
                body.description,
                decided.source_unit,
                source_unoccupied=decided.source_unoccupied,
                reaches_other_flat=decided.reaches_other_flat,
                channel=body.channel,
                contact=contact,
                case_id=case_id,
            )
        assert decided.category is not None
        assert decided.priority is not None
        if decided.kind == "dispute":
            return self.app.report_dispute(
                reporter,
                address,
                body.description,
                decided.category,
                list(body.parties),
                tier=decided.tier,
                priority=decided.priority,
                channel=body.channel,
                contact=contact,
                case_id=case_id,
            )
        return self.app.report_repair(
            reporter,
            address,
            body.description,
            decided.category,
            decided.priority,
            body.channel,
            contact=contact,
            case_id=case_id,
        )

    def _record_extras(
        self, case_id: UUID, who: Principal, reporter: Actor, body: CaseCreate
    ) -> None:
        """Photos and who took the report go in the case file (the contact went with the report,
        sealed under the reporter's key)."""
        lines = []
        if who.actor != reporter:
            lines.append(
                f"report taken by {who.actor.id} ({who.actor.role.value}) "
                f"for {reporter.id} via {body.channel}"
            )
        if body.photos:
            lines.append("photos: " + ", ".join(body.photos))
        if lines:
            self.app.add_note(case_id, who.actor, "\n".join(lines))

    # ----------------------------------------------------------------- reading

    def case(self, who: Principal, case_id: str) -> Case:
        """The case, if this principal may see it; otherwise as if it did not exist.

        An auditor is given it with every personal value reading `[personal]`: they check how a
        case was handled, not what residents said (PIPL; docs/adr/011-personal-data.md)."""
        try:
            case = self.app.get_case(case_id, personal=not who.is_auditor)
        except CaseNotFoundError:
            raise CaseNotFoundError(_not_found(case_id)) from None
        people = list(case.reporter_ids)
        if isinstance(case, Dispute):
            people += case.parties
        if who.may_see(case.address.path, people) is not None:
            raise CaseNotFoundError(_not_found(case_id))
        return case

    def history(
        self, who: Principal, case_id: str, as_of: datetime | None
    ) -> tuple[Case, list[HistoryEntry]]:
        case = self.case(who, case_id)
        personal = not who.is_auditor
        entries = lines_for(who, self.app.history(case_id, personal=personal))
        if as_of is None:
            return case, entries
        version = self.app.state_as_of(case_id, at=as_of).version
        state = self.app.get_case(case_id, version=version, personal=personal)
        return state, [e for e in entries if e.version <= version]

    def verify(self, who: Principal, case_id: str) -> VerifyResult:
        self.case(who, case_id)
        return self.app.verify(case_id)

    def export(self, who: Principal, case_id: str) -> tuple[UUID, bytes]:
        """A case file an auditor verifies offline (docs/adr/014): the same canonical bytes as
        `casework export`, events as stored (personal values sealed or `[erased]`, never
        opened). For auditors and staff in scope; residents and data protection officers are
        told so (403) before the case is looked up, so the answer says nothing of the id."""
        if not who.is_auditor and who.actor.role not in PLACE_BOUND_ROLES:
            raise NotPermittedError(NOT_AN_EXPORTER)
        case = self.case(who, case_id)
        return case.id, canonical(build_export(self.app, case.id))

    def list(
        self,
        who: Principal,
        *,
        compound: str | None,
        tier: str | None,
        status: str | None,
        kind: str | None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[CaseRow]]:
        return self.index.list(
            who.scope(),
            compound=compound,
            tier=tier,
            status=status,
            kind=kind,
            offset=offset,
            limit=limit,
        )

    # ------------------------------------------------------------ after the work

    def confirm(self, who: Principal, case_id: str) -> Case:
        case = self._for_reporter(who, case_id, "confirm the work")
        self.app.confirm_resolution(case.id, who.actor)
        return self.app.get_case(case.id)

    def reopen(self, who: Principal, case_id: str, reason: str) -> Case:
        case = self._for_reporter(who, case_id, "reopen it")
        self.app.reopen(case.id, who.actor, reason)
        return self.app.get_case(case.id)

    def rate(self, who: Principal, case_id: str, score: int, comment: str) -> Case:
        case = self._for_reporter(who, case_id, "rate it")
        self.app.rate_satisfaction(case.id, who.actor, score, comment)
        return self.app.get_case(case.id)

    def acknowledge(self, who: Principal, case_id: str, note: str) -> Case:
        """受理: staff or a mediator in scope take the case up at the tier it is at.

        Once when it is reported, and once more at each tier it climbs to: a case that climbed
        while assigned keeps its assignee, but its new tier owes its own response by its own
        `respond_by`, or the scheduler sends it up again for "no response".
        """
        case = self._writable(who, case_id)
        if who.is_resident:
            raise NotPermittedError("staff or mediators take cases up (受理), not residents")
        self.app.acknowledge(case.id, who.actor, note)
        return self.app.get_case(case.id)

    def record_return_visit(self, who: Principal, case_id: str, note: str) -> Case:
        case = self._writable(who, case_id)
        if who.is_resident:
            raise NotPermittedError("return visits (回访) are recorded by staff, not residents")
        self.app.record_return_visit(case.id, who.actor, note)
        return self.app.get_case(case.id)

    def close(self, who: Principal, case_id: str, reason: str) -> Case:
        """Close the case file (结案) once nothing is left for anyone to do on it.

        Closing is final: a closed case can no longer be reopened, rated or visited back. The
        rules for when (confirmed or the reopening window passed, a return visit (回访) since it
        was last resolved, a dispute's commitments checked back) are the domain's
        (`Case.check_closable`), so every caller is held to them; the desk adds who may.
        """
        case = self._writable(who, case_id)
        if who.is_resident:
            raise NotPermittedError(
                "cases are closed by the staff or mediators who handled them; confirm the work "
                "or reopen it instead"
            )
        check_may(who.actor, "close_case")
        self.app.close_case(case.id, who.actor, reason)
        return self.app.get_case(case.id)

    def _writable(self, who: Principal, case_id: str) -> Case:
        case = self.case(who, case_id)
        if who.is_auditor:
            raise NotPermittedError(AUDITORS_READ_ONLY)
        return case

    def _for_reporter(self, who: Principal, case_id: str, action: str) -> Case:
        case = self._writable(who, case_id)
        if who.actor.role is not Role.RESIDENT:
            raise NotPermittedError(f"only the resident who reported case {case.id} may {action}")
        if who.actor.id not in case.reporter_ids:
            raise NotPermittedError(
                f"you are party to case {case.id} but did not report it; only its reporters "
                f"may {action}"
            )
        return case


def _again_on_conflict(attempt: Callable[[], Reported]) -> Reported:
    """`attempt()`, and again on a clash (`retrying_on_conflict`'s bounded, jittered retries);
    the first try without building the retry machinery, which cost every report (issue 16)."""
    try:
        return attempt()
    except IntegrityError:
        pass
    return retrying_on_conflict(attempt, what="the report")


def _not_found(case_id: str) -> str:
    """One message for "no such case" and "not yours to see", so ids cannot be probed."""
    shown = case_id if len(case_id) <= 64 else case_id[:61] + "..."
    return f"no case {shown!r} among the cases you can see; check the id"


def lines_for(who: Principal, entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """The case file's lines as `who` may read them: a resident sees their own contact and no
    one else's (as `GET /cases/{id}` shows them, `api.presenters.contacts_for`). A contact is in
    the line that gave it: the report (`actor_id` its reporter), a reporter added or a contact
    given later (`reporter_id`). Without this, the other party of a dispute, or a second reporter,
    read the first reporter's phone number in the history."""
    if not who.is_resident:
        return entries  # staff in scope call reporters back; an auditor already reads [personal]
    shown: list[HistoryEntry] = []
    for entry in entries:
        owner = entry.details.get("reporter_id", entry.actor_id)
        if entry.details.get("contact") and owner != who.actor.id:
            entry = replace(entry, details={**entry.details, "contact": PERSONAL})
        shown.append(entry)
    return shown
