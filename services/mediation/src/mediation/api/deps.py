"""What the routes need: the runtime (`Rt`), the counters (`Meters`), the path parameters, and the
errors a command may answer.

`CaseId` also names the case in the request's log line (`request.state.case_id`), so a route on a
dispute need not; a route on a meeting names its dispute once the desk has found it."""

from __future__ import annotations

from typing import Annotated

from casework_web import error_responses
from casework_web.dependencies import runtime_dependency, runtime_of
from fastapi import Depends, Path, Request

from mediation.api.metrics import MediationMetrics
from mediation.runtime import Runtime

running = runtime_of(Runtime)
"""The dependency behind `Rt`; called by hand only where FastAPI does not inject (readiness,
which `casework_web.ops_router` calls with the request)."""
Rt = Annotated[Runtime, Depends(runtime_dependency(Runtime))]


def metrics(request: Request) -> MediationMetrics:
    """The app's counters, as `casework_web.install` keeps them."""
    found = request.app.state.casework_web.metrics
    if not isinstance(found, MediationMetrics):
        raise RuntimeError(f"the app's metrics are {type(found).__name__}, not MediationMetrics")
    return found


Meters = Annotated[MediationMetrics, Depends(metrics)]


def case_id(
    request: Request,
    case_id: Annotated[str, Path(max_length=100, description="the dispute's case id (a UUID)")],
) -> str:
    request.state.case_id = case_id
    return case_id


CaseId = Annotated[str, Depends(case_id)]
MeetingId = Annotated[str, Path(max_length=100, description="the meeting id from its convening")]

ACTION_ERRORS = error_responses(400, 403, 404, 409)
"""What a command may answer besides its router's own: refused, not yours, unknown, conflict."""
