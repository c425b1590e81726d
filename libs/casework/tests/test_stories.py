"""The stories of `casework.stories` told in process, each on its own store: every step is a
command the library takes, and every case file a story shows verifies. The same stories are
told to the running services by `casework demo` (libs/casework-stack/tests/test_demo_stack.py),
and the walks of `every_step` by libs/casework-stack/tests/test_every_step_over_http.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import get_args

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.domain import Dispute, Tier
from casework.stories import EVERY_STORY, Story, charging_sheds, every_event, every_step, parking
from casework.stories.in_process import InProcess, Told
from casework.stories.steps import At, Step


def _tell(story: Story, store: Path) -> tuple[Casework, Told]:
    first = next((step.when for step in story.steps if isinstance(step, At)), None)
    clock = FakeClock(first or datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app = Casework(f"sqlite:///{store}", clock=clock)
    return app, InProcess(app, clock).tell(story)


@pytest.mark.parametrize(
    "story", [*EVERY_STORY, *every_step.WALKS], ids=lambda story: story.title.split(" (")[0]
)
def test_every_story_tells_in_process_and_every_case_file_it_shows_verifies(
    story: Story, tmp_path: Path
) -> None:
    app, told = _tell(story, tmp_path / "s.db")
    with app:
        shown = [told.cases[label] for label in story.shows]
        assert shown, "a story shows at least one case file"
        for case_id in shown:
            result = app.verify(case_id)
            assert result.ok, result.describe()
        assert sorted(map(str, app.case_ids())) == sorted(map(str, told.cases.values()))


def test_the_parking_dispute_is_settled_in_the_building(tmp_path: Path) -> None:
    app, told = _tell(parking.STORY, tmp_path / "s.db")
    with app:
        case = app.get_case(told.cases["parking"])
        assert isinstance(case, Dispute)
        assert case.settled_tier is Tier.BUILDING
        assert case.satisfaction == 5


def test_the_charging_shed_sites_are_chosen_over_tallied_rounds(tmp_path: Path) -> None:
    app, told = _tell(charging_sheds.STORY, tmp_path / "s.db")
    with app:
        history = app.history(told.cases["sheds"])
        tallied = [e for e in history if e.event == "RoundHeld" and e.details.get("tally")]
        assert len(tallied) == 3
        assert len(tallied[0].details["options"]) == 6
        assert len(tallied[-1].details["options"]) == 3
        case = app.get_case(told.cases["sheds"])
        assert isinstance(case, Dispute)
        assert case.settled_tier is Tier.COMPOUND


def test_every_step_of_the_vocabulary_is_told_by_some_story_or_walk(tmp_path: Path) -> None:
    """A step no story uses is a step no teller is ever tried on: each one is used somewhere,
    so the in-process tellings here (and the stack demo's over HTTP) exercise it."""
    walks = (every_event.every(),)
    used = {type(step) for story in (*EVERY_STORY, *walks) for step in story.steps}
    assert set(get_args(Step)) - used == set()
    app, told = _tell(walks[0], tmp_path / "w.db")
    with app:
        assert all(r.ok for r in app.verify_all())
        assert len(told.cases) == 5


def test_the_stories_and_the_walks_of_every_step_take_every_step_of_the_vocabulary() -> None:
    """What the stack tells over HTTP (the demo's stories, and the walks of `every_step` in
    libs/casework-stack/tests/test_every_step_over_http.py) takes every kind of step, so each
    of the HTTP teller's means is tried on the running services."""
    used = {type(step) for story in (*EVERY_STORY, *every_step.WALKS) for step in story.steps}
    assert set(get_args(Step)) - used == set()
