"""The article's stories, each stated once as steps (who does what to which case, when, why).

One module per story holds its people and its steps as data (`steps.py` is their vocabulary);
tellers map each step to their own means: `in_process.InProcess` to the `Casework` application
on a hand-moved clock (`casework demo --in-process`, the tests), the stack's teller to the
services' HTTP APIs. A story never calls a teller, so every telling is of the same story.
"""

from __future__ import annotations

from casework.stories import leak, main_road, volunteer_repair
from casework.stories.steps import Story

IN_PROCESS_DEMO: tuple[Story, ...] = (leak.STORY, main_road.STORY, volunteer_repair.STORY)
"""The stories `casework demo --in-process` tells, in this order, as (a), (b), (c)."""

__all__ = ["IN_PROCESS_DEMO", "Story"]
