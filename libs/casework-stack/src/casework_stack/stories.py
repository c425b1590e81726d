"""The article's stories, told to the running services by the people in them.

The stories themselves are the library's (`casework.stories`, one module each, stated once as
steps); this list says which the stack demo tells, under which letter, with which services,
and `teller.HttpTeller` tells them.

Every step is an HTTP request by a person with their own token (a resident to the intake, a
volunteer to dispatch, a party secretary to mediation), or a wait for what a service does by
itself when it hears an event over NATS. Nothing here touches the store or the library's
commands: if a service cannot do a step, the story stops there and says which request failed.

Each story narrates what it did, one line per step, in words that are the same on every run
(no ids or times), so the demo's output is deterministic apart from the case files' ids, times
and hashes.
"""

from __future__ import annotations

from collections.abc import Callable

from casework.stories import charging_sheds, leak, main_road, parking, volunteer_repair
from casework.stories import steps as library

from casework_stack.scene import Scene, Story
from casework_stack.teller import HttpTeller


def told(story: library.Story) -> Callable[[Scene], list[str]]:
    """A story of `casework.stories`, told to the services by the HTTP teller."""
    return lambda scene: HttpTeller(scene, story).tell()


STORIES: tuple[Story, ...] = (
    Story("a", leak.STORY.title, ("intake", "dispatch", "mediation"), told(leak.STORY)),
    Story("b", volunteer_repair.STORY.title, ("intake", "dispatch"), told(volunteer_repair.STORY)),
    Story("c", parking.STORY.title, ("intake", "mediation"), told(parking.STORY)),
    Story("d", main_road.STORY.title, ("intake", "mediation"), told(main_road.STORY)),
    Story("e", charging_sheds.STORY.title, ("intake", "mediation"), told(charging_sheds.STORY)),
)
