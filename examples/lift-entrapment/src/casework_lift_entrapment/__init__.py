"""Lift entrapment (电梯困人) as a kind of case, registered with casework from outside it.

Installing the package is all it takes: its entry point in the group `casework.kinds` names
`LIFT` (`casework_lift_entrapment.kind`), and the library, its CLI, the relay and the services
read the kind from there. See docs/ARCHITECTURE.md, "How to add a kind".
"""

from casework_lift_entrapment.domain import LiftEntrapment
from casework_lift_entrapment.kind import LIFT

__all__ = ["LIFT", "LiftEntrapment"]
