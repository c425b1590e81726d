"""Escalation: whatever mediators, failed rounds, passing deadlines and the scheduler do, a
dispute climbs one rung at a time, each climb with its reason; and two schedulers racing on one
dispute record one climb."""

from __future__ import annotations

import logging
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from casework import Actor, Casework, CaseworkError, Dispute, Role, Tier
from casework.clock import FakeClock
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from mediation.feeds import StoreFeed
from mediation.reactions import MEDIATION
from mediation.scheduler import Scheduler
from mediation.testing import CHINA, COMPOUND, FLAT, RESIDENT, T0
from mediation.worklist import Worklist

MEDIATOR = {
    Tier.BUILDING: Actor("building-leader-b12", Role.BUILDING_LEADER),
    Tier.COMPOUND: Actor("party-secretary-wanxin", Role.PARTY_SECRETARY),
    Tier.COMMUNITY: Actor("community-officer-jiayu-xx", Role.COMMUNITY_OFFICER),
}
FORM = {
    Tier.BUILDING: "building_talk",
    Tier.COMPOUND: "roundtable",
    Tier.COMMUNITY: "deliberation_council",
}


@contextmanager
def mediation_over(
    store: str, clock: FakeClock, db: Path
) -> Iterator[tuple[Casework, Scheduler, StoreFeed]]:
    app = Casework(store, clock=clock)
    worklist = Worklist(db)
    try:
        yield app, Scheduler(app, worklist, clock), StoreFeed(app, worklist)
    finally:
        worklist.close()
        app.close()


step = st.one_of(
    st.tuples(st.just("convene")),
    st.tuples(st.just("round"), st.sampled_from(["failed", "failed", "progress"])),
    st.tuples(
        st.just("escalate"),
        st.sampled_from(["failed_rounds", "deadline_passed", "outside_powers", "other"]),
        st.sampled_from(["gates_and_traffic", "shared_space_use", "household_terms", None]),
    ),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=24 * 20)),
    st.tuples(st.just("tick")),
    st.tuples(st.just("agree")),
    st.tuples(st.just("reschedule"), st.integers(min_value=1, max_value=24 * 5)),
    st.tuples(st.just("cancel")),
)
SEATS = [{"id": "a", "role": "resident"}, {"id": "b", "role": "resident"}]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    start=st.sampled_from(list(Tier)),
    priority=st.sampled_from(["routine", "urgent", "emergency"]),
    steps=st.lists(step, min_size=4, max_size=16),
)
def test_escalations_never_skip_a_rung(
    start: Tier, priority: str, steps: list[tuple[object, ...]]
) -> None:
    clock = FakeClock(T0)
    with (
        tempfile.TemporaryDirectory() as folder,
        mediation_over(f"sqlite:///{folder}/cases.db", clock, Path(folder) / "mediation.db") as (
            app,
            scheduler,
            feed,
        ),
    ):
        case = app.report_dispute(
            RESIDENT,
            FLAT,
            "drums at night",
            "noise",
            ["resident-0402"],
            tier=start,
            priority=priority,
        )
        meetings: dict[Tier, str] = {}
        for action, *args in steps:
            tier = app.get_case(case).tier
            mediator = MEDIATOR[tier]
            try:
                if action == "convene":
                    meetings[tier] = app.convene_mediation(
                        case, mediator, FORM[tier], clock(), "hall", SEATS
                    )
                elif action == "round" and tier in meetings:
                    app.hold_round(case, mediator, meetings[tier], ["a", "b"], str(args[0]))
                elif action == "escalate":
                    matter = args[1] if isinstance(args[1], str) else None
                    app.escalate_dispute(case, mediator, str(args[0]), "we tried", matter)
                elif action == "wait":
                    clock.advance(timedelta(hours=int(str(args[0]))))
                elif action == "tick":
                    scheduler.tick()
                elif action == "reschedule" and tier in meetings:
                    later = clock() + timedelta(hours=int(str(args[0])))
                    app.reschedule_meeting(case, mediator, meetings[tier], later, "hall", "rain")
                elif action == "cancel" and tier in meetings:
                    app.cancel_meeting(case, mediator, meetings[tier], "called off")
                elif action == "agree" and tier in meetings:
                    app.reach_agreement(case, mediator, meetings[tier], ["quiet after 21:00"], [])
            except CaseworkError:
                pass  # refused: the rules held; nothing was recorded
            feed.catch_up()  # the service's own reactions (a third failed round climbs)
        scheduler.tick()

        current = start
        climbs = 0
        cancelled: set[str] = set()
        rounds = 0
        for entry in app.history(case):
            assert entry.tier == current.value, f"v{entry.version} stamped {entry.tier}"
            if entry.event == "MeetingCancelled":
                cancelled.add(entry.details["meeting_id"])
            if entry.event == "RoundHeld":
                assert entry.details["meeting_id"] not in cancelled, "a round after cancelling"
                rounds += 1
            if entry.event == "Escalated":
                above = current.next_up()
                assert above is not None, "climbed above the community"
                assert entry.details["to_tier"] == above.value, "skipped a rung"
                assert entry.reason, "climbed without a reason"
                current = above
                climbs += 1
        final = app.get_case(case)
        assert final.tier is current
        assert final.tier.rank - start.rank == climbs == final.escalations
        event(f"climbs: {climbs}")
        event(f"rounds recorded: {min(rounds, 3)}+" if rounds >= 3 else f"rounds: {rounds}")


