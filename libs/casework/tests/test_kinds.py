"""The kind registry: the library's own kinds come through it, and a kind that lacks a piece is
refused at registration with what it lacks, before any case of it could be recorded."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import EntryPoint
from typing import Any, Literal

import pytest
from casework.contracts import CaseEvent, type_name
from casework.domain.actors import Role, check_may
from casework.domain.ladder import deadlines_for
from casework.domain.places import Tier
from casework.domain.repair import Repair
from casework.kinds import KindError, kind_named, kind_names, register_kind, unregister_kind
from casework.kinds.builtin import DISPUTE, LEAK, REPAIR
from casework.kinds.registry import BUILTIN, kind_gaps
from pydantic import create_model


def test_the_librarys_kinds_are_registered_first_in_their_order() -> None:
    assert kind_names()[:3] == BUILTIN
    assert (kind_named("repair"), kind_named("leak"), kind_named("dispute")) == (
        REPAIR,
        LEAK,
        DISPUTE,
    )
    assert not DISPUTE.assignable
    assert LEAK.assignable
    assert LEAK.workers == {Role.PROPERTY_STAFF}


def test_registering_a_kind_again_is_a_no_op_and_another_under_its_name_is_refused() -> None:
    assert register_kind(LEAK) is LEAK
    with pytest.raises(KindError, match="registered already"):
        register_kind(dataclasses.replace(LEAK, label="漏水"))


def test_an_unknown_kind_is_named_with_the_registered_ones() -> None:
    with pytest.raises(KindError, match=r"kind must be one of repair, leak, dispute.*'teleport'"):
        kind_named("teleport")
    with pytest.raises(KindError):
        deadlines_for("teleport", "routine", Tier.BUILDING)


def test_a_kind_lacking_pieces_is_refused_with_each_named() -> None:
    partial = dataclasses.replace(
        REPAIR,
        name="Repair!",
        contracts=REPAIR.contracts[1:],
        deadlines={k: v for k, v in REPAIR.deadlines.items() if k[0] != "urgent"},
        permissions={"stop_water": frozenset({Role.RESIDENT})},
        workers=frozenset(),
    )
    gaps = kind_gaps(partial)
    assert any("its name must match" in g for g in gaps)
    assert any("has KIND 'repair'" in g for g in gaps)
    assert any("its deadlines lack the rows (priority/tier) urgent/building" in g for g in gaps)
    assert any("the action 'stop_water' is the library's, with other roles" in g for g in gaps)
    assert any("names skills but no workers" in g for g in gaps)
    with pytest.raises(KindError, match="cannot be registered"):
        register_kind(partial)
    assert "Repair!" not in kind_names()


def test_a_kind_without_a_model_for_an_event_it_records_names_the_model_to_add() -> None:
    (gap,) = kind_gaps(dataclasses.replace(REPAIR, contracts=REPAIR.contracts[1:]))
    assert gap.startswith(
        "Repair.Reported has no contract model casework.repair.reported.v1 in "
        "casework.contracts.events; add class RepairReportedV1(RepairEvent)"
    )


def test_an_action_no_kind_names_is_a_programming_error_not_a_refusal() -> None:
    from casework.domain.actors import Actor

    with pytest.raises(LookupError, match="no roles are named for the action 'levitate'"):
        check_may(Actor("staff-li", Role.PROPERTY_STAFF), "levitate")


@contextmanager
def _emptied_registry(points: list[EntryPoint]) -> Iterator[None]:
    """The registry as if never asked, its entry points `points`; the whole of it put back after,
    with a new generation, so no `Live` table built meanwhile keeps what it saw."""
    from casework.kinds import registry

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(registry, "entry_points", lambda group: points)
        patch.setattr(registry, "_kinds", {})
        patch.setattr(registry, "_loaded", False)
        yield
    with registry._lock:
        registry._generation += 1


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("casework.kinds.registry:GROUP", "names a str, not a casework.kinds.Kind"),
        ("casework.kinds.builtin:LEAK", "names the kind 'leak'; name the entry point after"),
    ],
)
def test_an_entry_point_that_names_no_kind_or_another_is_refused_each_time_it_is_read(
    monkeypatch: pytest.MonkeyPatch, value: str, problem: str
) -> None:
    from importlib.metadata import EntryPoint

    from casework.kinds import registry

    with _emptied_registry([EntryPoint("repair", value, registry.GROUP)]):
        for _ in range(2):  # not marked loaded: the next question fails the same way
            with pytest.raises(KindError, match=problem):
                kind_names()


def test_a_table_built_while_the_registry_was_emptied_is_rebuilt_after() -> None:
    from importlib.metadata import EntryPoint

    from casework.kinds import registry
    from casework.timeline import KIND_LABELS

    with _emptied_registry([EntryPoint("repair", "casework.kinds.builtin:REPAIR", registry.GROUP)]):
        assert list(KIND_LABELS) == ["repair"]
    assert tuple(KIND_LABELS)[:3] == BUILTIN


@pytest.mark.parametrize(
    ("kind", "fields", "priority"),
    [
        ("repair", {"category": "lighting"}, "urgent"),
        ("leak", {"source_unit": "0402", "reaches_other_flat": True}, "emergency"),
        ("dispute", {"category": "parking", "parties": ["r-0302"]}, "urgent"),
    ],
)
def test_the_librarys_kinds_open_through_the_one_report_of_every_kind(
    kind: str, fields: dict[str, object], priority: str
) -> None:
    from datetime import UTC, datetime

    from casework import Actor, Casework, FakeClock

    resident = Actor("resident-0302", Role.RESIDENT)
    with Casework("sqlite:///:memory:", clock=FakeClock(datetime(2026, 11, 24, tzinfo=UTC))) as app:
        case_id = app.report_case(
            kind,
            resident,
            "jiayu-xx/wanxin-intl/b12/0302",
            "reported through the one report",
            priority="urgent",
            **fields,
        )
        case = app.get_case(case_id)
    assert (case.KIND, case.priority.value) == (kind, priority)
    assert isinstance(case, kind_named(kind).aggregate)


@pytest.mark.parametrize("taken", ["contact", "priority", "case_id", "kind", "actor", "self"])
def test_a_report_field_named_like_a_common_one_of_report_case_is_refused(taken: str) -> None:
    fields = create_model("ChoreFields", **{taken: (str, ""), "room": (str, "")})
    gaps = kind_gaps(dataclasses.replace(CHORE, report_fields=fields))
    assert gaps == [
        f"its report_fields {taken} are parameters of Casework.report_case (the report's "
        "common fields); rename them"
    ]
    assert (
        kind_gaps(dataclasses.replace(CHORE, report_fields=create_model("R", room=(str, "")))) == []
    )


class Chore(Repair):
    """A repair's rules under a kind of its own: a kind a test can register and remove."""

    KIND = "chore"


