"""The article's stories, each stated once as steps (who does what to which case, when, why).

One module per story holds its people and its steps as data (`steps.py` is their vocabulary);
tellers map each step to their own means: `in_process.InProcess` to the `Casework` application
on a hand-moved clock (`casework demo --in-process`, the tests), the stack's teller to the
services' HTTP APIs. A story never calls a teller, so every telling is of the same story.
Beside the stories, walks for tests in the same words: `every_event` (every event, in process)
and `every_step` (with the stories, every kind of step, in a way both tellers take).
"""

from __future__ import annotations

from casework.stories import charging_sheds, leak, main_road, parking, volunteer_repair
from casework.stories.steps import Story

IN_PROCESS_DEMO: tuple[Story, ...] = (leak.STORY, main_road.STORY, volunteer_repair.STORY)
"""The stories `casework demo --in-process` tells, in this order, as (a), (b), (c)."""

EVERY_STORY: tuple[Story, ...] = (*IN_PROCESS_DEMO, parking.STORY, charging_sheds.STORY)
"""Every story here; `casework demo` over the services tells parking and charging sheds too."""

__all__ = ["EVERY_STORY", "IN_PROCESS_DEMO", "Story"]
