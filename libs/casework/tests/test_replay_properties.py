"""Property: whatever commands were accepted, in whatever order, the stored file replays to them.

Hypothesis drives a case of each kind through random commands at random (explicit) times. Commands
the domain refuses must record nothing; the ones it accepts are saved to a SQLite store in random
batches. Read back, the case must equal the one in memory, its chain must verify, and its state
after every accepted command must be what `state_as_of(version=n)` rebuilds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework.application import Casework
from casework.domain import (
    SYSTEM,
    Actor,
    Address,
    Case,
    CaseworkError,
    Dispute,
    LeakEmergency,
    Repair,
    Role,
)
from casework.domain.dispute import MEETING_FORMS
from casework.domain.leak import CONTACT_OUTCOMES, STOP_METHODS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=8)))
FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
RESIDENT = Actor("resident-0302", Role.RESIDENT)
NEIGHBOUR = Actor("resident-0402", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
MANAGER = Actor("manager-wang", Role.PROPERTY_MANAGER)
VOLUNTEER = Actor("volunteer-zhao", Role.VOLUNTEER)
LEADER = Actor("leader-b12", Role.BUILDING_LEADER)
SECRETARY = Actor("secretary-chen", Role.PARTY_SECRETARY)
OFFICER = Actor("officer-sun", Role.COMMUNITY_OFFICER)
AUDITOR = Actor("auditor-qian", Role.AUDITOR)
EVERYONE = [RESIDENT, NEIGHBOUR, STAFF, MANAGER, VOLUNTEER, LEADER, SECRETARY, OFFICER, AUDITOR]
MEDIATORS = [LEADER, SECRETARY, OFFICER, MANAGER]
OTHER_CASES = [UUID(int=n) for n in range(1, 4)]

Command = Callable[[Any, datetime], None]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Casework]:
    path: Path = tmp_path_factory.mktemp("replay") / "c.db"
    app = Casework("sqlite:///" + str(path))
    yield app
    app.close()


def escalate_if_due(case: Case, at: datetime) -> None:
    reason = case.escalation_reason(at)
    if reason is not None:
        case.escalate(SYSTEM, at, reason, automatic=True)


def shared_commands(draw: st.DrawFn) -> list[Command]:
    actor = draw(st.sampled_from(EVERYONE))
    mediator = draw(st.sampled_from(MEDIATORS))
    return [
        lambda c, at: c.add_note(actor, at, "note by " + actor.id),
        lambda c, at: c.add_reporter(NEIGHBOUR, at, "wechat"),
        lambda c, at: c.acknowledge(STAFF, at, "seen"),
        lambda c, at: c.escalate(mediator, at, "cannot be settled here"),
        escalate_if_due,
        lambda c, at: c.resolve(mediator, at, "settled"),
        lambda c, at: c.confirm_resolution(RESIDENT, at),
        lambda c, at: c.reopen(draw(st.sampled_from([RESIDENT, NEIGHBOUR, STAFF])), at, "again"),
        lambda c, at: c.rate_satisfaction(RESIDENT, at, draw(st.integers(1, 5)), "ok"),
        lambda c, at: c.record_return_visit(VOLUNTEER, at, "called back"),
        lambda c, at: c.close_case(mediator, at),
        lambda c, at: c.link(STAFF, at, draw(st.sampled_from(OTHER_CASES)), "duplicate_of"),
    ]


def repair_commands(draw: st.DrawFn) -> list[Command]:
    worker = draw(st.sampled_from([STAFF, VOLUNTEER, MANAGER]))
    return [
        lambda c, at: c.assign(STAFF, at, worker, "skill and place"),
        lambda c, at: c.decline_assignment(c.assignee or worker, at, "busy"),
        lambda c, at: c.start_work(c.assignee or worker, at),
        lambda c, at: c.start_work(c.assignee or worker, at),
        lambda c, at: c.finish_work(c.assignee or worker, at, "fixed it"),
        lambda c, at: c.finish_work(c.assignee or worker, at, "fixed it"),
    ]


def leak_commands(draw: st.DrawFn) -> list[Command]:
    return [
        lambda c, at: c.attempt_owner_contact(
            STAFF, at, "phone", draw(st.sampled_from(CONTACT_OUTCOMES)), "called"
        ),
        lambda c, at: c.arrive_on_site(VOLUNTEER, at),
        lambda c, at: c.stop_water(STAFF, at, draw(st.sampled_from(STOP_METHODS))),
        lambda c, at: c.stop_water(STAFF, at, "staff_closed_valve"),
        lambda c, at: c.record_cause(STAFF, at, "valve left open", "stain", ["0301"]),
    ]


def dispute_commands(draw: st.DrawFn) -> list[Command]:
    mediator = draw(st.sampled_from(MEDIATORS))
    meeting = draw(st.sampled_from(["m1", "m2", "m3"]))
    form = draw(st.sampled_from(sorted(MEETING_FORMS)))
    outcome = draw(st.sampled_from(["progress", "failed", "agreed"]))
    commitments = draw(st.integers(0, 2))
    return [
        lambda c, at: c.convene_mediation(
            mediator, at, meeting, form, at + timedelta(days=1), "lobby", []
        ),
        lambda c, at: c.hold_round(
            mediator, at, meeting, ["resident-0302"], outcome, options=["a", "b"], tally={"a": 3}
        ),
        lambda c, at: c.record_mediation_failed(mediator, at, meeting, "no show"),
        lambda c, at: c.reach_agreement(
            mediator,
            at,
            meeting,
            ["quiet after 21:00"],
            [
                {"who": "resident-0402", "what": f"promise {i}", "due": "2026-12-31"}
                for i in range(commitments)
            ],
        ),
        lambda c, at: c.record_follow_up(
            SECRETARY, at, draw(st.integers(0, 1)), draw(st.booleans()), "checked"
        ),
    ]


def open_case(kind: str, draw: st.DrawFn) -> Case:
    if kind == "repair":
        priority = draw(st.sampled_from(["routine", "urgent", "emergency"]))
        return Repair.report(RESIDENT, T0, FLAT, "tap drips", "plumbing", priority)
    if kind == "leak":
        return LeakEmergency.report(
            RESIDENT, T0, FLAT, "water", "0402", source_unoccupied=draw(st.booleans())
        )
    tier = draw(st.sampled_from([None, *list(MEETING_FORMS["roundtable"][1])]))
    return Dispute.report(RESIDENT, T0, FLAT, "drums at night", "noise", ["0402"], tier=tier)


KIND_COMMANDS = {"repair": repair_commands, "leak": leak_commands, "dispute": dispute_commands}


def drive(case: Case, app: Casework, data: st.DataObject) -> dict[int, dict[str, Any]]:
    """Random commands at random times; returns the state after each accepted command."""
    seen = {case.version: case.snapshot()}
    at = T0
    app.save(case)
    steps = data.draw(st.integers(1, 40), label="steps")
    for _ in range(steps):
        at += timedelta(minutes=data.draw(st.integers(0, 24 * 60), label="minutes later"))
        commands = shared_commands(data.draw) + KIND_COMMANDS[case.KIND](data.draw)
        command = data.draw(st.sampled_from(commands), label="command")
        before = (case.version, len(case.pending_events), case.snapshot())
        try:
            command(case, at)
        except CaseworkError:
            assert (case.version, len(case.pending_events), case.snapshot()) == before
            continue
        seen[case.version] = case.snapshot()
        if data.draw(st.booleans(), label="save now"):
            app.save(case)
    app.save(case)
    return seen


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(kind=st.sampled_from(sorted(KIND_COMMANDS)), data=st.data())
def test_any_accepted_command_sequence_replays_from_the_store_to_the_same_case_and_verifies(
    store: Casework, kind: str, data: st.DataObject
) -> None:
    case = open_case(kind, data.draw)
    seen = drive(case, store, data)

    replayed = store.get_case(case.id)
    assert type(replayed) is type(case)
    assert replayed.snapshot() == case.snapshot()
    result = store.verify(case.id)
    assert result.ok, result.describe()
    assert result.events == case.version
    assert result.head == case.chain_head
    history = store.history(case.id)
    assert [h.version for h in history] == list(range(1, case.version + 1))
    for version, snapshot in seen.items():
        assert store.state_as_of(case.id, version=version).snapshot() == snapshot


def test_the_replay_property_reaches_deep_states(store: Casework) -> None:
    """Guards the property above against silently exploring only refusals."""
    statuses: set[str] = set()

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(kind=st.sampled_from(sorted(KIND_COMMANDS)), data=st.data())
    def explore(kind: str, data: st.DataObject) -> None:
        case = open_case(kind, data.draw)
        drive(case, store, data)
        statuses.add(f"{kind}:{case.status.value}")

    explore()
    early = {"reported", "acknowledged"}
    for kind in KIND_COMMANDS:
        assert any(s.startswith(kind + ":") and s.split(":")[1] not in early for s in statuses)
    assert any(s.endswith((":resolved", ":confirmed", ":closed")) for s in statuses)
