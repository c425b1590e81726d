"""Casework: neighbourhood case files (repairs, leak emergencies, disputes) as event streams.

The public API is `__all__`: `Casework` (the application: commands and auditor queries), the
domain's `Actor`, `Role`, `Tier`, `Status`, the case classes and errors, and the auditor's
`HistoryEntry`, `Anchor`, `VerifyResult`. Adapters (HTTP, NATS) import from here. A name removed
from it is a major version (README "Versions", docs/adr/016); `tests/public_api.txt` keeps the
list a test compares it with. Everything else importable is the library's own and may change.
"""

# Imported when first asked for (PEP 562), so `import casework.cli` or one light submodule does
# not pay for eventsourcing, pydantic and the whole domain (issue 16: the CLI's start).
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from casework._extras import MissingExtraError
from casework._lazy import lazy_names

if TYPE_CHECKING:
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

_WHERE = {
    "Casework": "casework.application",
    "Anchor": "casework.audit",
    "HistoryEntry": "casework.audit",
    "VerifyResult": "casework.audit",
    "Clock": "casework.clock",
    "FakeClock": "casework.clock",
    "system_clock": "casework.clock",
    "SYSTEM": "casework.domain",
    "Actor": "casework.domain",
    "Address": "casework.domain",
    "Case": "casework.domain",
    "CaseworkError": "casework.domain",
    "Dispute": "casework.domain",
    "InvalidTransitionError": "casework.domain",
    "LeakEmergency": "casework.domain",
    "NotPermittedError": "casework.domain",
    "OutOfOrderError": "casework.domain",
    "Priority": "casework.domain",
    "Repair": "casework.domain",
    "Role": "casework.domain",
    "Status": "casework.domain",
    "Tier": "casework.domain",
    "ValidationError": "casework.domain",
    "CaseExistsError": "casework.domain.errors",
    "CaseNotFoundError": "casework.domain.errors",
    "ConcurrencyConflictError": "casework.domain.errors",
    "TamperedError": "casework.domain.errors",
    "Kind": "casework.kinds",
    "register_kind": "casework.kinds",
}
"""Where each public name lives."""


__getattr__, __dir__ = lazy_names(__name__, globals(), _WHERE)


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
