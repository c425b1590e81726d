"""The Casework application: the only writer of case files, and the auditor's reader.

Services call these commands with plain values and an `Actor`; they never build events or write
SQL. Each command loads the case, lets the domain decide, and saves; when another command on the
same case won the race (eventsourcing's optimistic concurrency raises `IntegrityError`), it
reloads and decides again, a bounded number of times: one `UnitOfWork` and one retry
(`casework.unit_of_work`) for the library and the services alike.

`Casework` is composed of groups, one module each: `store` (the store, exactly-once tracking,
loading, the unit of work), `lifecycle` (reporting and the shared lifecycle's commands), `kinds`
(a repair's, a leak's, a dispute's own commands) and `auditor` (history, as-of, verify, anchors).
"""

from __future__ import annotations

from casework.application.auditor import AuditorQueries
from casework.application.kinds import KindCommands
from casework.application.lifecycle import LifecycleCommands
from casework.application.store import CREATE_ATTEMPTS, MAX_CLOCK_SKEW, CaseStore

__all__ = ["CREATE_ATTEMPTS", "MAX_CLOCK_SKEW", "CaseStore", "Casework"]


class Casework(LifecycleCommands, KindCommands, AuditorQueries):
    """Case files as event streams, one per case; see the module docstring."""

    name = "casework"
