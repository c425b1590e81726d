"""The domain's objects as the API shows them (the response models of `intake.schemas`).

What a caller may see of them is decided here too: a case's contacts go to staff in its scope
(they call the reporters back) and, of a resident, only their own; an auditor sees none.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from casework import Case, VerifyResult
from casework.audit import HistoryEntry
from casework.domain.people import Erasure
from casework.privacy.people import PersonReport
from casework_web import Principal
from casework_web.history import history_public
from fastapi import Response

from intake.read_model import CaseRow
from intake.schemas import (
    CaseHistory,
    CasePage,
    CasePublic,
    CaseReported,
    CaseSummary,
    ErasurePublic,
    PersonExport,
    VerifyPublic,
)
from intake.service import Reported

SHARED = frozenset(
    {
        "id",
        "kind",
        "version",
        "address",
        "priority",
        "tier",
        "entry_tier",
        "status",
        "description",
        "channel",
        "reporter_ids",
        "reported_at",
        "respond_by",
        "settle_by",
        "acknowledged_at",
        "responded_at_tier",
        "assignee",
        "accepted_at",
        "queued_at",
        "escalations",
        "settled_tier",
        "resolved_at",
        "closed_at",
        "reopen_count",
        "satisfaction",
        "return_visits",
        "note_count",
        "links",
        "chain_head",
    }
)
"""What every kind of case has: `CasePublic`'s own fields; the rest of a case is its `details`."""


def snapshot(case: Case) -> dict[str, Any]:
    """The case's state as `CasePublic` wants it: shared fields, and the kind's own in details."""
    state = case.snapshot()
    public = {k: v for k, v in state.items() if k in SHARED}
    public["details"] = {k: v for k, v in state.items() if k not in SHARED}
    return public


def contacts_for(who: Principal, case: Case) -> dict[str, str] | None:
    """Staff in scope call reporters back; a resident sees only their own contact.

    The contacts are the case file's own (each reporter's, sealed under their key and opened by
    the library as the case is read): `[erased]` once that reporter was erased. An auditor is
    shown none (they read `[personal]` in the history, `Intake.history`)."""
    if who.is_auditor:
        return None
    contacts = dict(case.contacts)
    if who.is_resident:
        own = contacts.get(who.actor.id)
        return {who.actor.id: own} if own else {}
    return contacts


def case_public(who: Principal, case: Case) -> CasePublic:
    return CasePublic(**snapshot(case), contacts=contacts_for(who, case))


def case_reported(done: Reported) -> CaseReported:
    case = done.case
    return CaseReported(
        case_id=str(case.id),
        outcome=done.outcome,  # type: ignore[arg-type]
        message=done.message,
        kind=case.kind,
        category=getattr(case, "category", None) or None,
        priority=case.priority.value,
        tier=case.tier,
        respond_by=case.respond_by,
        settle_by=case.settle_by,
        triage=done.triage.reasons,
    )


def case_page(
    total: int, rows: list[CaseRow], offset: int, limit: int, index_position: int
) -> CasePage:
    return CasePage(
        total=total,
        offset=offset,
        limit=limit,
        items=[CaseSummary(**vars(row)) for row in rows],
        index_position=index_position,
    )


def case_history(
    who: Principal,
    state: Case,
    entries: list[HistoryEntry],
    as_of: datetime | None,
) -> CaseHistory:
    return CaseHistory(
        case_id=str(state.id),
        as_of=as_of,
        state=case_public(who, state),
        events=history_public(entries),
    )


def verify_public(result: VerifyResult) -> VerifyPublic:
    return VerifyPublic(
        case_id=str(result.case_id),
        ok=result.ok,
        events=result.events,
        head=result.head,
        position=result.position,
        problem=result.problem,
        description=result.describe(),
    )


def person_export(report: PersonReport) -> PersonExport:
    """What `casework person export` prints, as the response model (the same JSON)."""
    return PersonExport.model_validate(report.as_json())


def erasure_public(erasure: Erasure) -> ErasurePublic:
    return ErasurePublic(
        person_id=erasure.person_id,
        at=erasure.at,
        by={"id": erasure.actor_id, "role": erasure.actor_role},
        reason=erasure.reason,
        case_ids=list(erasure.case_ids),
    )


def case_export(case_id: UUID, data: bytes) -> Response:
    """The export's bytes exactly as made (a re-encoding would break its canonical form), as a
    download named for the case."""
    return Response(
        data,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="case-{case_id}.json"'},
    )
