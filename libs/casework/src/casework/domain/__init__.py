"""The casework domain: places, actors, the three kinds of case and the ladder.

Nothing here performs I/O or reads the clock; adapters depend on this package, never the reverse.
"""

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
