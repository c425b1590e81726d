"""The HTTP teller keeps the story's clock only to turn its dates into the same distances
from now: the services run on real time and refuse meetings in the past."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest
from casework.domain.actors import Actor, Role
from casework.stories import parking
from casework.stories.steps import AddNote, At, Step, Story
from casework.stories.when import CHINA, minutes
from casework_stack.client import Api, Cast, StepFailedError
from casework_stack.progress import Progress
from casework_stack.scene import Scene
from casework_stack.teller import MEANS, HttpTeller


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


def test_every_kind_of_step_has_a_means_over_http() -> None:
    """A step added to the vocabulary (`casework.stories.steps.Step`) without a means here
    fails this test, not a story told to the stack; and the table names no kind that is gone."""
    assert set(MEANS) == set(get_args(Step))
    assert all(callable(means) for means in MEANS.values())


def test_a_step_no_service_takes_for_its_kind_of_case_stops_the_story_saying_why(
    tmp_path: Path,
) -> None:
    """No service has a route for a note on a dispute: the story stops there, naming the step
    and where a note can go, before any request is made."""
    officer = Actor("officer-a", Role.COMMUNITY_OFFICER)
    story = Story("t", (AddNote("c", officer, "x"),), shows=(), places={officer.id: "jiayu-xx"})
    teller = HttpTeller(_teller(tmp_path).scene, story)
    teller.cases["c"] = "00000000-0000-0000-0000-000000000000"
    teller.kinds["c"] = "dispute"
    with pytest.raises(StepFailedError, match=r"^AddNote: no service takes a note for a dispute"):
        teller.tell()
    assert teller.api.calls == 0
