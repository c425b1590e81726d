"""What every route needs: the runtime, the path parameters, and the start of a command on a case.

`OnCase` is the common start of a command on one case: who asks, the runtime, and the case id,
named in the request's log line before anything can fail (`request.state.case_id`); `answer`
shows the case as changed, as this caller may see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from casework import Case
from casework_web import Principal, Who
from casework_web.dependencies import runtime_dependency, runtime_of
from fastapi import Depends, Path, Request

from intake.api.presenters import case_public
from intake.runtime import Runtime
from intake.schemas import CasePublic

runtime = runtime_of(Runtime)
"""The app's `Runtime`, for what is not a route (`/readyz`'s `readiness`)."""
Rt = Annotated[Runtime, Depends(runtime_dependency(Runtime))]
CaseId = Annotated[str, Path(max_length=100, description="the case id (a UUID)")]


@dataclass(frozen=True)
class Command:
    """A command on one case, started: see the module docstring."""

    case_id: str
    who: Principal
    rt: Runtime

    def answer(self, case: Case) -> CasePublic:
        return case_public(self.who, case)


async def start_command(case_id: CaseId, who: Who, rt: Rt, request: Request) -> Command:
    request.state.case_id = case_id
    return Command(case_id, who, rt)


OnCase = Annotated[Command, Depends(start_command)]
