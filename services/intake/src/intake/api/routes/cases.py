"""/cases: report a case, list and read the cases you can see, and what residents and staff say.

Endpoints are plain `def`: eventsourcing is synchronous, so FastAPI runs them in its threadpool.
Reporting, the busiest, is `async` and makes one hop to the threadpool for all its store work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated
from uuid import UUID

from casework import Status, Tier
from casework.domain.windows import EARLIEST
from casework.side_tables import SideWrite
from casework_web import Principal, Who, error_responses
from casework_web.errors import error
from casework_web.fields import Moment
from casework_web.idempotency import RouteKey, request_keyed_id, route_key
from fastapi import APIRouter, Query, Request, Response

from intake.api import presenters
from intake.api.deps import CaseId, OnCase, Rt
from intake.report_thread import RETRY_AFTER_SECONDS, ReportsBusyError
from intake.runtime import Runtime
from intake.schemas import (
    AcknowledgementIn,
    CaseCreate,
    CaseExport,
    CaseHistory,
    CasePage,
    CasePublic,
    CaseReported,
    ClosureIn,
    Kind,
    RatingIn,
    ReopenIn,
    ReturnVisitIn,
    VerifyPublic,
)
from intake.service import Reported

log = logging.getLogger("intake")

TAMPERED = (
    "code `tampered`: an event of the case was altered in the store (its stored bytes do not "
    "decode, or a sealed value was moved), so the server will not vouch for the case file; "
    "the message names the operator's checks (`casework verify CASE_ID`, `casework verify "
    "--checkpoint latest`). Nothing is changed; retrying does not help"
)

BUSY = (
    "the case store cannot be reached, or (code `busy`) this replica has more reports waiting "
    "for its store than it takes at once; nothing of the report was stored: retry after the "
    "Retry-After header's seconds"
)

router = APIRouter(prefix="/cases", tags=["cases"], responses=error_responses(401, 422, 503))


@router.post(
    "",
    status_code=201,
    response_model=CaseReported,
    responses={
        200: {"model": CaseReported, "description": "joined the open case of the same matter"},
        **error_responses(400, 403, 409),
        **error_responses(503, descriptions={503: BUSY}),
    },
    summary="Report a repair, a leak or a dispute",
)
async def report_case(body: CaseCreate, who: Who, rt: Rt, request: Request) -> Response:
    """`async` with the store's work in one hop to a worker thread (`Runtime.reports`: on
    SQLite the replica's own report thread, else anyio's pool; the report and its kept
    answer in one transaction), not a hop per dependency or per Idempotency-Key step: the
    hand-offs and commits were a large share of the intake's CPU per report (issue 16). The
    answer is rendered in the worker, before the commit, so that the bytes sent are the bytes
    every retry of the key gets. The read models are not caught up here: the listing catches
    them up before it reads, and the store feed's next round takes many reports at once
    (docs/adr/019)."""
    case_id = request_keyed_id(who.actor.id, request.scope)
    try:
        done, answer = await rt.reports.run(_report, rt, who, body, case_id, route_key(request))
    except ReportsBusyError as busy:
        rt.reports.said_refused(busy)
        refused = error(
            503,
            "busy",
            f"this service is taking more reports than its store can write ({busy}); nothing "
            f"was stored: try again in {RETRY_AFTER_SECONDS} second (a retried POST with the "
            f"same Idempotency-Key is never done twice)",
        )
        refused.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return refused
    case = done.case
    request.state.case_id = str(case.id)
    rt.metrics.reported.labels(case.kind, done.outcome).inc()
    log.info(
        "case %s %s",
        case.id,
        done.outcome,
        extra={"case_id": str(case.id), "kind": case.kind, "outcome": done.outcome},
    )
    return answer


def _report(
    rt: Runtime, who: Principal, body: CaseCreate, case_id: UUID | None, key: RouteKey | None
) -> tuple[Reported, Response]:
    """The report with its answer kept (when sent with an Idempotency-Key), in the worker
    thread (it blocks on the store).

    The key is not looked up first: a key used already has its record in the store, which the
    report's own record (or case) meets on committing, nothing written; the report then looks
    (`KeyUsed`: the middleware answers from that record). A retry costs its work twice; every
    first report saves a read (issue 16)."""
    kept = None if key is None else _Kept(key)
    done = rt.intake.report(who, body, case_id, kept)
    if key is not None:
        key.kept()
    return done, kept.answers[-1] if kept is not None and kept.answers else _answer(done)


@dataclass
class _Kept:
    """The report's answer, rendered and kept in its transaction (`intake.service.Keep`)."""

    key: RouteKey
    answers: list[Response] = field(default_factory=list)
    """The answer of each attempt: the last is the one committed."""

    def __call__(self, reported: Reported) -> SideWrite:
        self.answers.append(_answer(reported))
        return self.key.keep(self.answers[-1])

    def look(self) -> None:
        self.key.look()


