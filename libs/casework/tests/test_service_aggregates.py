"""A service's own aggregates may share the store with the case files; nothing case-shaped breaks.

Dispatch keeps its roster in the case store so that an assignment and the assignee's load commit
in one transaction (docs/adr/004). The case files' readers must step over those events: the
relay does not publish them (and is not held up by a long run of them), `case_ids` and
`verify_all` do not list them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from casework import Actor, Casework, FakeClock, Role
from casework.messaging.nats_server import NatsServer
from casework.messaging.relay import Relay
from casework.messaging.subjects import STREAM
from casework.testing.nats import jetstream, read_stream
from casework.topics import is_case_topic
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import Tracking
from eventsourcing.utils import get_topic

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
RESIDENT = Actor("resident-0302", Role.RESIDENT)


class Tally(Aggregate):
    """Stands in for a service's own aggregate (dispatch's roster member)."""

    @event("Started")
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    @event("Counted")
    def count_one(self) -> None:
        self.count += 1


@dataclass
class Mixed:
    app: Casework
    cases: list[UUID]
    tally: UUID


def mixed_store(path: Path, *, cases: int, tally_events: int) -> Mixed:
    app = Casework(f"sqlite:///{path / 'mixed.db'}", clock=FakeClock(START))
    ids = [app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b1/0302", "light out")]
    tally = Tally("roster")
    for _ in range(tally_events - 1):
        tally.count_one()
    app.save(tally)
    ids += [
        app.report_repair(RESIDENT, f"jiayu-xx/wanxin-intl/b{i}/0302", "light out")
        for i in range(2, cases + 1)
    ]
    return Mixed(app, ids, tally.id)


def test_only_events_of_another_real_aggregate_are_not_case_topics() -> None:
    assert is_case_topic("casework.domain.repair:Repair.Reported")
    assert not is_case_topic(get_topic(Tally.Counted))
    # An unknown or altered topic stays a case's, so verify still sees and reports it.
    assert is_case_topic("casework.domain.nowhere:Nothing.AtAll")
    assert is_case_topic("")


def test_case_ids_and_verify_all_list_the_case_files_only(tmp_path: Path) -> None:
    store = mixed_store(tmp_path, cases=3, tally_events=5)
    assert list(store.app.case_ids()) == store.cases
    results = list(store.app.verify_all())
    assert [r.case_id for r in results] == store.cases
    assert all(r.ok for r in results)
    assert store.tally not in set(store.app.case_ids())
    store.app.close()


@pytest.mark.nats
@pytest.mark.anyio
async def test_the_relay_publishes_the_cases_and_reads_past_a_long_run_of_other_events(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    # More non-case events in a row than one relay window holds.
    store = mixed_store(tmp_path, cases=4, tally_events=25)
    relay = Relay(store.app, nats_server.url, batch_size=10)
    assert await relay.run_once() == 4 * 2  # each report: Reported + DeadlinesSet
    async with jetstream(nats_server.url) as (_, js):
        messages = await read_stream(js, STREAM)
    published = {UUID((m.headers or {})["ce-subject"]) for m in messages}
    assert published == set(store.cases)
    later = store.app.report_repair(RESIDENT, "jiayu-xx/wanxin-intl/b9/0302", "door stuck")
    assert await Relay(store.app, nats_server.url, batch_size=10).run_once() == 2
    async with jetstream(nats_server.url) as (_, js):
        assert UUID((await read_stream(js, STREAM))[-1].headers["ce-subject"]) == later  # type: ignore[index]
    store.app.close()


def test_inside_a_tracking_block_pending_gives_the_changed_aggregate_until_commit(
    tmp_path: Path,
) -> None:
    app = Casework(f"sqlite:///{tmp_path / 'pending.db'}", clock=FakeClock(START))
    tally = Tally("roster")
    app.save(tally)
    assert app.pending(tally.id) is None
    with app.tracking(Tracking(application_name="test<S#1", notification_id=1)):
        changed = app.repository.get(tally.id)
        changed.count_one()
        app.save(changed)
        assert app.pending(tally.id) is changed
        assert app.repository.get(tally.id).count == 0  # not written yet
    assert app.pending(tally.id) is None
    assert app.repository.get(tally.id).count == 1
    app.close()