def test_the_scheduler_escalates_a_dispute_whose_deadline_passed_and_leaves_an_agreed_one(
    tmp_path: Path,
) -> None:
    clock = FakeClock(T0)
    with mediation_over(f"sqlite:///{tmp_path}/c.db", clock, tmp_path / "m.db") as (
        app,
        scheduler,
        feed,
    ):
        late = app.report_dispute(RESIDENT, COMPOUND, "fees doubled", "fees")
        agreed = app.report_dispute(RESIDENT, COMPOUND, "parking", "parking")
        secretary = MEDIATOR[Tier.COMPOUND]
        meeting = app.convene_mediation(agreed, secretary, "roundtable", clock(), "hall", [])
        app.reach_agreement(agreed, secretary, meeting, ["numbered spaces"], [])
        feed.catch_up()
        assert scheduler.tick().escalated == {}
        clock.advance(timedelta(days=2, minutes=1))  # a routine compound dispute: respond in 2 d
        assert scheduler.tick().escalated == {str(late): "deadline passed: no response"}
        clock.advance(timedelta(days=30))
        tick = scheduler.tick()
        assert str(agreed) not in tick.escalated
        escalated = [e for e in app.history(late) if e.event == "Escalated"]
        assert [(e.actor_id, e.details["automatic"]) for e in escalated] == [(MEDIATION.id, True)]
        assert app.get_case(agreed).tier is Tier.COMPOUND


@pytest.mark.postgres
def test_two_schedulers_racing_on_one_dispute_record_one_climb(
    postgres_url: str, tmp_path: Path
) -> None:
    clock = FakeClock(T0.astimezone(CHINA))
    with (
        mediation_over(postgres_url, clock, tmp_path / "a.db") as (app_a, sched_a, feed_a),
        mediation_over(postgres_url, clock, tmp_path / "b.db") as (_, sched_b, feed_b),
    ):
        cases = [app_a.report_dispute(RESIDENT, COMPOUND, f"fees {n}", "fees") for n in range(5)]
        feed_a.catch_up()
        feed_b.catch_up()
        clock.advance(timedelta(days=3))
        barrier = threading.Barrier(2)
        ticks = []

        def run(scheduler: Scheduler) -> None:
            barrier.wait()
            ticks.append(scheduler.tick())

        threads = [threading.Thread(target=run, args=(s,)) for s in (sched_a, sched_b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(c for t in ticks for c in t.escalated) == sorted(str(c) for c in cases)
        for case in cases:
            found = app_a.get_case(case)
            assert isinstance(found, Dispute)
            assert found.escalations == 1
            assert found.tier is Tier.COMMUNITY


def test_a_dispute_the_scheduler_cannot_load_is_logged_once_and_the_rest_still_climb(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One dispute whose stored event no longer decodes (a real fault, not a CaseworkError)
    must not stop the disputes after it in the same round."""
    clock = FakeClock(T0)
    store = tmp_path / "c.db"
    with mediation_over(f"sqlite:///{store}", clock, tmp_path / "m.db") as (app, sched, feed):
        cases = [str(app.report_dispute(RESIDENT, COMPOUND, f"fees {n}", "fees")) for n in range(3)]
        feed.catch_up()
        clock.advance(timedelta(days=2, minutes=1))
        broken = sched.worklist.due(clock())[0].case_id  # the first the round meets
        with sqlite3.connect(store) as db:
            tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
            table = next(t for t in tables if "event" in t)
            changed = sum(  # the id as the store keeps it (hex text on SQLite)
                db.execute(
                    f"update {table} set state = ? where originator_id = ?",
                    (b"\x00not an event", key),
                ).rowcount
                for key in (UUID(broken).hex, broken)
            )
        assert changed
        with caplog.at_level(logging.ERROR, logger="mediation.scheduler"):
            tick = sched.tick()
        assert sorted(tick.escalated) == sorted(c for c in cases if c != broken)
        assert list(tick.failed) == [broken]
        failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(failures) == 1
        assert getattr(failures[0], "case_id", None) == broken
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="mediation.scheduler"):
            assert list(sched.tick().failed) == [broken]
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # not every round
