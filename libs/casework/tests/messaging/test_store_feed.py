"""The store feed's own promises, with a handler that writes (as a service's reaction does):
its effects and the event's position commit together or not at all; an event the domain refuses
for good is logged and passed, the feed going on; only what `concerns` the service is handed on.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.contracts import CaseEvent, RepairEvent
from casework.domain import Actor, InvalidTransitionError, Role
from casework.messaging.store_feed import StoreFeed
from casework.testing.postgres import STORE_PARAMS, empty_store_url

NAME = "notes-store"
FLAT = "jiayu-xx/wanxin-intl/b12/0302"
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
RESIDENT = Actor("resident-0302", Role.RESIDENT)


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return empty_store_url(request.param, request, tmp_path)


@pytest.fixture
def app(store_url: str, clock: FakeClock) -> Iterator[Casework]:
    application = Casework(store_url, clock=clock)
    yield application
    application.close()


class Noting:
    """Adds a note to each newly reported repair (an effect in the store); refuses the ones in
    `refused` for good, and fails on the ones in `failing` after writing."""

    def __init__(self) -> None:
        self.refused: set[UUID] = set()
        self.failing: set[UUID] = set()
        self.seen: list[CaseEvent] = []

    def __call__(self, event: CaseEvent, app: Casework) -> None:
        self.seen.append(event)
        if event.type != "casework.repair.reported.v1":
            return
        if event.case_id in self.refused:
            raise InvalidTransitionError("this case cannot take a note")
        app.add_note(event.case_id, STAFF, "seen by the feed")
        if event.case_id in self.failing:
            raise RuntimeError("the handler fell over after writing")


def notes(app: Casework, case_id: UUID) -> int:
    return [e.event for e in app.history(case_id)].count("NoteAdded")


def feed(app: Casework, handler: Noting) -> StoreFeed:
    return StoreFeed(app, handler, name=NAME, concerns=lambda model: issubclass(model, RepairEvent))


def test_effects_and_position_commit_together_or_not_at_all(app: Casework) -> None:
    first = app.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing")
    handler = Noting()
    handler.failing.add(first)
    following = feed(app, handler)

    with pytest.raises(RuntimeError):
        following.catch_up()

    assert notes(app, first) == 0  # the note was not written...
    assert app.process_recorder.max_tracking_id(NAME) is None  # ...nor the position
    handler.failing.clear()
    handler.seen.clear()
    following.forget()  # what the poller does after a failure
    assert following.catch_up() == len(handler.seen)
    assert handler.seen[0].type == "casework.repair.reported.v1"  # read again
    assert handler.seen[-1].type == "casework.repair.note_added.v1"  # its effect, handed on too
    assert notes(app, first) == 1
    assert feed(app, Noting()).catch_up() == 0  # a restart handles nothing again
    assert notes(app, first) == 1


def test_an_event_the_domain_refuses_is_logged_and_passed(
    app: Casework, caplog: pytest.LogCaptureFixture
) -> None:
    refused = app.report_repair(RESIDENT, FLAT, "the kitchen tap drips", "plumbing")
    dispute = app.report_dispute(RESIDENT, "jiayu-xx/wanxin-intl", "noise after ten", "noise")
    later = app.report_repair(RESIDENT, FLAT, "the hall light is out", "electrical")
    handler = Noting()
    handler.refused.add(refused)

    with caplog.at_level(logging.ERROR, logger="casework.feed"):
        handled = feed(app, handler).catch_up()

    [line] = [r.getMessage() for r in caplog.records if r.name == "casework.feed"]
    assert line.startswith(f"{NAME} could not handle casework.repair.reported.v1 v1:")
    assert "this case cannot take a note" in line
    assert (notes(app, refused), notes(app, later)) == (0, 1)
    assert dispute not in {event.case_id for event in handler.seen}  # not a repair: not ours
    assert handled == len(handler.seen) - 1  # all but the refused one
    assert feed(app, Noting()).catch_up() == 0  # its position was recorded all the same
