"""Casework: neighbourhood case files (repairs, leak emergencies, disputes) as event streams.

The public API: `Casework` (the application: commands and auditor queries), the domain's
`Actor`, `Role`, `Tier` and errors. Adapters (HTTP, NATS) import from here.
"""

from casework.application import Casework
from casework.audit import Anchor, HistoryEntry, VerifyResult
from casework.clock import Clock, FakeClock, system_clock
from casework.domain import (
    SYSTEM,
    Actor,
    Address,
    Case,
    CaseworkError,
    Dispute,
    InvalidTransitionError,
    LeakEmergency,
    NotPermittedError,
    OutOfOrderError,
    Priority,
    Repair,
    Role,
    Status,
    Tier,
    ValidationError,
)
from casework.domain.errors import (
    CaseExistsError,
    CaseNotFoundError,
    ConcurrencyConflictError,
    TamperedError,
)
from casework.kinds import Kind, register_kind

__all__ = [
    "SYSTEM",
    "Actor",
    "Address",
    "Anchor",
    "Case",
    "CaseExistsError",
    "CaseNotFoundError",
    "Casework",
    "CaseworkError",
    "Clock",
    "ConcurrencyConflictError",
    "Dispute",
    "FakeClock",
    "HistoryEntry",
    "InvalidTransitionError",
    "Kind",
    "LeakEmergency",
    "NotPermittedError",
    "OutOfOrderError",
    "Priority",
    "Repair",
    "Role",
    "Status",
    "TamperedError",
    "Tier",
    "ValidationError",
    "VerifyResult",
    "register_kind",
    "system_clock",
]