def _chore_model(model: type[CaseEvent]) -> type[CaseEvent]:
    name = type_name(model).replace("casework.repair.", "casework.chore.")
    fields: dict[str, Any] = {
        "kind": (Literal["chore"], "chore"),
        "type": (Literal[name], name),  # type: ignore[valid-type]
    }
    made: type[CaseEvent] = create_model(  # type: ignore[call-overload]
        "Chore" + model.__name__, __base__=model, **fields
    )
    return made


CHORE = dataclasses.replace(
    REPAIR,
    name="chore",
    aggregate=Chore,
    contracts=tuple(_chore_model(m) for m in REPAIR.contracts),
)


class _SlowToRefill(dict[str, Any]):
    """The registry's dict, pausing (and letting other threads run) after being emptied: a
    registration that empties and refills it in place shows its gap on nearly every turn."""

    def clear(self) -> None:
        super().clear()
        time.sleep(0.001)


def test_a_kind_is_found_while_another_thread_registers_and_removes_kinds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from casework.kinds import registry

    kind_names()  # the entry points read before the dict is replaced
    monkeypatch.setattr(registry, "_kinds", _SlowToRefill(registry._kinds))
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            register_kind(CHORE)
            unregister_kind("chore")

    other = threading.Thread(target=churn)
    other.start()
    failures = 0
    try:
        for _ in range(300):  # before the swap-in-one-assignment fix, ~95 % of these failed
            try:
                kind_named("repair")
            except KindError:
                failures += 1
            time.sleep(0)  # let the other thread run between lookups
    finally:
        stop.set()
        other.join()
        unregister_kind("chore")
    assert failures == 0
