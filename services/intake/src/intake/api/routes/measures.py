"""`GET /measures`: the measures of a scope and window, as JSON.

Same bearer tokens and scopes as the case routes (`measures/desk.py` says who sees what). The
window is half-open, [from, to), on the moment each case was reported; both ends need a timezone.
"""

from __future__ import annotations

from typing import Annotated

from casework_web import Who, error_responses
from fastapi import APIRouter, Query

from intake.api.deps import Rt
from intake.measures.definitions import Measures
from intake.schemas import MeasuresQuery

router = APIRouter(tags=["measures"], responses=error_responses(401, 403, 503))


@router.get(
    "/measures",
    response_model=Measures,
    summary="Response, resolution and satisfaction rates, open and overdue cases, the board",
    description=(
        "Over the cases reported in [from, to) in your place (auditors: everywhere), or in one "
        "compound of it; open and overdue are judged at the moment of the request. Every rate "
        "comes with its numerator and denominator, and is null when there is nothing to count. "
        "Definitions: docs/MEASURES.md."
    ),
)
def get_measures(who: Who, rt: Rt, query: Annotated[MeasuresQuery, Query()]) -> Measures:
    if rt.store_feed is not None:
        rt.store_feed.catch_up()  # what was just recorded is counted
    return rt.measures.measures(who, compound=query.compound, start=query.from_, end=query.to)
