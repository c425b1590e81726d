"""Casework: neighbourhood case files (repairs, leak emergencies, disputes) as event streams.

The public API is `__all__`: `Casework` (the application: commands and auditor queries), the
domain's `Actor`, `Role`, `Tier`, `Status`, the case classes and errors, and the auditor's
`HistoryEntry`, `Anchor`, `VerifyResult`. Adapters (HTTP, NATS) import from here. A name removed
from it is a major version (README "Versions", docs/adr/016); `tests/public_api.txt` keeps the
list a test compares it with. Everything else importable is the library's own and may change.
"""

from importlib.metadata import PackageNotFoundError, version

from casework._extras import MissingExtraError
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
    "MissingExtraError",
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

try:
    __version__ = version("casework")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
