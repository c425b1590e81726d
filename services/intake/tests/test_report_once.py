"""A report sent with an Idempotency-Key opens at most one case, whatever fails between the
write and the answer.

The kept answer (casework_web.idempotency) is committed with the case (`Casework.together`),
so the two are stored together or not at all. The case's id is derived from the caller and
the key, so that a retry whose key's record is gone meets the case its first attempt opened:
a record purged after a day, or an answer an older version kept in its own transaction and
lost when the store failed after the case's commit (it answered 503 and freed the claim). The
tests here put the store in exactly that state (the case committed, the key's record gone) and
retry.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from casework import Actor, CaseExistsError, Role
from casework.clock import FakeClock
from casework.idempotency import records_for
from casework.topics import is_case_topic
from casework_web import Principal
from casework_web.idempotency import keyed_id, owner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from intake.api.app import create_app
from intake.schemas import CaseCreate
from intake.testing import COMPOUND, FLAT, T0, Desk, make_settings

REPAIR = {"kind": "repair", "address": FLAT, "description": "the kitchen tap drips"}
LEAK = {"description": "对门渗水", "source_unit": "0301", "address": COMPOUND + "/b12/0302"}


def _intake(desk: Desk) -> Any:
    return desk.client.app.state.runtime.intake  # type: ignore[attr-defined]


def _case_ids(desk: Desk) -> set[str]:
    """Every case file in the store (read from the store, not from any answer)."""
    recorder = _intake(desk).app.recorder
    return {
        str(n.originator_id)
        for n in recorder.select_notifications(start=1, limit=10**6)
        if is_case_topic(n.topic)
    }


def _lose_answer(desk: Desk, actor: str, key: str) -> None:
    """What the store's outage after the commit leaves: the case stored, the key's claim
    freed (the middleware answered 503 and abandoned it), no kept answer. (`abandon` frees
    only an unfinished claim; this one was finished, so its row is deleted as abandon would
    have deleted it before the answer was kept.)"""
    records = records_for(_intake(desk).app)
    m = records.mark
    with records.datastore.transaction(commit=True) as cursor:
        cursor.execute(
            f"DELETE FROM {records.table} WHERE scope = {m} AND key = {m}",
            (owner(actor, "/cases"), key),
        )


def _post(desk: Desk, headers: dict[str, str], key: str, body: dict[str, Any]) -> Any:
    return desk.client.post("/cases", json=body, headers={**headers, "Idempotency-Key": key})


def test_a_retry_after_a_lost_answer_gets_the_same_case_and_the_store_holds_one(
    desk: Desk,
) -> None:
    first = _post(desk, desk.resident(), "tap-1", REPAIR)
    assert first.status_code == 201, first.text
    _lose_answer(desk, "r-0302", "tap-1")
    again = _post(desk, desk.resident(), "tap-1", REPAIR)
    assert again.status_code == 201, again.text
    assert "Idempotent-Replayed" not in again.headers  # handled afresh, not from the record
    assert again.json() == first.json()
    assert _case_ids(desk) == {first.json()["case_id"]}
    case = _intake(desk).app.get_case(first.json()["case_id"])
    assert list(case.reporter_ids) == ["r-0302"]
    # ...and that answer is kept now: the next retry is a replay of it.
    third = _post(desk, desk.resident(), "tap-1", REPAIR)
    assert third.headers.get("Idempotent-Replayed") == "true"
    assert third.json() == first.json()


def test_the_case_id_is_derived_from_the_caller_and_the_key(desk: Desk) -> None:
    mine = _post(desk, desk.resident("r-0302"), "k-1", REPAIR)
    theirs = _post(desk, desk.resident("r-0303"), "k-1", REPAIR)
    plain = desk.client.post("/cases", json=REPAIR, headers=desk.resident("r-0302"))
    assert mine.json()["case_id"] == str(keyed_id("r-0302", "/cases", "k-1"))
    assert mine.json()["case_id"] == str(keyed_id("r-0302", "/cases", '"k-1"'))  # quoted form
    assert theirs.json()["case_id"] == str(keyed_id("r-0303", "/cases", "k-1"))
    assert theirs.json()["case_id"] != mine.json()["case_id"]
    assert plain.status_code == 201
    assert plain.json()["case_id"] not in {mine.json()["case_id"], theirs.json()["case_id"]}
    assert len(_case_ids(desk)) == 3


def test_a_retry_of_a_report_taken_for_someone_adds_the_note_once(desk: Desk) -> None:
    body = {**REPAIR, "reporter": {"id": "r-0302", "role": "resident"}, "channel": "phone"}
    first = _post(desk, desk.staff(), "call-7", body)
    assert first.status_code == 201, first.text
    _lose_answer(desk, "staff-li", "call-7")
    again = _post(desk, desk.staff(), "call-7", body)
    assert again.status_code == 201, again.text
    assert again.json()["case_id"] == first.json()["case_id"]
    case = _intake(desk).app.get_case(first.json()["case_id"])
    assert case.note_count == 1
    assert list(case.reporter_ids) == ["r-0302"]


def test_a_different_report_with_a_lost_answers_key_is_refused(desk: Desk) -> None:
    first = _post(desk, desk.resident(), "tap-2", REPAIR)
    _lose_answer(desk, "r-0302", "tap-2")
    other = _post(desk, desk.resident(), "tap-2", {**REPAIR, "description": "the door sticks"})
    assert other.status_code == 422, other.text
    assert "Idempotency-Key" in other.json()["message"]
    assert _case_ids(desk) == {first.json()["case_id"]}


def test_a_leak_retry_after_a_lost_answer_does_not_join_its_own_case(desk: Desk) -> None:
    first = _post(desk, desk.resident("r-0302"), "leak-1", LEAK)
    assert first.status_code == 201, first.text
    _lose_answer(desk, "r-0302", "leak-1")
    again = _post(desk, desk.resident("r-0302"), "leak-1", LEAK)
    assert (again.status_code, again.json()) == (201, first.json())
    case = _intake(desk).app.get_case(first.json()["case_id"])
    assert list(case.reporter_ids) == ["r-0302"]


def test_a_second_save_of_a_keyed_report_is_refused_by_the_store(desk: Desk) -> None:
    """Two attempts at once (two replicas) both pass the "exists?" look: the store's unique
    first event lets one through and the other meets `CaseExistsError` (then replays)."""
    app = _intake(desk).app
    case_id = uuid.uuid5(uuid.NAMESPACE_URL, "a-race")
    who = Actor("r-0302", Role.RESIDENT)
    assert app.report_repair(who, FLAT, "tap drips", case_id=case_id) == case_id
    with pytest.raises(CaseExistsError):
        app.report_repair(who, FLAT, "tap drips", case_id=case_id)
    with pytest.raises(CaseExistsError):
        app.report_leak(who, FLAT, "water", "0301", case_id=case_id)
    assert _case_ids(desk) == {str(case_id)}


_CALLERS = ("r-0302", "r-0303", "r-0304")
_STEP = st.tuples(
    st.sampled_from(_CALLERS),
    st.integers(min_value=0, max_value=3),  # the key: some repeated, some another caller's
    st.booleans(),  # the answer is lost (the key's record freed after the commit)
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(_STEP, min_size=1, max_size=10))
def test_cases_opened_equal_distinct_callers_and_keys_of_repairs(
    desk: Desk, steps: list[tuple[str, int, bool]]
) -> None:
    """Key n of an even number is a repair, of an odd one a leak of the one flat (leaks join
    the open case of their matter): whatever answers are lost, repairs open one case per
    (caller, key), leaks one case in all, and no case lists a reporter twice."""
    run = uuid.uuid4().hex[:8]  # each example's keys are new to the shared store
    leak = {**LEAK, "source_unit": f"u{run}"}  # and its leaks a matter of their own
    before = _case_ids(desk)
    repairs: set[tuple[str, int]] = set()
    leak_cases: set[str] = set()
    for caller, n, lost in steps:
        key = f"{run}-{n}"
        body = REPAIR if n % 2 == 0 else leak
        answer = _post(desk, desk.resident(caller), key, body)
        assert answer.status_code in (200, 201), answer.text
        if n % 2 == 0:
            repairs.add((caller, n))
        else:
            leak_cases.add(answer.json()["case_id"])
        if lost:
            _lose_answer(desk, caller, key)
    opened = _case_ids(desk) - before
    assert len(leak_cases) <= 1
    assert len(opened) == len(repairs) + len(leak_cases)
    for case_id in opened:
        reporters = list(_intake(desk).app.get_case(case_id).reporter_ids)
        assert len(reporters) == len(set(reporters)), reporters


def test_keyed_reports_at_once_open_one_case_and_all_get_it(desk: Desk) -> None:
    """Attempts on several replicas at once (the middleware's claim lets one in per process;
    here the desk is called directly, past it): the store lets one first event in, the rest
    meet it, before saving or on saving (`CaseExistsError`), and answer with it."""
    intake = _intake(desk)
    who = Principal(Actor("r-0302", Role.RESIDENT), None)
    body = CaseCreate.model_validate(REPAIR)
    case_id = keyed_id("r-0302", "/cases", "at-once")
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: intake.report(who, body, case_id), range(6)))
    assert {(a.case.id, a.outcome) for a in answers} == {(case_id, "opened")}
    assert _case_ids(desk) == {str(case_id)}


class _NotKeptError(RuntimeError):
    pass


class _KeepThatFails:
    """A `Keep` whose side write fails in the report's transaction (a full disk, say)."""

    def __init__(self) -> None:
        self.answers: list[str] = []

    def __call__(self, reported: Any) -> Any:
        self.answers.append(reported.outcome)

        def write(cursor: Any) -> None:
            raise _NotKeptError("the answer could not be kept")

        return write

    def look(self) -> None:
        raise AssertionError("nothing was kept to look at")


