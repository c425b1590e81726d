"""The terms of the shared case lifecycle: statuses, priorities, channels, which events answer.

Kept apart from `casework.domain.case` so that the aggregate's command groups
(`case_assignment`, `case_escalation`, `case_settlement`) can read them without importing the
aggregate; `casework.domain.case` re-exports every name here, its import path of old.
"""

from __future__ import annotations

from enum import StrEnum

from casework.domain.text import require_text


class Status(StrEnum):
    REPORTED = "reported"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WORK_DONE = "work_done"
    IN_MEDIATION = "in_mediation"
    AGREED = "agreed"
    RESOLVED = "resolved"
    CONFIRMED = "confirmed"
    CLOSED = "closed"


class Priority(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


SETTLED = frozenset({Status.RESOLVED, Status.CONFIRMED, Status.CLOSED})

ANSWERS_A_TIER = frozenset(
    {
        "Acknowledged",
        "Assigned",
        "OwnerContactAttempted",
        "ArrivedOnSite",
        "WaterStopped",
        "CauseRecorded",
        "MediationConvened",
    }
)
"""Names of the events that answer a case at its tier (and, the first of them, at all).

One list, read by `Case.Event.apply` and by whoever follows the events without the aggregate
(the intake's measures), so "responded" means the same everywhere. A leak's call to the owner,
arrival, water stopped or cause found is a response even if nobody pressed "acknowledge" (else a
leak stopped in five minutes would later climb for "no response"); convening a meeting is a
dispute's. Kinds' events are named here too: an event's class name is what the log carries.
"""
CHANNELS = ("phone", "wechat", "walk_in", "talk_meeting", "app", "patrol")


def require_case_text(value: str, what: str, limit: int = 4000) -> str:
    """A case's free text: at most 4000 characters unless said otherwise."""
    return require_text(value, what, limit)
