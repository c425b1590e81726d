"""The case feed hands the read models one kind of event whichever way it came: what the store
feed makes of the log is, event for event, what the relay publishes on NATS."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from casework import Actor, Casework, Role
from casework.clock import FakeClock
from casework.contracts import parse_event
from casework.messaging.relay import StoreReader
from intake.feeds import StoreContracts
from intake.testing import COMPOUND, FLAT, T0

RESIDENT = Actor("r-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
MANAGER = Actor("mgr-chen", Role.PROPERTY_MANAGER)


@pytest.mark.parametrize("cache_size", [1, 100_000])
def test_the_store_feed_makes_of_each_event_the_contract_the_relay_publishes(
    tmp_path: Path, cache_size: int
) -> None:
    """Cases interleaved in the log, so that a case's later events come after another case's
    report: with a cache of one place, each is looked up in the store again."""
    clock = FakeClock(T0)
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=clock)
    repair = app.report_repair(RESIDENT, FLAT, "light out", "lighting")
    leak = app.report_leak(RESIDENT, FLAT, "water through the ceiling", "0402")
    dispute = app.report_dispute(RESIDENT, COMPOUND, "drums after 22:00", "noise", ["r-0402"])
    app.assign(repair, STAFF, STAFF, "on duty")
    app.stop_water(leak, STAFF, "staff_closed_valve")
    clock.advance(timedelta(hours=1))
    meeting = app.convene_mediation(dispute, MANAGER, "roundtable", clock(), "office", [])
    app.escalate(repair, MANAGER, "needs the compound's electrician")
    app.record_cause(leak, STAFF, "valve left open")
    app.reach_agreement(dispute, MANAGER, meeting, ["no drums after 21:00"], [])

    published = [
        parse_event(out.body, out.headers["ce-type"]) for out in StoreReader(app).after(0, 1000)
    ]
    contract = StoreContracts(app, cache_size=cache_size)
    made = [
        contract(app.mapper.to_domain_event(n))
        for n in app.recorder.select_notifications(start=1, limit=1000)
    ]
    assert len(published) == app.recorder.max_notification_id()  # every one a case event
    assert made == published
    app.close()
