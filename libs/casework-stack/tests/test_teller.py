"""The HTTP teller keeps the story's clock only to turn its dates into the same distances
from now: the services run on real time and refuse meetings in the past."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from casework.domain.actors import Actor, Role
from casework.stories import parking
from casework.stories.steps import AddNote, At, Story
from casework.stories.when import CHINA, minutes
from casework_stack.client import Api, Cast, StepFailedError
from casework_stack.progress import Progress
from casework_stack.scene import Scene
from casework_stack.teller import HttpTeller


def _teller(tmp_path: Path) -> HttpTeller:
    api = Api({})
    scene = Scene(api, Cast(tmp_path / "tokens.json"), Progress(io.StringIO()), "x")
    return HttpTeller(scene, parking.STORY)


def test_a_date_in_the_story_is_as_far_from_now_as_from_the_storys_clock(tmp_path: Path) -> None:
    teller = _teller(tmp_path)
    teller.do(At(datetime(2021, 4, 12, 20, 0, tzinfo=CHINA)))
    teller.do(minutes(30))
    before = datetime.now(UTC)
    when = datetime.fromisoformat(teller.from_now(datetime(2021, 4, 13, 19, 30, tzinfo=CHINA)))
    after = datetime.now(UTC)
    assert before + timedelta(hours=23) <= when <= after + timedelta(hours=23)
    assert when.utcoffset() == timedelta(hours=8)
    later = datetime.fromisoformat(teller.from_now(timedelta(days=2)))
    assert before + timedelta(days=2) <= later <= datetime.now(UTC) + timedelta(days=2)


def test_a_due_date_is_as_many_days_from_today_as_from_the_storys_day(tmp_path: Path) -> None:
    teller = _teller(tmp_path)
    teller.do(At(datetime(2021, 4, 13, 20, 30, tzinfo=CHINA)))
    today = datetime.now(UTC).date()
    due = date.fromisoformat(teller.due_from_today("2021-04-20"))
    assert (due - today).days in (7, 8)  # 8 only if midnight passed in between


def test_a_step_it_has_no_means_for_stops_the_story_with_the_steps_name(tmp_path: Path) -> None:
    """The intake has no route for notes: the story stops there, saying which step."""
    story = Story("t", (AddNote("c", Actor("a", Role.RESIDENT), "x"),), shows=())
    teller = HttpTeller(_teller(tmp_path).scene, story)
    teller.cases["c"] = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(StepFailedError, match="AddNote"):
        teller.tell()
