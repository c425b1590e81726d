"""The lift entrapment kind, installed as a package, through the library alone: report, call
the maintenance company, rescue, take the lift out of service, inspect, resolve, close; then
the history, the state as of a moment, and `casework history` and `verify` on the store file.

Nothing of the library was edited for this kind: it is found through its entry point.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest
from casework import SYSTEM, Actor, Casework, FakeClock, Role, Status, Tier
from casework.cli import main
from casework.contracts import CasePlace, model_for_topic, parse_event, to_contract
from casework.domain import InvalidTransitionError, NotPermittedError, ValidationError
from casework.kinds import kind_named, kinds
from casework.timeline import EVENT_LABELS, KIND_LABELS
from casework_lift_entrapment import LIFT, LiftEntrapment
from casework_lift_entrapment.domain import MAINTENANCE_CALL_WITHIN
from hypothesis import given
from hypothesis import strategies as st

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
FLAT = "jiayu-xx/wanxin-intl/b12/0302"
RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
MANAGER = Actor("manager-wang", Role.PROPERTY_MANAGER)


def _report(app: Casework) -> UUID:
    return app.report_case(
        "lift",
        RESIDENT,
        FLAT,
        "stuck between floors 5 and 6, two people inside",
        lift_id="east",
        people_inside=2,
        contact="13800001234",
    )


def _act(app: Casework, case_id: UUID, do: str, *args: object) -> LiftEntrapment:
    return app.command(
        case_id, LiftEntrapment, lambda c, at: getattr(c, do)(*args[:1], at, *args[1:])
    )


def _handle_and_close(app: Casework, clock: FakeClock, case_id: UUID) -> None:
    clock.advance(timedelta(minutes=2))
    app.acknowledge(case_id, STAFF, "on my way to the lift")
    _act(app, case_id, "call_maintenance", STAFF, "Jiayu Lift Maintenance Co.")
    clock.advance(timedelta(minutes=25))
    _act(app, case_id, "rescue", STAFF, 2, "maintenance_technician")
    _act(app, case_id, "take_out_of_service", STAFF, "brake fault; signed off until inspected")
    clock.advance(timedelta(days=1))
    _act(app, case_id, "record_inspection", MANAGER, "county inspector Zhou", True, "brake fixed")
    app.resolve(case_id, MANAGER, "people out in 27 minutes; lift back after inspection")
    clock.advance(timedelta(hours=2))
    app.confirm_resolution(case_id, RESIDENT)
    app.record_return_visit(case_id, STAFF, "resident satisfied")
    app.close_case(case_id, MANAGER)


def test_the_installed_kind_is_registered_through_its_entry_point() -> None:
    assert kind_named("lift") is LIFT
    assert [k.name for k in kinds()][:3] == ["repair", "leak", "dispute"]
    assert KIND_LABELS["lift"] == "电梯困人"
    assert EVENT_LABELS["PeopleRescued"] == "已解救被困人员"


def test_a_lift_case_runs_from_report_to_close_and_reads_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock(T0)
    url = f"sqlite:///{tmp_path / 'casework.db'}"
    with Casework(url, clock=clock) as app:
        case_id = _report(app)
        reported = app.get_case(case_id)
        assert isinstance(reported, LiftEntrapment)
        assert (reported.priority.value, reported.tier) == ("emergency", Tier.BUILDING)
        assert reported.settle_by == T0 + timedelta(hours=1)
        _handle_and_close(app, clock, case_id)
        case = app.get_case(case_id)
        assert case.status is Status.CLOSED
        history = app.history(case_id)
        assert [e.event for e in history] == [
            "Reported",
            "DeadlinesSet",
            "Acknowledged",
            "MaintenanceCalled",
            "PeopleRescued",
            "TakenOutOfService",
            "Inspected",
            "Resolved",
            "ConfirmedByResident",
            "ReturnVisitRecorded",
            "Closed",
        ]
        assert all(e.actor_id and e.actor_role for e in history)
        assert history[5].reason == "brake fault; signed off until inspected"
        out_of_service = app.state_as_of(case_id, at=T0 + timedelta(hours=1))
        assert isinstance(out_of_service, LiftEntrapment)
        assert out_of_service.kind_snapshot()["out_of_service"] is True
        assert app.verify(case_id).ok
        first = app.recorder.select_events(case_id, lte=1, limit=1)[0]
        place = CasePlace.of(app.mapper.to_domain_event(first))
        for stored in app.recorder.select_events(case_id):
            event = app.mapper.to_domain_event(stored)
            contract = to_contract(event, place)
            assert contract.kind == "lift"
            assert type(contract) is model_for_topic(stored.topic)
            assert parse_event(contract.model_dump_json()) == contract
    monkeypatch.setenv("CASEWORK_STORE", url)
    assert main(["history", str(case_id)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"电梯困人 lift case {case_id}")
    assert "已解救被困人员 PeopleRescued" in out
    assert main(["history", str(case_id), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "lift"
    assert main(["verify"]) == 0
    assert "intact" in capsys.readouterr().out


def test_nobody_calling_the_maintenance_company_makes_the_case_climb_within_minutes() -> None:
    clock = FakeClock(T0)
    with Casework("sqlite:///:memory:", clock=clock) as app:
        case_id = _report(app)
        clock.advance(MAINTENANCE_CALL_WITHIN - timedelta(seconds=1))
        app.acknowledge(case_id, STAFF)
        assert app.escalate_if_due(case_id, SYSTEM) is None
        clock.advance(timedelta(seconds=2))
        assert app.escalate_if_due(case_id, SYSTEM) == (
            "deadline passed: the lift's maintenance company not called"
        )
        assert app.get_case(case_id).tier is Tier.COMPOUND


def test_the_case_is_not_resolved_while_the_lift_waits_for_a_passing_inspection() -> None:
    clock = FakeClock(T0)
    with Casework("sqlite:///:memory:", clock=clock) as app:
        case_id = _report(app)
        _act(app, case_id, "rescue", STAFF, 2, "fire_brigade")
        _act(app, case_id, "take_out_of_service", STAFF, "doors forced open")
        _act(app, case_id, "record_inspection", MANAGER, "inspector Zhou", False, "door bent")
        with pytest.raises(InvalidTransitionError, match="inspection pass it"):
            app.resolve(case_id, MANAGER, "done")
        with pytest.raises(NotPermittedError, match="take lift out of service"):
            _act(app, case_id, "take_out_of_service", RESIDENT, "I say so")


@given(people=st.integers(min_value=-5, max_value=40))
def test_a_report_counts_between_nobody_known_and_a_full_lift(people: int) -> None:
    with Casework("sqlite:///:memory:", clock=FakeClock(T0)) as app:
        try:
            case_id = app.report_case(
                "lift", RESIDENT, FLAT, "stuck", lift_id="east", people_inside=people
            )
        except ValidationError:
            assert not 0 <= people <= 30
        else:
            assert 0 <= people <= 30
            assert app.get_case(case_id).kind_snapshot()["people_inside"] == people
