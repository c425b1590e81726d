"""`GET /measures`: the measures of a scope and window, as JSON.

Same bearer tokens and scopes as the case routes (`desk.py` says who sees what). The window is
half-open, [from, to), on the moment each case was reported; both ends need a timezone.
"""

from __future__ import annotations

from typing import Annotated, Any

from casework_web import Who, error_responses
from casework_web.fields import Moment
from fastapi import APIRouter, Query, Request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

from intake.measures.definitions import Measures
from intake.measures.desk import MeasuresDesk


class MeasuresQuery(BaseModel):
    """Which cases: a compound (default: every place you answer for) and a reporting window,
    'from' before 'to' when both are given."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    compound: Annotated[str, Field(min_length=1, max_length=130)] | None = Field(
        default=None,
        description="a compound id (wanxin-intl) or community/compound (jiayu-xx/wanxin-intl)",
    )
    from_: Moment | None = Field(
        default=None,
        alias="from",
        description="cases reported at or after this moment, e.g. 2026-11-01T00:00:00+08:00",
    )
    to: Moment | None = Field(
        default=None, description="cases reported before this moment (with its timezone)"
    )

    @model_validator(mode="after")
    def _window(self) -> MeasuresQuery:
        if self.from_ is not None and self.to is not None and self.from_ >= self.to:
            raise PydanticCustomError("window", "'from' must be before 'to'")
        return self


def measures_desk(request: Request) -> MeasuresDesk:
    runtime: Any = request.app.state.runtime
    if runtime.store_feed is not None:
        runtime.store_feed.catch_up()  # what was just recorded is counted
    desk: MeasuresDesk = runtime.measures
    return desk


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
def get_measures(who: Who, request: Request, query: Annotated[MeasuresQuery, Query()]) -> Measures:
    return measures_desk(request).measures(
        who, compound=query.compound, start=query.from_, end=query.to
    )