def _answer(done: Reported) -> Response:
    """201 with the case opened, 200 when the report joined (or was already in) an open case."""
    return Response(
        presenters.case_reported(done).model_dump_json().encode(),
        status_code=201 if done.outcome == "opened" else 200,
        media_type="application/json",
    )


@router.get(
    "",
    response_model=CasePage,
    summary="List cases you can see, from the case index",
    description=(
        "The case index is brought up to everything stored before it is read, so a case you "
        "just reported (or anyone changed) is listed as it is now. If that cannot be done at "
        "the moment (the store or the index busy), the listing is the index as it stands; "
        "`index_position` says how far into the store's log it has read."
    ),
)
def list_cases(
    who: Who,
    rt: Rt,
    compound: Annotated[
        str | None,
        Query(max_length=130, description="compound id, or community/compound"),
    ] = None,
    tier: Tier | None = None,
    status: Status | None = None,
    kind: Kind | None = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CasePage:
    rt.catch_up_read_models()
    total, rows = rt.intake.list(
        who,
        compound=compound,
        tier=tier.value if tier else None,
        status=status.value if status else None,
        kind=kind,
        offset=offset,
        limit=limit,
    )
    return presenters.case_page(total, rows, offset, limit, rt.intake.index.position(rt.source))


_READ = error_responses(404, 409, descriptions={409: TAMPERED})


@router.get("/{case_id}", response_model=CasePublic, responses=_READ)
def get_case(case_id: CaseId, who: Who, rt: Rt, request: Request) -> CasePublic:
    case = rt.intake.case(who, case_id)
    request.state.case_id = str(case.id)
    return presenters.case_public(who, case)


@router.get(
    "/{case_id}/history",
    response_model=CaseHistory,
    responses=_READ,
    summary="The case file: every event, and the state (as of a past moment with as_of)",
)
def case_history(
    case_id: CaseId,
    who: Who,
    rt: Rt,
    request: Request,
    as_of: Annotated[
        Moment | None,
        Query(
            description="a moment with its timezone, e.g. 2026-11-24T09:30:00+08:00; not before "
            f"{EARLIEST.year}, nor later than now (give or take the writers' clock skew)"
        ),
    ] = None,
) -> CaseHistory:
    state, entries = rt.intake.history(who, case_id, as_of)
    request.state.case_id = str(state.id)
    return presenters.case_history(who, state, entries, as_of)


@router.get(
    "/{case_id}/verify",
    response_model=VerifyPublic,
    responses=_READ,
    summary="Check the case file's hash chain (tamper evidence)",
)
def verify_case(case_id: CaseId, who: Who, rt: Rt, request: Request) -> VerifyPublic:
    result = rt.intake.verify(who, case_id)
    request.state.case_id = str(result.case_id)
    return presenters.verify_public(result)


@router.get(
    "/{case_id}/export",
    response_class=Response,
    responses={
        200: {
            "model": CaseExport,
            "description": "the case file as one canonical JSON document, as a download "
            "(Content-Disposition: attachment; filename=case-<id>.json)",
            "headers": {
                "Content-Disposition": {
                    "description": 'attachment; filename="case-<id>.json"',
                    "schema": {"type": "string"},
                }
            },
        },
        **error_responses(
            403,
            404,
            409,
            descriptions={
                403: "residents and data protection officers: exports are for auditors and "
                "staff of the case's place",
                404: "no such case, or not in the caller's place (the same answer)",
                409: "the case was stored before personal data was sealed and holds personal "
                "values in plaintext: an export must not carry them (`casework person migrate`); "
                "or " + TAMPERED,
            },
        ),
    },
    summary="A self-verifying case file for auditors: events, chain, signed checkpoint, proofs",
    description=(
        "Byte for byte what `casework export CASE_ID` writes for the same store: every stored "
        "event of the case (personal values sealed or `[erased]`, as stored), the latest signed "
        "checkpoint and an inclusion proof per event. Verify it offline with `casework "
        "verify-file FILE --pubkey KEY` or docs/verify_export.py and the notary's public key "
        "(`casework notary pubkey`); any changed byte fails. Events newer than the checkpoint "
        "carry no proof and fail the check until the notary signs again. For auditors (any "
        "case) and staff in the case's place."
    ),
)
def export_case(case_id: CaseId, who: Who, rt: Rt, request: Request) -> Response:
    request.state.case_id = case_id
    found, data = rt.intake.export(who, case_id)
    request.state.case_id = str(found)
    return presenters.case_export(found, data)


_ACTION = error_responses(400, 403, 404, 409)


@router.post(
    "/{case_id}/acknowledgement",
    response_model=CasePublic,
    responses=_ACTION,
    summary="Staff or a mediator in scope take the case up (受理) at the tier it is at",
    description=(
        "Once when the case is reported, and once more at each tier it climbs to: a case that "
        "climbed while assigned keeps its assignee, but the tier it landed on owes its own "
        "response by its own respond_by, or it climbs again for 'no response'. 409 when the "
        "case was already answered at its tier, or is settled or closed."
    ),
)
def acknowledge_case(on: OnCase, body: AcknowledgementIn | None = None) -> CasePublic:
    note = body.note if body is not None else ""
    return on.answer(on.rt.intake.acknowledge(on.who, on.case_id, note))


@router.post(
    "/{case_id}/confirmation",
    response_model=CasePublic,
    responses=_ACTION,
    summary="The reporting resident confirms the work is done",
)
def confirm_case(on: OnCase) -> CasePublic:
    return on.answer(on.rt.intake.confirm(on.who, on.case_id))


@router.post(
    "/{case_id}/reopening",
    response_model=CasePublic,
    responses=_ACTION,
    summary="The reporting resident reopens a resolved case, with a reason, within the window",
)
def reopen_case(on: OnCase, body: ReopenIn) -> CasePublic:
    return on.answer(on.rt.intake.reopen(on.who, on.case_id, body.reason))


@router.post(
    "/{case_id}/rating",
    response_model=CasePublic,
    responses=_ACTION,
    summary="The reporting resident rates satisfaction, 1 to 5",
)
def rate_case(on: OnCase, body: RatingIn) -> CasePublic:
    return on.answer(on.rt.intake.rate(on.who, on.case_id, body.score, body.comment))


@router.post(
    "/{case_id}/return-visits",
    response_model=CasePublic,
    responses=_ACTION,
    summary="Staff record a return visit (回访)",
)
def record_return_visit(on: OnCase, body: ReturnVisitIn) -> CasePublic:
    return on.answer(on.rt.intake.record_return_visit(on.who, on.case_id, body.note))


@router.post(
    "/{case_id}/closure",
    response_model=CasePublic,
    responses=_ACTION,
    summary="Staff or a mediator close the case file (结案)",
    description=(
        "Only a resolved case whose reporter confirmed the work, or whose 7-day reopening "
        "window has passed, with a return visit (回访) recorded since it was resolved, and (a "
        "dispute) no commitment still to be checked back. Closing is final: a closed case "
        "cannot be reopened, rated or visited back; a new problem is a new report."
    ),
)
def close_case(on: OnCase, body: ClosureIn | None = None) -> CasePublic:
    reason = body.reason if body is not None else ""
    return on.answer(on.rt.intake.close(on.who, on.case_id, reason))
