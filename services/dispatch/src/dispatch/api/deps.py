"""What every route needs: the runtime, the metrics, the path parameters, and acting on work.

`acting` is the common start of a command on one piece of work: the caller may change things,
the work is in their sight (else 404), the action is counted."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from casework.domain.errors import ValidationError
from casework.projections.polling import catch_up_after_write
from casework_web import Principal
from casework_web.fields import MOMENT_PATTERN
from fastapi import Path, Request

from dispatch.api.access import check_changes, load_work
from dispatch.api.metrics import DispatchMetrics
from dispatch.api.presenters import work_public
from dispatch.runtime import Runtime
from dispatch.schemas import WorkPublic

ISO_MOMENT = MOMENT_PATTERN
WorkId = Annotated[str, Path(max_length=100, description="a case id or a service task id")]
ActorId = Annotated[str, Path(max_length=128, description="the member's actor id")]
DemandId = Annotated[str, Path(max_length=100, description="a resident's need id")]


log = logging.getLogger("dispatch")


def rt_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def acting(request: Request, who: Principal, work_id: str, action: str) -> Runtime:
    """The start of a command on one piece of work (see the module docstring)."""
    rt = rt_of(request)
    check_changes(who)
    request.state.case_id = work_id
    load_work(rt, who, work_id)
    rt_metrics(request).actions.labels(action).inc()
    return rt


def rt_metrics(request: Request) -> DispatchMetrics:
    metrics: DispatchMetrics = request.app.state.casework_web.metrics
    return metrics


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