def test_a_report_its_note_and_its_kept_answer_are_stored_together_or_not_at_all(
    desk: Desk,
) -> None:
    """Taken by staff for a resident: the case, the note of who took it and the kept answer
    are one transaction, so an answer that cannot be kept leaves no case and no note."""
    intake = _intake(desk)
    staff = Principal(Actor("staff-li", Role.PROPERTY_STAFF), COMPOUND)
    body = CaseCreate.model_validate(
        {**REPAIR, "reporter": {"id": "r-0302", "role": "resident"}, "photos": ["p1.jpg"]}
    )
    keep = _KeepThatFails()
    before = _intake(desk).app.recorder.max_notification_id()
    with pytest.raises(_NotKeptError):
        intake.report(staff, body, keyed_id("staff-li", "/cases", "k-9"), keep)
    assert keep.answers == ["opened"]
    assert _intake(desk).app.recorder.max_notification_id() == before
    done = intake.report(staff, body, keyed_id("staff-li", "/cases", "k-9"))
    case = intake.app.get_case(done.case.id)
    assert (done.outcome, case.note_count, done.case.version) == ("opened", 1, case.version)


def test_two_replicas_given_one_key_at_once_open_one_case_and_answer_alike(
    store_url: str, tmp_path: Path
) -> None:
    """Two intakes on one store (no in-process 409 between them), the same keyed report to
    each at once: one case, one kept answer, and both callers get it."""
    settings = make_settings(tmp_path, store_url)
    with (
        TestClient(create_app(settings, clock=FakeClock(T0))) as one,
        TestClient(create_app(settings, clock=FakeClock(T0))) as two,
    ):
        headers = Desk(one, FakeClock(T0), settings).resident()
        for client in (one, two):  # each app's schemas built first, one at a time (pydantic
            # builds some lazily, and two threads building one at once can trip over it)
            assert client.post("/cases", json=REPAIR, headers=headers).status_code == 201
        sent = {**headers, "Idempotency-Key": "both-at-once"}
        with ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(lambda c: c.post("/cases", json=LEAK, headers=sent), (one, two))
            )
        assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
        assert answers[0].json() == answers[1].json()
        app = one.app.state.runtime.intake.app  # type: ignore[attr-defined]
        opened = {
            str(n.originator_id)
            for n in app.recorder.select_notifications(start=1, limit=10**6)
            if is_case_topic(n.topic)
        }
        assert answers[0].json()["case_id"] in opened
        assert len(opened) == 3  # the warm-ups' two repairs and the one leak
