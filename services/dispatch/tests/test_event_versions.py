"""A dispatch event given a second class version (ADR 002) still verifies, old and new alike.

The store keeps a member's `SkillsChanged` events as their writers stored them: the ones written
while the class was version 1 carry no `class_version`, the ones written after the upgrade carry
`"class_version": 2`. `verify_events` (what a member's history page calls) hashes each record as
stored, so the writer's hash must have covered that same `class_version`; the upgrade below is
done to the real class for the length of one test (monkeypatch undoes it), as a deploy would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from casework.application import Casework
from casework.audit import _decode, verify_events
from casework.clock import FakeClock
from dispatch.api import create_app
from dispatch.domain.member import Member
from dispatch.testing import B12, COMPOUND, MANAGER, OFFICE_HOURS, STAFF_LI, T0, Desk, make_settings
from fastapi.testclient import TestClient


def upcast_v1_v2(state: dict[str, Any]) -> None:
    """Version 2 keeps skills as a sorted set; a version-1 list is read as one (pure, no I/O)."""
    state["skills"] = sorted(set(state["skills"]))


@pytest.fixture
def store(store_url: str) -> Iterator[Casework]:
    application = Casework(store_url, clock=FakeClock(T0))
    yield application
    application.close()


def change(store: Casework, member_id: UUID, skills: list[str], minutes: int) -> None:
    member: Member = store.repository.get(member_id)
    member.change_skills(MANAGER, T0.replace(minute=minutes), skills, "the roster review")
    store.save(member)


def join(store: Casework) -> UUID:
    """Staff Li joins the roster (a `Joined` event, version 1 as the code has it)."""
    member = Member.join(
        MANAGER,
        T0,
        STAFF_LI,
        name="Li",
        skills=["plumbing"],
        places=[B12],
        availability=OFFICE_HOURS,
        timezone="Asia/Shanghai",
        max_load=3,
    )
    store.save(member)
    return member.id


def upgrade(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deploy `SkillsChanged` version 2 for this test: class_version and its upcaster."""
    monkeypatch.setattr(Member.SkillsChanged, "class_version", 2, raising=False)
    monkeypatch.setattr(Member.SkillsChanged, "upcast_v1_v2", staticmethod(upcast_v1_v2), False)


def stored_states(store: Casework, member_id: UUID) -> list[dict[str, Any]]:
    states = []
    for stored in store.recorder.select_events(member_id):
        state, problem = _decode(store.mapper, stored)
        assert state is not None, problem
        states.append(state)
    return states


def test_a_member_with_v1_and_v2_events_verifies(
    store: Casework, monkeypatch: pytest.MonkeyPatch
) -> None:
    member_id = join(store)
    change(store, member_id, ["plumbing", "electrical"], 1)
    v1_head = stored_states(store, member_id)[-1]["hash"]

    upgrade(monkeypatch)
    change(store, member_id, ["carrying"], 2)
    change(store, member_id, ["carrying", "plumbing"], 3)

    states = stored_states(store, member_id)
    assert [s.get("class_version") for s in states] == [None, None, 2, 2]
    assert states[2]["prev_hash"] == v1_head
    stored = list(store.recorder.select_events(member_id))
    result = verify_events(member_id, stored, store.mapper)
    assert result.ok, result.describe()
    assert result.events == 4

    replayed: Member = store.repository.get(member_id)
    assert replayed.skills == ("carrying", "plumbing")
    assert replayed.chain_head == states[-1]["hash"]
    first_change = store.repository.get(member_id, version=2)
    assert first_change.skills == ("electrical", "plumbing")


def test_an_altered_class_version_is_caught(
    store: Casework, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hash covers the version number: a v2 record relabelled v3 no longer verifies."""
    member_id = join(store)
    upgrade(monkeypatch)
    change(store, member_id, ["carrying"], 1)
    stored = list(store.recorder.select_events(member_id))
    assert verify_events(member_id, stored, store.mapper).ok

    state, _ = _decode(store.mapper, stored[1])
    assert state is not None
    assert state["class_version"] == 2
    state["class_version"] = 3
    forged = store.mapper.transcoder.encode(state)
    if store.mapper.compressor:
        forged = store.mapper.compressor.compress(forged)
    if store.mapper.cipher:
        forged = store.mapper.cipher.encrypt(forged)
    altered = [stored[0], replace(stored[1], state=forged)]
    result = verify_events(member_id, altered, store.mapper)
    assert not result.ok
    assert result.problem == "content does not match its hash (altered)"


def test_the_member_history_page_says_intact_across_the_upgrade(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an auditor reads: GET /roster/members/{id}/history over v1 and v2 records."""
    clock = FakeClock(T0)
    settings = make_settings(tmp_path, store_url)
    with TestClient(create_app(settings, clock, background=False)) as client:
        desk = Desk(client, clock, settings)
        manager = desk.auth(MANAGER)
        body = {"actor_id": STAFF_LI.id, "role": STAFF_LI.role.value, "skills": ["plumbing"]}
        desk.post("/roster/members", manager, {**body, "places": [COMPOUND]}, status=201)

        def skills(names: list[str]) -> None:
            answer = client.put(
                f"/roster/members/{STAFF_LI.id}/skills",
                json={"skills": names, "reason": "the roster review"},
                headers=manager,
            )
            assert answer.status_code == 200, answer.text

        skills(["plumbing", "electrical"])
        upgrade(monkeypatch)
        skills(["carrying"])
        history = desk.get(f"/roster/members/{STAFF_LI.id}/history", desk.auth(MANAGER))
    assert history["intact"] is True
    assert [e["event"] for e in history["events"]] == ["Joined", "SkillsChanged", "SkillsChanged"]
    assert history["events"][1]["details"]["skills"] == ["electrical", "plumbing"]
