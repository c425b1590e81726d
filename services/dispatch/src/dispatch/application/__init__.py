"""The dispatch application: the roster, the demand list and the work, on the case store.

`Dispatch` holds a `Casework` (`dispatch.casework`), it is not one: the case files' own
commands (report, escalate, resolve, history, verify) are the library's, called on it; what is
here is dispatch's. Each command is one unit of work (`casework.unit_of_work`, the library's
`UnitOfWork` and its retry on a version clash), so whatever changes a case and a member's load is
saved in one transaction, or not at all.

The commands are split by what they act on: `assigning` (the rule, case events, reassigning),
`roster`, `work_actions` (the assignee's and the leak protocol's), `demands`; `unit` is the
unit of work with dispatch's aggregates by name, `work` what a decision is about and did.
"""

from dispatch.application.assigning import Assigning
from dispatch.application.demands import DemandCommands
from dispatch.application.roster import RosterCommands
from dispatch.application.unit import Unit
from dispatch.application.work import (
    ASSIGNABLE_KINDS,
    DISPATCHER,
    AssignedMeanwhileError,
    NotFoundError,
    Outcome,
    Raised,
    needs_assignment,
    task_is_open,
    work_for_case,
    work_for_task,
)
from dispatch.application.work_actions import WorkCommands

__all__ = [
    "ASSIGNABLE_KINDS",
    "DISPATCHER",
    "AssignedMeanwhileError",
    "Assigning",
    "Dispatch",
    "NotFoundError",
    "Outcome",
    "Raised",
    "Unit",
    "needs_assignment",
    "task_is_open",
    "work_for_case",
    "work_for_task",
]


class Dispatch(RosterCommands, WorkCommands, DemandCommands):
    """Every dispatch command, on one `Casework` (see the module docstring)."""
