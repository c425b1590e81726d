"""/service-list: the volunteer service list (志愿服务清单)."""

from __future__ import annotations

from typing import Annotated

from casework.domain.errors import NotPermittedError
from casework_web import Who, error_responses
from fastapi import APIRouter, Query

from dispatch.api.access import OVERSEERS
from dispatch.api.deps import ISO_MOMENT, Rt, moment
from dispatch.api.presenters import service_entry_public
from dispatch.schemas import ServiceList

router = APIRouter(tags=["service list"], responses=error_responses(400, 401, 403, 503))


@router.get(
    "/service-list",
    response_model=ServiceList,
    summary="The volunteer service list (志愿服务清单): what was done, where, for whom",
)
def service_list(
    who: Who,
    rt: Rt,
    member: Annotated[str | None, Query(max_length=128)] = None,
    since: Annotated[
        str | None,
        Query(
            pattern=ISO_MOMENT,
            description="entries from this moment on, with its zone: 2026-11-24T09:30:00+08:00",
        ),
    ] = None,
) -> ServiceList:
    start = moment(since, "since") if since is not None else None
    if not (who.is_auditor or who.actor.role in OVERSEERS or member == who.actor.id):
        raise NotPermittedError(
            "the service list is for the property office and leaders; "
            "members see their own with ?member=<your id>"
        )
    rt.board.catch_up()
    place = None if who.is_auditor or member == who.actor.id else who.place
    rows = rt.board.services(place=place, member=member, since=start)
    return ServiceList(items=[service_entry_public(e) for e in rows])
