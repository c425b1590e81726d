"""Case files that walk every kind of case through every event it can record, for tests.

The walks are stated once, as steps, in `casework.stories.every_event`; these functions tell
them in process through the application's public commands, on the caller's clock, and return
the case ids the tests read back.
"""

from __future__ import annotations

from uuid import UUID

from casework.application import Casework
from casework.clock import FakeClock
from casework.stories import every_event
from casework.stories.every_event import (
    ADDRESS,
    LEADER,
    NEIGHBOUR,
    OFFICER,
    RESIDENT,
    SECRETARY,
    STAFF,
    VOLUNTEER,
)
from casework.stories.in_process import InProcess
from casework.stories.steps import Story

__all__ = [
    "ADDRESS",
    "LEADER",
    "NEIGHBOUR",
    "OFFICER",
    "RESIDENT",
    "SECRETARY",
    "STAFF",
    "VOLUNTEER",
    "dispute_story",
    "every_story",
    "leak_story",
    "repair_story",
]


def _tell(app: Casework, clock: FakeClock, story: Story) -> list[UUID]:
    told = InProcess(app, clock).tell(story)
    return [told.cases[label] for label in story.shows]


def repair_story(app: Casework, clock: FakeClock, description: str = "corridor light out") -> UUID:
    """Every repair event: report, second reporter, decline, escalate, reopen, rate, close."""
    return _tell(app, clock, every_event.repair(description))[0]


def leak_story(app: Casework, clock: FakeClock, description: str = "water under the door") -> UUID:
    """Every leak event: contact attempts until the owner is reached, water stopped, cause."""
    return _tell(app, clock, every_event.leak(description))[0]


def dispute_story(app: Casework, clock: FakeClock, description: str = "EV cables") -> UUID:
    """Every dispute event: rounds that fail, one that agrees, a follow-up, rating, close."""
    return _tell(app, clock, every_event.dispute(description))[0]


def every_story(app: Casework, clock: FakeClock) -> list[UUID]:
    """One case of each kind through every event it can record, and two more to link to."""
    return _tell(app, clock, every_event.every())
