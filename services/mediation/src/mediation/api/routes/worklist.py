"""GET /disputes: a mediator's worklist, what needs attention first, in the caller's place."""

from __future__ import annotations

from typing import Annotated

from casework import Status, Tier
from casework_web import Who, error_responses
from fastapi import APIRouter, Query

from mediation.api.deps import Rt
from mediation.api.presenters import work_page
from mediation.schemas import WorkPage

router = APIRouter(prefix="/disputes", tags=["disputes"], responses=error_responses(401, 422, 503))


@router.get(
    "",
    response_model=WorkPage,
    summary="A mediator's worklist: open disputes in your place, what needs attention first",
)
def list_disputes(
    who: Who,
    rt: Rt,
    tier: Tier | None = None,
    compound: Annotated[
        str | None, Query(max_length=130, description="compound id, or community/compound")
    ] = None,
    status: Status | None = None,
    include_closed: Annotated[bool, Query(description="closed disputes too")] = False,
    mine: Annotated[
        bool,
        Query(
            description="only the disputes you lead, convened a meeting of, or were invited "
            "to one of (at its convening, after it, or as a walk-in)"
        ),
    ] = False,
    unled: Annotated[
        bool,
        Query(description="only the disputes nobody leads at their tier (POST .../lead)"),
    ] = False,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> WorkPage:
    total, rows = rt.desk.worklist_page(
        who,
        tier=tier.value if tier else None,
        compound=compound,
        status=status.value if status else None,
        include_closed=include_closed,
        mine=mine,
        unled=unled,
        offset=offset,
        limit=limit,
    )
    return work_page(total, rows, offset=offset, limit=limit)
