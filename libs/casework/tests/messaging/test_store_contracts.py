"""`StoreContracts` makes of each stored case event its contract, with the place of the case's
first event, whatever the cache holds; keeps at most `cache_size` places; and steps over other
aggregates' events. (Whether a service's store feed hands on what the relay publishes is tested
in each service's `test_feeds.py`.)"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from casework import Actor, Casework, FakeClock, Role
from casework.contracts import CaseEvent, CasePlace, to_contract
from casework.messaging.store_contracts import NoFirstEventError, StoreContracts
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
PLACES = [
    "jiayu-xx/wanxin-intl/b1/0302",
    "jiayu-xx/jinyu-garden/b3/0101",
    "dongsheng/huayuan/b7/1201",
    "dongsheng/lanting/b2/0502",
]
"""Four communities and compounds: a place taken from the wrong case shows in the contract."""


class Tally(Aggregate):
    """Stands in for a service's own aggregate (dispatch's roster member): it has no contract."""

    @event("Started")
    def __init__(self, name: str) -> None:
        self.name = name


def expected(app: Casework, case_id: UUID) -> list[CaseEvent]:
    """Each event's contract made by hand, with the place of the case's own first event, from
    the events as stored (sealed values stay sealed, as the relay publishes them)."""
    events = [app.mapper.to_domain_event(s) for s in app.recorder.select_events(case_id)]
    place = CasePlace.of(events[0])
    return [to_contract(e, place) for e in events]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    cases=st.integers(min_value=1, max_value=len(PLACES)),
    notes=st.lists(st.integers(min_value=0, max_value=len(PLACES) - 1), max_size=20),
    cache_size=st.integers(min_value=1, max_value=len(PLACES) + 1),
)
def test_every_event_gets_its_own_cases_place_whatever_the_cache_keeps(
    cases: int, notes: list[int], cache_size: int
) -> None:
    """Cases interleaved in the log, so that with a small cache a case's place is forgotten and
    read back from the store; the cache never holds more than `cache_size` places."""
    with Casework("sqlite:///:memory:", clock=FakeClock(T0)) as app:
        ids = [app.report_repair(RESIDENT, PLACES[i], "light out") for i in range(cases)]
        app.save(Tally("roster"))  # another aggregate's event in the log, which is stepped over
        for which in notes:
            app.add_note(ids[which % cases], STAFF, f"note on case {which % cases}")
        contracts = StoreContracts(app, cache_size=cache_size)

        made: dict[UUID, list[CaseEvent]] = {case_id: [] for case_id in ids}
        for notification in app.recorder.select_notifications(start=1, limit=1000):
            contract = contracts.of_notification(notification)
            assert contracts.cached() <= cache_size
            if contract is None:
                assert notification.originator_id not in made
                continue
            made[contract.case_id].append(contract)

        assert made == {case_id: expected(app, case_id) for case_id in ids}


def test_a_decoded_event_and_its_notification_give_the_same_contract() -> None:
    with Casework("sqlite:///:memory:", clock=FakeClock(T0)) as app:
        case_id = app.report_leak(RESIDENT, PLACES[1], "water through the ceiling", "0402")
        app.stop_water(case_id, STAFF, "staff_closed_valve")
        tally = Tally("roster")
        app.save(tally)
        notifications = app.recorder.select_notifications(start=1, limit=100)

        by_notification = [StoreContracts(app).of_notification(n) for n in notifications]
        decoded = [StoreContracts(app)(app.mapper.to_domain_event(n)) for n in notifications]

        assert by_notification == decoded
        assert by_notification[-1] is None  # the tally's
        assert [c.type for c in by_notification if c is not None] == [
            "casework.leak.reported.v1",
            "casework.leak.deadlines_set.v1",
            "casework.leak.water_stopped.v1",
        ]


def test_a_case_without_its_first_event_is_named() -> None:
    """A later event whose case's first is missing from the store (an incomplete copy): the
    place cannot be known, and the error says which case."""
    with Casework("sqlite:///:memory:", clock=FakeClock(T0)) as source:
        case_id = source.report_repair(RESIDENT, PLACES[0], "light out")
        source.add_note(case_id, STAFF, "parts ordered")
        later: list[StoredEvent] = source.recorder.select_events(case_id, gt=1)
    with Casework("sqlite:///:memory:", clock=FakeClock(T0)) as copy:
        copy.recorder.insert_events(later)
        [notification, *_] = copy.recorder.select_notifications(start=1, limit=10)
        with pytest.raises(NoFirstEventError, match=str(case_id)):
            StoreContracts(copy).of_notification(notification)


def test_a_cache_of_no_places_is_refused() -> None:
    with (
        Casework("sqlite:///:memory:", clock=FakeClock(T0)) as app,
        pytest.raises(ValueError, match="at least 1"),
    ):
        StoreContracts(app, cache_size=0)


def test_threads_reading_at_once_never_break_the_place_cache(tmp_path: Path) -> None:
    """A relay's dropped read ahead can still run beside the read after it: both use one
    `StoreContracts`; with a cache of one place and many cases, a lookup races an eviction."""
    import sys
    import threading

    with Casework(f"sqlite:///{tmp_path / 'casework.db'}") as app:
        ids = [app.report_repair(RESIDENT, PLACES[i % 4], "light out") for i in range(12)]
        for case_id in ids:
            app.add_note(case_id, STAFF, "note")
        events = [
            app.mapper.to_domain_event(stored)
            for case_id in ids
            for stored in app.recorder.select_events(case_id, gt=1)
        ]
        contracts = StoreContracts(app, cache_size=1)
        errors: list[BaseException] = []

        def read() -> None:
            try:
                for _ in range(500):
                    for each in events:
                        contracts.place(each)
            except BaseException as error:
                errors.append(error)

        switching = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)
        try:
            threads = [threading.Thread(target=read) for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            sys.setswitchinterval(switching)
        assert errors == []
        assert contracts.cached() == 1
