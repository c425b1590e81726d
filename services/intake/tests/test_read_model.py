"""The case index agrees with the case files: after any sequence of commands, each row's status,
tier, kind and version are what the aggregate says; feeding the same events twice changes
nothing; an event ahead of its predecessor is refused."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from casework import Actor, Casework, CaseworkError, Role
from casework.clock import FakeClock
from casework.messaging.store_contracts import StoreContracts
from casework.projections.sqlite import Scope
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from intake.feeds import StoreFeed
from intake.read_model import CaseIndex, GapError
from intake.testing import COMPOUND, FLAT, T0

RESIDENT = Actor("r-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
MANAGER = Actor("mgr-chen", Role.PROPERTY_MANAGER)

COMMANDS = [
    "acknowledge",
    "assign",
    "decline",
    "start",
    "finish",
    "escalate",
    "contact",
    "arrive",
    "stop_water",
    "cause",
    "convene",
    "agree",
    "resolve",
    "confirm",
    "reopen",
    "rate",
    "visit",
    "close",
]


def run(app: Casework, case_id: str, command: str) -> None:
    at = T0 + timedelta(days=1)
    actions: dict[str, Callable[[], object]] = {
        "acknowledge": lambda: app.acknowledge(case_id, STAFF),
        "assign": lambda: app.assign(case_id, STAFF, STAFF, "on duty"),
        "decline": lambda: app.decline_assignment(case_id, STAFF, "busy"),
        "start": lambda: app.start_work(case_id, STAFF),
        "finish": lambda: app.finish_work(case_id, STAFF, "done"),
        "escalate": lambda: app.escalate(case_id, MANAGER, "outside our powers"),
        "contact": lambda: app.attempt_owner_contact(case_id, STAFF, "phone", "reached"),
        "arrive": lambda: app.arrive_on_site(case_id, STAFF),
        "stop_water": lambda: app.stop_water(case_id, STAFF, "staff_closed_valve"),
        "cause": lambda: app.record_cause(case_id, STAFF, "valve left open"),
        "convene": lambda: app.convene_mediation(
            case_id, MANAGER, "roundtable", at, "office", [{"id": "r-0302", "role": "resident"}]
        ),
        "resolve": lambda: app.resolve(case_id, MANAGER, "settled"),
        "confirm": lambda: app.confirm_resolution(case_id, RESIDENT),
        "reopen": lambda: app.reopen(case_id, RESIDENT, "not fixed"),
        "rate": lambda: app.rate_satisfaction(case_id, RESIDENT, 4),
        "visit": lambda: app.record_return_visit(case_id, STAFF, "called"),
        "close": lambda: app.close_case(case_id, MANAGER),
    }
    if command == "agree":
        meetings = getattr(app.get_case(case_id), "meetings", {})
        if meetings:
            app.reach_agreement(case_id, MANAGER, next(iter(meetings)), ["a"], [])
        return
    actions[command]()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["repair", "leak", "dispute"]),
    commands=st.lists(st.sampled_from(COMMANDS), max_size=14),
)
@example(kind="repair", commands=["assign", "escalate", "acknowledge"])  # keeps "assigned"
def test_the_index_matches_the_case_file_after_any_commands(kind: str, commands: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = Casework(f"sqlite:///{Path(tmp) / 'cases.db'}", clock=FakeClock(T0))
        index = CaseIndex(Path(tmp) / "intake.db")
        try:
            if kind == "repair":
                case_id = str(app.report_repair(RESIDENT, FLAT, "light out", "lighting"))
            elif kind == "leak":
                case_id = str(app.report_leak(RESIDENT, FLAT, "water", "0301"))
            else:
                case_id = str(app.report_dispute(RESIDENT, COMPOUND, "parking", "parking"))
            for command in commands:
                # refused commands record nothing; the index must agree all the same
                with contextlib.suppress(CaseworkError):
                    run(app, case_id, command)
            StoreFeed(app, index).catch_up()
            case = app.get_case(case_id)
            _, rows = index.list(Scope(everything=True))
            assert [(r.status, r.tier, r.kind, r.version) for r in rows] == [
                (case.status.value, case.tier.value, case.kind, case.version)
            ]
            _, mine = index.list(Scope(person=RESIDENT.id))
            assert len(mine) == 1
            contract = StoreContracts(app)
            again = [contract(e) for e in app.events.get(case.id)]
            assert index.apply([e for e in again if e is not None]) == 0
        finally:
            index.close()
            app.close()


def test_an_event_ahead_of_its_predecessor_is_refused_until_the_gap_is_filled(
    tmp_path: Path,
) -> None:
    app = Casework(f"sqlite:///{tmp_path / 'cases.db'}", clock=FakeClock(T0))
    index = CaseIndex(tmp_path / "intake.db")
    case_id = app.report_repair(RESIDENT, FLAT, "light out", "lighting")
    app.acknowledge(case_id, STAFF)
    contract = StoreContracts(app)
    events = [contract(e) for e in app.events.get(case_id)]
    assert all(e is not None for e in events)
    first, _deadlines, third = events  # Reported, DeadlinesSet, Acknowledged
    assert first is not None
    assert third is not None
    index.apply([first])
    with pytest.raises(GapError):
        index.apply([third])
    assert index.apply([e for e in events if e is not None]) == 2
    assert index.list(Scope(everything=True))[1][0].status == "acknowledged"
    index.close()
    app.close()
