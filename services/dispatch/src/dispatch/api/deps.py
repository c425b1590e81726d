"""What every route needs: the runtime, the path parameters, and acting on work.

A route reaches the running parts one way, as every service's do (ADR 009): `rt: Rt`.
`acting` is the common start of a command on one piece of work: the caller may change things,
the work is in their sight (else 404), the action is counted. `names_the_work`, on the routers
of work, puts the work's id on the access log line (its `case_id`)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from casework.domain.errors import ValidationError
from casework.projections.polling import catch_up_after_write
from casework_web import Principal
from casework_web.dependencies import runtime_dependency, runtime_of
from casework_web.fields import MOMENT_PATTERN
from fastapi import Depends, Path, Request

from dispatch.api.access import check_changes, load_work
from dispatch.api.presenters import work_public
from dispatch.runtime import Runtime
from dispatch.schemas import WorkPublic

ISO_MOMENT = MOMENT_PATTERN
WorkId = Annotated[str, Path(max_length=100, description="a case id or a service task id")]
ActorId = Annotated[str, Path(max_length=128, description="the member's actor id")]
DemandId = Annotated[str, Path(max_length=100, description="a resident's need id")]


log = logging.getLogger("dispatch")

runtime = runtime_of(Runtime)
"""The app's `Runtime` from a request (its lifespan put it there)."""
Rt = Annotated[Runtime, Depends(runtime_dependency(Runtime))]


def names_the_work(request: Request) -> None:
    """The access log line of a request about one piece of work names it (`case_id`)."""
    work_id = request.path_params.get("work_id") or request.path_params.get("case_id")
    if work_id is not None:
        request.state.case_id = work_id


def acting(rt: Runtime, who: Principal, work_id: str, action: str) -> Any:
    """The start of a command on one piece of work (see the module docstring): the work as
    the caller sees it."""
    check_changes(who)
    work = load_work(rt, who, work_id)
    rt.metrics.actions.labels(action).inc()
    return work


def after_write(rt: Runtime) -> None:
    """Let the board see a write that is stored (the writer's next list shows it). A failure
    here is logged and the request still succeeds: a 503 would tell the client to retry (and
    free its Idempotency-Key) for a write that is done; the next read catches the board up."""
    catch_up_after_write(rt.board, log)


def answered(rt: Runtime, work: Any) -> WorkPublic:
    """The work as changed, after the board has seen the change (lists answer consistently)."""
    after_write(rt)
    return work_public(work)


def moment(text: str, what: str) -> datetime:
    """A query's moment: ISO 8601 with its zone (numbers like 0.5 are not moments)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{what}: {text!r} is not a moment like 2026-11-24T09:30:00+08:00"
        ) from None
