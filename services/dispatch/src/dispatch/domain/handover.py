"""Who may take held work off someone, and how the record words it.

Work held by a member who fell ill, stopped answering or went away must not wait for them to
decline it: the property manager takes it off them and gives it to someone else, with the
reason. It is told with the events a decline already uses (the case's `AssignmentDeclined`,
a task's `Declined`), recorded by the manager, then a fresh assignment (`Assigned`) or the
queue: every reader of case files (timeline, measures, the relay's subscribers) already
knows them, and the one taken off is not offered that work again by the rule.
"""

from __future__ import annotations

from casework.domain.actors import Actor, Role
from casework.domain.errors import NotPermittedError

REASSIGNERS = frozenset({Role.PROPERTY_MANAGER})
"""Only the property manager moves work between people: the office answers for the work."""


def check_reassigner(actor: Actor, action: str = "take work off someone") -> None:
    if actor.role not in REASSIGNERS:
        raise NotPermittedError(
            f"a {actor.role.value} may not {action}; the property manager does that"
        )


def taken_off_why(holder_id: str, reason: str) -> str:
    """The reason on the fresh assignment: whose work it was, and why it moved."""
    return f"reassigned from {holder_id}: {reason.strip()}"
