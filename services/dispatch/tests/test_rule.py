"""The assignment rule: suitable by role, place, skill, not declined, on duty, below capacity;
best by load, then nearness, then longest idle, then id. Same inputs, same answer, any order."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from casework.domain import Actor, Address, Role
from dispatch.domain.rule import Candidate, Work, decide
from hypothesis import given, settings
from hypothesis import strategies as st

CST = timezone(timedelta(hours=8))
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=CST)
TUESDAY_20 = datetime(2026, 11, 24, 20, 0, tzinfo=CST)
FLAT = Address.parse("jiayu-xx/wanxin-intl/b12/0302")
COMPOUND = "jiayu-xx/wanxin-intl"
B12 = "jiayu-xx/wanxin-intl/b12"
OFFICE_HOURS = ("mon-fri 08:00-18:00",)
ALWAYS = ("daily 00:00-24:00",)


def person(
    actor_id: str,
    role: Role = Role.PROPERTY_STAFF,
    *,
    skills: tuple[str, ...] = ("plumbing",),
    places: tuple[str, ...] = (COMPOUND,),
    availability: tuple[str, ...] = OFFICE_HOURS,
    max_load: int = 3,
    load: int = 0,
    last: datetime | None = None,
) -> Candidate:
    return Candidate(
        Actor(actor_id, role),
        skills,
        places,
        availability,
        "Asia/Shanghai",
        max_load,
        load,
        last,
    )


def tap(**kwargs: object) -> Work:
    return Work("case-1", "repair", "plumbing", FLAT, **kwargs)  # type: ignore[arg-type]


def test_the_least_loaded_suitable_person_gets_the_work_and_the_why_says_so() -> None:
    decision = decide(
        tap(),
        [person("staff-li", load=1), person("staff-wang"), person("staff-zhou", load=2)],
        TUESDAY_10,
    )
    assert decision.chosen is not None
    assert decision.chosen.candidate.actor.id == "staff-wang"
    assert decision.why == (
        "水暖 plumbing; covers the whole compound (jiayu-xx/wanxin-intl); on duty now; "
        "load 0 of 3; ahead of staff-li (load 1), staff-zhou (load 2)"
    )


def test_at_equal_load_the_volunteer_living_in_the_building_comes_before_compound_staff() -> None:
    neighbour = person("vol-zhao", Role.VOLUNTEER, places=(B12,), availability=ALWAYS)
    decision = decide(tap(), [person("staff-li"), neighbour], TUESDAY_10)
    assert decision.chosen is not None
    assert decision.chosen.candidate.actor.id == "vol-zhao"
    assert "covers the building (jiayu-xx/wanxin-intl/b12)" in decision.why
    assert "staff-li (covers the whole compound)" in decision.why


def test_at_equal_load_and_place_the_longest_idle_goes_first_then_the_id() -> None:
    earlier, later = TUESDAY_10 - timedelta(hours=5), TUESDAY_10 - timedelta(hours=1)
    decision = decide(
        tap(), [person("staff-a", last=later), person("staff-b", last=earlier)], TUESDAY_10
    )
    assert decision.chosen is not None
    assert decision.chosen.candidate.actor.id == "staff-b"
    assert "staff-a (took work more recently)" in decision.why
    never = decide(tap(), [person("staff-b", last=earlier), person("staff-c")], TUESDAY_10)
    assert never.chosen is not None
    assert never.chosen.candidate.actor.id == "staff-c"  # never taken any: first
    tie = decide(tap(), [person("staff-y"), person("staff-x")], TUESDAY_10)
    assert tie.chosen is not None
    assert tie.chosen.candidate.actor.id == "staff-x"
    assert "staff-y (same standing; by id)" in tie.why


def test_a_leak_goes_to_property_staff_only_and_a_residents_need_to_volunteers_only() -> None:
    volunteer = person("vol-zhao", Role.VOLUNTEER, availability=ALWAYS)
    leak = Work("case-2", "leak", "plumbing", FLAT)
    assert decide(leak, [volunteer], TUESDAY_10).chosen is None
    carry = Work("task-1", "task", "carrying", FLAT)
    porter = person("vol-qian", Role.VOLUNTEER, skills=("carrying",), availability=ALWAYS)
    staff = person("staff-li", skills=("carrying",))
    decision = decide(carry, [staff, porter], TUESDAY_10)
    assert decision.chosen is not None
    assert decision.chosen.candidate.actor.id == "vol-qian"
    assert [a.refusal for a in decision.refused] == ["role"]


def test_each_refusal_is_named_and_a_wait_counts_them_with_the_first_shift_back() -> None:
    people = [
        person("staff-away", availability=()),
        person("staff-busy", availability=ALWAYS, load=3),
        person("staff-declined", availability=ALWAYS),
        person("staff-elsewhere", places=("jiayu-xx/jiating",), availability=ALWAYS),
        person("staff-electrician", skills=("electrical",), availability=ALWAYS),
        person("staff-office"),
    ]
    decision = decide(tap(declined_by=frozenset({"staff-declined"})), people, TUESDAY_20)
    assert decision.chosen is None
    refusals = {a.candidate.actor.id: a.refusal for a in decision.refused}
    assert refusals == {
        "staff-away": "off_duty",
        "staff-busy": "at_capacity",
        "staff-declined": "declined",
        "staff-elsewhere": "place",
        "staff-electrician": "skill",
        "staff-office": "off_duty",
    }
    assert decision.back_on_duty_at == datetime(2026, 11, 25, 8, 0, tzinfo=CST)
    assert decision.why == (
        "nobody suitable is free for this repair needing plumbing at "
        "jiayu-xx/wanxin-intl/b12/0302: 2 off duty now (first back on duty "
        "2026-11-25T08:00+08:00); 1 at capacity; 1 declined it"
    )


def test_a_wait_says_when_nobody_covers_the_place_or_has_the_skill() -> None:
    assert decide(tap(), [], TUESDAY_10).why == (
        "nobody on the roster covers this repair needing plumbing at jiayu-xx/wanxin-intl/b12/0302"
    )
    electrician = person("staff-e", skills=("electrical",))
    assert decide(tap(), [electrician], TUESDAY_10).why.endswith(
        "1 cover the place but none has plumbing"
    )


def test_a_shared_area_repair_goes_to_someone_covering_the_whole_compound() -> None:
    gate = Work("case-3", "repair", "door_access", Address.parse(COMPOUND))
    building_only = person("vol-b12", Role.VOLUNTEER, skills=("door_access",), places=(B12,))
    compound = person("staff-li", skills=("door_access",))
    decision = decide(gate, [building_only, compound], TUESDAY_10)
    assert decision.chosen is not None
    assert decision.chosen.candidate.actor.id == "staff-li"


# ------------------------------------------------------------------ properties

candidates = st.builds(
    person,
    st.sampled_from([f"p-{i}" for i in range(8)]),
    st.sampled_from([Role.PROPERTY_STAFF, Role.VOLUNTEER, Role.PROPERTY_MANAGER]),
    skills=st.sampled_from([("plumbing",), ("electrical",), ("plumbing", "electrical")]),
    places=st.sampled_from([(COMPOUND,), (B12,), ("jiayu-xx/wanxin-intl/b3",), (COMPOUND, B12)]),
    availability=st.sampled_from([(), ALWAYS, OFFICE_HOURS, ("daily 19:00-07:00",)]),
    max_load=st.integers(1, 3),
    load=st.integers(0, 3),
    last=st.one_of(st.none(), st.integers(0, 5).map(lambda h: TUESDAY_10 - timedelta(hours=h))),
)


@settings(max_examples=150, deadline=None)
@given(
    people=st.lists(candidates, max_size=8, unique_by=lambda c: c.actor.id),
    kind=st.sampled_from(["repair", "leak"]),
    declined=st.sets(st.sampled_from([f"p-{i}" for i in range(8)]), max_size=3),
    hour=st.integers(0, 23),
    seed=st.integers(0, 1000),
)
def test_the_choice_is_the_best_suitable_one_and_does_not_depend_on_the_roster_order(
    people: list[Candidate], kind: str, declined: set[str], hour: int, seed: int
) -> None:
    work = Work("case-1", kind, "plumbing", FLAT, frozenset(declined))
    at = TUESDAY_10.replace(hour=hour)
    decision = decide(work, people, at)
    shuffled = list(people)
    random.Random(seed).shuffle(shuffled)
    again = decide(work, shuffled, at)
    assert (again.chosen, again.why) == (decision.chosen, decision.why)
    assert len(decision.ranked) + len(decision.refused) == len(people)
    for a in decision.ranked:
        c = a.candidate
        assert c.load < c.max_load
        assert c.actor.id not in declined
        assert "plumbing" in c.skills
    if decision.chosen is None:
        assert not decision.ranked
        assert decision.why.startswith("nobody")
    else:
        best = decision.chosen.candidate
        assert decision.chosen is decision.ranked[0]
        assert best.load == min(a.candidate.load for a in decision.ranked)
        if kind == "leak":
            assert best.actor.role is Role.PROPERTY_STAFF


@pytest.mark.parametrize("hour", [7, 8, 17, 18])
def test_office_hours_include_the_start_and_exclude_the_end(hour: int) -> None:
    decision = decide(tap(), [person("staff-li")], TUESDAY_10.replace(hour=hour))
    assert (decision.chosen is not None) == (8 <= hour < 18)
