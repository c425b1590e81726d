"""Every command against every role: the roles the table refuses are refused and record nothing.

Each command is first put in a state where it would succeed, and an allowed actor shows that it
does; so a refusal below is the role's doing, not the state's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from casework.domain import (
    SYSTEM,
    Actor,
    Address,
    Case,
    Dispute,
    LeakEmergency,
    NotPermittedError,
    Repair,
    Role,
)
from casework.domain.actors import PERMISSIONS, check_may

T0 = datetime(2026, 11, 24, 9, 0).astimezone()
FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
REPORTER = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
WORKER = Actor("volunteer-zhao", Role.VOLUNTEER)
LEADER = Actor("leader-b12", Role.BUILDING_LEADER)
MINUTE = timedelta(minutes=1)


def reported_repair() -> Repair:
    return Repair.report(REPORTER, T0, FLAT, "tap drips", "plumbing")


def assigned_repair() -> Repair:
    case = reported_repair()
    case.assign(STAFF, T0, WORKER, "plumber")
    return case


def repair_in_progress() -> Repair:
    case = assigned_repair()
    case.start_work(WORKER, T0)
    return case


def repair_work_done() -> Repair:
    case = repair_in_progress()
    case.finish_work(WORKER, T0, "washer")
    return case


def resolved_repair() -> Repair:
    case = repair_work_done()
    case.resolve(STAFF, T0, "fixed")
    return case


def closable_repair() -> Repair:
    """Confirmed by its reporter and visited back: nothing stands between it and closing."""
    case = resolved_repair()
    case.confirm_resolution(REPORTER, T0)
    case.record_return_visit(STAFF, T0, "called back")
    return case


def leak() -> LeakEmergency:
    return LeakEmergency.report(REPORTER, T0, FLAT, "water under the door", "0402")


def dispute_in_mediation() -> Dispute:
    case = Dispute.report(REPORTER, T0, FLAT, "drums at night", "noise", ["resident-0402"])
    case.convene_mediation(LEADER, T0, "m1", "building_talk", T0, "lobby", [])
    return case


def agreed_dispute() -> Dispute:
    case = dispute_in_mediation()
    case.reach_agreement(
        LEADER,
        T0,
        "m1",
        ["quiet after 21:00"],
        [{"who": "0402", "what": "quiet", "due": "2026-12-01"}],
    )
    return case


@dataclass(frozen=True)
class Spec:
    action: str
    setup: Callable[[], Case]
    run: Callable[[Case, Actor], object]
    allowed_actor: Actor


AT = T0 + MINUTE

SPECS = [
    Spec(
        "add_reporter",
        reported_repair,
        lambda c, a: c.add_reporter(a, AT, "phone"),
        Actor("resident-0402", Role.RESIDENT),
    ),
    Spec("acknowledge", reported_repair, lambda c, a: c.acknowledge(a, AT), STAFF),
    Spec("assign", reported_repair, lambda c, a: c.assign(a, AT, STAFF, "on duty"), SYSTEM),
    Spec("accept_assignment", assigned_repair, lambda c, a: c.accept_assignment(a, AT), WORKER),
    Spec(
        "queue_for_assignment",
        reported_repair,
        lambda c, a: c.queue_for_assignment(a, AT, "nobody free"),
        SYSTEM,
    ),
    Spec(
        "decline_assignment",
        assigned_repair,
        lambda c, a: c.decline_assignment(a, AT, "away"),
        WORKER,
    ),
    Spec("start_work", assigned_repair, lambda c, a: c.start_work(a, AT), WORKER),  # type: ignore[attr-defined]
    Spec("finish_work", repair_in_progress, lambda c, a: c.finish_work(a, AT, "done"), WORKER),  # type: ignore[attr-defined]
    Spec(
        "attempt_owner_contact",
        leak,
        lambda c, a: c.attempt_owner_contact(a, AT, "phone", "busy"),
        STAFF,
    ),  # type: ignore[attr-defined]
    Spec("arrive_on_site", leak, lambda c, a: c.arrive_on_site(a, AT), WORKER),  # type: ignore[attr-defined]
    Spec("stop_water", leak, lambda c, a: c.stop_water(a, AT, "staff_closed_valve"), LEADER),  # type: ignore[attr-defined]
    Spec(
        "record_cause",
        leak,
        lambda c, a: c.record_cause(a, AT, "valve left open", "", []),  # type: ignore[attr-defined]
        Actor("officer-sun", Role.COMMUNITY_OFFICER),
    ),
    Spec(
        "convene_mediation",
        lambda: Dispute.report(REPORTER, T0, FLAT, "drums", "noise"),
        lambda c, a: c.convene_mediation(a, AT, "m1", "building_talk", AT, "lobby", []),  # type: ignore[attr-defined]
        LEADER,
    ),
    Spec(
        "hold_round",
        dispute_in_mediation,
        lambda c, a: c.hold_round(a, AT, "m1", ["resident-0402"], "progress"),
        LEADER,
    ),  # type: ignore[attr-defined]
    Spec(
        "reach_agreement",
        dispute_in_mediation,
        lambda c, a: c.reach_agreement(a, AT, "m1", ["quiet"], []),  # type: ignore[attr-defined]
        Actor("secretary-chen", Role.PARTY_SECRETARY),
    ),
    Spec(
        "record_mediation_failed",
        dispute_in_mediation,
        lambda c, a: c.record_mediation_failed(a, AT, "m1", "no show"),  # type: ignore[attr-defined]
        Actor("committee-he", Role.OWNERS_COMMITTEE),
    ),
    Spec(
        "escalate",
        reported_repair,
        lambda c, a: c.escalate(a, AT, "beyond the building"),
        Actor("manager-wang", Role.PROPERTY_MANAGER),
    ),
    Spec("resolve", repair_work_done, lambda c, a: c.resolve(a, AT, "fixed"), STAFF),
    Spec("confirm_resolution", resolved_repair, lambda c, a: c.confirm_resolution(a, AT), REPORTER),
    Spec("reopen", resolved_repair, lambda c, a: c.reopen(a, AT, "drips again"), REPORTER),
    Spec(
        "rate_satisfaction", resolved_repair, lambda c, a: c.rate_satisfaction(a, AT, 4), REPORTER
    ),
    Spec(
        "record_return_visit",
        resolved_repair,
        lambda c, a: c.record_return_visit(a, AT, "called back"),
        WORKER,
    ),
    Spec("close_case", closable_repair, lambda c, a: c.close_case(a, AT), STAFF),
    Spec("add_note", reported_repair, lambda c, a: c.add_note(a, AT, "door code 12#"), REPORTER),
    Spec("link", reported_repair, lambda c, a: c.link(a, AT, uuid4(), "duplicate_of"), SYSTEM),
    Spec(
        "give_contact",
        reported_repair,
        lambda c, a: c.give_contact(a, AT, REPORTER.id, "13800138000", T0, "migrated"),
        SYSTEM,
    ),
    Spec(
        "record_follow_up",
        agreed_dispute,
        lambda c, a: c.record_follow_up(a, AT, 0, True, "quiet all week"),
        SYSTEM,
    ),  # type: ignore[attr-defined]
    Spec(
        "check_back_commitments",
        agreed_dispute,
        lambda c, a: c.check_back_commitments(a, T0 + timedelta(days=30)),
        SYSTEM,
    ),  # type: ignore[attr-defined]
]

REFUSALS = [
    (spec, role) for spec in SPECS for role in sorted(Role) if role not in PERMISSIONS[spec.action]
]


def test_every_permission_in_the_table_has_a_spec_here() -> None:
    # `erase_person` is not a case command: tests/privacy/test_people.py checks it per role.
    assert {s.action for s in SPECS} | {"report", "erase_person"} == set(PERMISSIONS)


def test_an_auditor_may_do_nothing_at_all() -> None:
    assert all(Role.AUDITOR not in roles for roles in PERMISSIONS.values())


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.action)
def test_an_allowed_role_can_perform_the_command_from_the_prepared_state(spec: Spec) -> None:
    case = spec.setup()
    before = case.version
    spec.run(case, spec.allowed_actor)
    assert case.version > before
    assert case.pending_events[-1].actor_id == spec.allowed_actor.id


@pytest.mark.parametrize(
    ("spec", "role"), REFUSALS, ids=[f"{s.action}-{r.value}" for s, r in REFUSALS]
)
def test_a_role_the_table_refuses_is_refused_and_nothing_is_recorded(
    spec: Spec, role: Role
) -> None:
    case = spec.setup()
    before = (case.version, len(case.pending_events), case.snapshot())
    actor = Actor(f"someone-{role.value}", role)
    with pytest.raises(NotPermittedError) as refused:
        spec.run(case, actor)
    message = str(refused.value)
    assert message.startswith(f"a {role.value} may not {spec.action.replace('_', ' ')}")
    assert "roles that may:" in message
    assert (case.version, len(case.pending_events), case.snapshot()) == before


@pytest.mark.parametrize(
    "make",
    [
        lambda a: Repair.report(a, T0, FLAT, "tap", "plumbing"),
        lambda a: LeakEmergency.report(a, T0, FLAT, "water", "0402"),
        lambda a: Dispute.report(a, T0, FLAT, "drums", "noise"),
    ],
    ids=["repair", "leak", "dispute"],
)
@pytest.mark.parametrize(
    "role", [r for r in Role if r not in PERMISSIONS["report"]], ids=lambda r: r.value
)
def test_roles_that_may_not_report_open_no_case(make: Callable[[Actor], Case], role: Role) -> None:
    with pytest.raises(NotPermittedError, match=f"a {role.value} may not report"):
        make(Actor(f"someone-{role.value}", role))


def test_check_may_names_the_roles_that_may() -> None:
    with pytest.raises(NotPermittedError, match=r"roles that may: resident$"):
        check_may(STAFF, "confirm_resolution")
