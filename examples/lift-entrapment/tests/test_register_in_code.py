"""A kind registered in code (`casework.kinds.registered`), as an application or a test may do
without an entry point: the live tables take it in at once, and let it go again after."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, Literal

from casework import Actor, Casework, FakeClock, Role
from casework.contracts import MODELS_BY_TYPE, CaseEvent, type_name
from casework.contracts.mapping import MODELS_BY_TOPIC
from casework.kinds import kind_names, registered
from casework.timeline import KIND_LABELS
from casework_lift_entrapment import LIFT, LiftEntrapment
from pydantic import create_model

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
FLAT = "jiayu-xx/wanxin-intl/b12/0302"
RESIDENT = Actor("resident-0302", Role.RESIDENT)


class Escalator(LiftEntrapment):
    """An escalator stopped with someone caught: the lift's rules under a kind of its own."""

    KIND = "escalator"


def _renamed(model: type[CaseEvent]) -> type[CaseEvent]:
    name = type_name(model).replace("casework.lift.", "casework.escalator.")
    fields: dict[str, Any] = {
        "kind": (Literal["escalator"], "escalator"),
        "type": (Literal[name], name),  # type: ignore[valid-type]
    }
    made: type[CaseEvent] = create_model(  # type: ignore[call-overload]
        model.__name__.replace("Lift", "Escalator"), __base__=model, **fields
    )
    return made


ESCALATOR = dataclasses.replace(
    LIFT,
    name="escalator",
    label="扶梯夹人",
    title="escalator entrapment",
    aggregate=Escalator,
    contracts=tuple(_renamed(m) for m in LIFT.contracts),
    report=Escalator.report,
)


def test_a_kind_registered_in_code_is_read_by_every_table_until_it_is_removed() -> None:
    assert "escalator" not in kind_names()
    with registered(ESCALATOR):
        assert kind_names()[3:] == ("escalator", "lift")  # the others by name
        assert KIND_LABELS["escalator"] == "扶梯夹人"
        assert "casework.escalator.people_rescued.v1" in MODELS_BY_TYPE
        with Casework("sqlite:///:memory:", clock=FakeClock(T0)) as app:
            case_id = app.report_case("escalator", RESIDENT, FLAT, "caught", lift_id="mall-1")
            (stored,) = app.recorder.select_events(case_id, lte=1, limit=1)
            assert type_name(MODELS_BY_TOPIC[stored.topic]) == "casework.escalator.reported.v1"
    assert "escalator" not in kind_names()
    assert "escalator" not in KIND_LABELS
    assert "casework.escalator.people_rescued.v1" not in MODELS_BY_TYPE
