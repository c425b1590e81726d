"""The casework domain: places, actors, the three kinds of case and the ladder.

Nothing here performs I/O or reads the clock; adapters depend on this package, never the reverse.
"""

# Imported when first asked for (PEP 562), so `import casework.cli` or one light submodule does
# not pay for eventsourcing, pydantic and the whole domain (issue 16: the CLI's start).
from __future__ import annotations

from typing import TYPE_CHECKING

from casework._lazy import lazy_names

if TYPE_CHECKING:
    from casework.domain.actors import SYSTEM, Actor, Role
    from casework.domain.case import Case, Priority, Status
    from casework.domain.dispute import Dispute
    from casework.domain.errors import (
        CaseworkError,
        InvalidTransitionError,
        NotPermittedError,
        OutOfOrderError,
        ValidationError,
    )
    from casework.domain.leak import LeakEmergency
    from casework.domain.places import Address, Tier
    from casework.domain.repair import Repair

_WHERE = {
    "SYSTEM": "casework.domain.actors",
    "Actor": "casework.domain.actors",
    "Role": "casework.domain.actors",
    "Case": "casework.domain.case",
    "Priority": "casework.domain.case",
    "Status": "casework.domain.case",
    "Dispute": "casework.domain.dispute",
    "CaseworkError": "casework.domain.errors",
    "InvalidTransitionError": "casework.domain.errors",
    "NotPermittedError": "casework.domain.errors",
    "OutOfOrderError": "casework.domain.errors",
    "ValidationError": "casework.domain.errors",
    "LeakEmergency": "casework.domain.leak",
    "Address": "casework.domain.places",
    "Tier": "casework.domain.places",
    "Repair": "casework.domain.repair",
}
"""Where each public name lives."""


__getattr__, __dir__ = lazy_names(__name__, globals(), _WHERE)


__all__ = [
    "SYSTEM",
    "Actor",
    "Address",
    "Case",
    "CaseworkError",
    "Dispute",
    "InvalidTransitionError",
    "LeakEmergency",
    "NotPermittedError",
    "OutOfOrderError",
    "Priority",
    "Repair",
    "Role",
    "Status",
    "Tier",
    "ValidationError",
]
