"""The auditor's CLI run in-process on a real SQLite file named by CASEWORK_STORE.

A leak case is written through the library with a FakeClock, then `casework history`, `verify`
and `anchors` read it back the way an auditor would, including after someone edits or deletes
rows in the SQLite table behind the library's back.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from casework.application import Casework
from casework.audit import HistoryEntry
from casework.cli import main
from casework.clock import FakeClock
from casework.domain import SYSTEM, Actor, Case, Dispute, LeakEmergency, Repair, Role
from casework.timeline import (
    EVENT_LABELS,
    READING_LABELS,
    STATUS_LABELS,
    TAKEN_OFF,
    readings,
    render_timeline,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FLAT = "jiayu-xx/jiating/b3/0501"


@dataclass(frozen=True)
class Stored:
    """A store with one leak case in it, and what the library says about that case."""

    path: Path
    case_id: UUID
    history: list[HistoryEntry]
    snapshots: dict[int, dict[str, object]]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock, staff: Actor
) -> Stored:
    path = tmp_path / "store" / "casework.db"
    url = f"sqlite:///{path}"
    monkeypatch.setenv("CASEWORK_STORE", url)
    neighbour = Actor("resident-b3-0501", Role.RESIDENT)
    with Casework(url, clock=clock) as app:
        case_id = app.report_leak(
            neighbour, FLAT, "water under the door of 0502", "0502", source_unoccupied=True
        )
        clock.advance(timedelta(minutes=2))
        app.attempt_owner_contact(case_id, staff, "phone", "no_answer", "number on file")
        clock.advance(timedelta(minutes=14))
        assert app.escalate_if_due(case_id, SYSTEM) is not None
        clock.advance(timedelta(minutes=3))
        app.attempt_owner_contact(case_id, staff, "phone", "reached", "owner on his way")
        clock.advance(timedelta(minutes=20))
        app.stop_water(case_id, staff, "owner_closed_valve")
        app.record_cause(case_id, staff, "the renovation worker left a valve open")
        history = app.history(case_id)
        snapshots = {
            v: app.get_case(case_id, version=v).snapshot() for v in range(1, len(history) + 1)
        }
    return Stored(path, case_id, history, snapshots)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    code = main(list(argv))
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def _event_lines(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines() if re.match(r"\s+v\d+\s", line)]


def _edit_event(path: Path, case_id: UUID, version: int, old: bytes, new: bytes) -> None:
    with sqlite3.connect(path) as db:
        key = (case_id.hex, version)
        (state,) = db.execute(
            "SELECT state FROM stored_events WHERE originator_id=? AND originator_version=?", key
        ).fetchone()
        assert old in state
        db.execute(
            "UPDATE stored_events SET state=? WHERE originator_id=? AND originator_version=?",
            (state.replace(old, new), *key),
        )


def _delete_event(path: Path, case_id: UUID, version: int) -> None:
    with sqlite3.connect(path) as db:
        deleted = db.execute(
            "DELETE FROM stored_events WHERE originator_id=? AND originator_version=?",
            (case_id.hex, version),
        ).rowcount
    assert deleted == 1


# ------------------------------------------------------------------------------ history


def test_history_prints_one_line_per_event_with_labels_actor_tier_reason_and_hash(
    stored: Stored, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, "history", str(stored.case_id))

    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines()[0].startswith(f"漏水应急 leak case {stored.case_id}")
    lines = _event_lines(result.out)
    assert len(lines) == len(stored.history)
    for line, entry in zip(lines, stored.history, strict=True):
        assert line.startswith(f"v{entry.version} ")
        assert entry.at.isoformat(sep=" ") in line
        assert f"{EVENT_LABELS[entry.event]} {entry.event}" in line
        assert entry.actor_id in line
        assert line.endswith(f"#{entry.hash[:12]}")
        if entry.reason:
            assert f"why: {entry.reason}" in line
    escalated = next(line for line in lines if "Escalated" in line)
    assert "scheduler (系统 system)" in escalated
    assert "@ 楼栋 building" in escalated
    assert "to_tier=compound automatic=yes" in escalated
    assert "物业人员 property_staff" in lines[2]
    assert "@ 小区 compound" in lines[-1]


def test_history_as_json_holds_every_event_with_all_its_fields_and_the_current_state(
    stored: Stored, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, "history", str(stored.case_id), "--json", "--personal")

    assert result.code == 0
    document = json.loads(result.out)
    assert document["case_id"] == str(stored.case_id)
    assert document["kind"] == "leak"
    assert document["as_of"] is None
    assert document["state"] == stored.snapshots[len(stored.history)]
    assert [e["version"] for e in document["events"]] == [e.version for e in stored.history]
    for got, entry in zip(document["events"], stored.history, strict=True):
        assert got["event"] == entry.event
        assert got["label"] == EVENT_LABELS[entry.event]
        assert got["reading"] == ""  # nothing taken off anyone in a leak handled by staff
        assert got["topic"] == entry.topic
        assert datetime.fromisoformat(got["at"]) == entry.at
        assert (got["actor_id"], got["actor_role"]) == (entry.actor_id, entry.actor_role)
        assert (got["tier"], got["reason"]) == (entry.tier, entry.reason)
        assert (got["hash"], got["prev_hash"]) == (entry.hash, entry.prev_hash)
        assert set(got["details"]) == set(entry.details)
    cause = document["events"][-1]["details"]
    assert cause["cause"] == "the renovation worker left a valve open"


def test_history_shows_personal_values_as_personal_unless_asked_to_open_them(
    stored: Stored, capsys: pytest.CaptureFixture[str]
) -> None:
    """An auditor's reading by default; `--personal` (a data protection officer's) opens them."""
    for moment in ([], ["--version", "1"]):
        hidden = json.loads(run(capsys, "history", str(stored.case_id), "--json", *moment).out)
        opened = json.loads(
            run(capsys, "history", str(stored.case_id), "--json", "--personal", *moment).out
        )
        assert hidden["events"][0]["details"]["description"] == "[personal]"
        assert hidden["state"]["description"] == "[personal]"
        assert opened["state"]["description"] == stored.snapshots[1]["description"] != ""
        assert opened["events"][0]["details"]["description"] == opened["state"]["description"]
        assert [e["hash"] for e in hidden["events"]] == [e["hash"] for e in opened["events"]]


def test_history_at_each_version_shows_only_the_events_up_to_it_and_the_state_then(
    stored: Stored, capsys: pytest.CaptureFixture[str]
) -> None:
    for version in range(1, len(stored.history) + 1):
        result = run(
            capsys,
            "history",
            str(stored.case_id),
            "--version",
            str(version),
            "--json",
            "--personal",
        )
        assert result.code == 0
        document = json.loads(result.out)
        assert [e["version"] for e in document["events"]] == list(range(1, version + 1))
        assert document["as_of"] == {"version": version}
        assert document["state"] == stored.snapshots[version]

        text = run(capsys, "history", str(stored.case_id), "--version", str(version))
        assert len(_event_lines(text.out)) == version
        assert f"state as of version {version}:" in text.out
        status = str(stored.snapshots[version]["status"])
        assert f"  status: {STATUS_LABELS[status]} {status}\n" in text.out


def test_history_as_of_a_time_shows_the_case_after_the_last_event_at_or_before_it(
    stored: Stored, capsys: pytest.CaptureFixture[str]
) -> None:
    for entry in stored.history:
        # One second after each event, and written in UTC: the moment, not the offset, counts.
        moment = (entry.at + timedelta(seconds=1)).astimezone(UTC).isoformat()
        result = run(
            capsys, "history", str(stored.case_id), "--as-of", moment, "--json", "--personal"
        )
        assert result.code == 0, result.err
        document = json.loads(result.out)
        last = max(e.version for e in stored.history if e.at <= entry.at)
        assert [e["version"] for e in document["events"]] == list(range(1, last + 1))
        assert document["as_of"]["version"] == last
        assert document["state"] == stored.snapshots[last]

    escalated = next(e for e in stored.history if e.event == "Escalated")
    before = run(
        capsys,
        "history",
        str(stored.case_id),
        "--as-of",
        (escalated.at - timedelta(minutes=1)).isoformat(),
    )
    assert f"state as of {(escalated.at - timedelta(minutes=1)).isoformat()}" in before.out
    assert "  tier: 楼栋 building\n" in before.out
    after = run(capsys, "history", str(stored.case_id), "--as-of", escalated.at.isoformat())
    assert "  tier: 小区 compound\n" in after.out


def test_history_of_an_edited_case_still_prints_but_warns_that_it_is_not_intact(
    stored: Stored, capsys: pytest.CaptureFixture[str]
) -> None:
    cause = stored.history[-1]
    _edit_event(stored.path, stored.case_id, cause.version, b"valve open", b"valve shut")

    result = run(capsys, "history", str(stored.case_id))

    assert result.code == 0
    assert "valve shut" in result.out
    assert result.err == (
        f"warning: case {stored.case_id}: TAMPERED at event {cause.version}: "
        "content does not match its hash (altered)\n"
    )


def test_history_of_a_case_with_an_undecodable_event_names_it_instead_of_crashing(
    stored: Stored, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit_event(stored.path, stored.case_id, 3, b'"channel"', b'"channel')

    result = run(capsys, "history", str(stored.case_id), "--json")

    assert result.code == 3
    assert result.out == ""
    warning, error = result.err.splitlines()
    assert warning.startswith(f"warning: case {stored.case_id}: TAMPERED at event 3: ")
    assert "cannot be decoded" in warning
    assert error == f"casework: case {stored.case_id} cannot be read: event 3 is damaged"
    assert "Traceback" not in result.err


# ------------------------------------------------------------------------------- verify


def test_verify_exits_zero_and_says_intact_for_an_untouched_case_and_store(
    stored: Stored, capsys: pytest.CaptureFixture[str]
) -> None:
    one = run(capsys, "verify", str(stored.case_id))
    assert one.code == 0
    assert f"case {stored.case_id}: intact ({len(stored.history)} events" in one.out

    every = run(capsys, "verify")
    assert every.code == 0
    assert "verify: all 1 case files intact" in every.out


def test_verify_names_the_case_and_position_of_an_event_edited_in_the_table(
    stored: Stored, capsys: pytest.CaptureFixture[str]
) -> None:
    cause = stored.history[-1]
    _edit_event(stored.path, stored.case_id, cause.version, b"valve open", b"valve shut")

    one = run(capsys, "verify", str(stored.case_id))
    assert one.code == 3
    assert f"case {stored.case_id}: TAMPERED at event {cause.version}" in one.out
    assert "altered" in one.out

    every = run(capsys, "verify")
    assert every.code == 3
    assert f"case {stored.case_id}: TAMPERED at event {cause.version}" in every.out
    assert "1 of 1 case files NOT intact" in every.out


def test_verify_catches_a_middle_event_deleted_from_the_table(
    stored: Stored, capsys: pytest.CaptureFixture[str]
) -> None:
    _delete_event(stored.path, stored.case_id, 3)

    result = run(capsys, "verify", str(stored.case_id))
    assert result.code == 3
    assert f"case {stored.case_id}: TAMPERED at event 3" in result.out
    assert "removed" in result.out


def test_anchors_let_verify_catch_the_last_event_deleted_which_the_chain_alone_cannot(
    stored: Stored, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    anchors = tmp_path / "audit" / "anchors.json"
    written = run(capsys, "anchors", "--out", str(anchors))
    assert written.code == 0
    heads = json.loads(anchors.read_text(encoding="utf-8"))["cases"]
    last = stored.history[-1]
    assert heads == {str(stored.case_id): {"version": last.version, "hash": last.hash}}

    _delete_event(stored.path, stored.case_id, last.version)

    assert run(capsys, "verify", str(stored.case_id)).code == 0  # a shorter chain still links
    one = run(capsys, "verify", str(stored.case_id), "--anchors", str(anchors))
    assert one.code == 3
    assert f"case {stored.case_id}: TAMPERED at event {last.version}" in one.out
    assert "removed" in one.out
    every = run(capsys, "verify", "--anchors", str(anchors))
    assert every.code == 3
    assert f"case {stored.case_id}: TAMPERED" in every.out


def test_verify_against_anchors_reports_a_case_whose_every_event_was_deleted(
    stored: Stored, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.json"
    assert run(capsys, "anchors", "--out", str(anchors)).code == 0
    for entry in stored.history:
        _delete_event(stored.path, stored.case_id, entry.version)

    result = run(capsys, "verify", "--anchors", str(anchors))
    assert result.code == 3
    assert f"case {stored.case_id}: TAMPERED at event 1" in result.out
    assert "none remain" in result.out


def test_anchors_on_standard_output_are_the_heads_verify_reads_back(
    stored: Stored, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    printed = run(capsys, "anchors")
    assert printed.code == 0
    anchors = tmp_path / "heads.json"
    anchors.write_text(printed.out, encoding="utf-8")

    result = run(capsys, "verify", "--anchors", str(anchors), "--verbose")
    assert result.code == 0
    assert f"case {stored.case_id}: intact" in result.out
    assert "intact against 1 anchors" in result.out


def test_anchors_refuses_to_vouch_for_a_store_that_does_not_verify(
    stored: Stored, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The description is stored sealed (ADR 011); the flat the water comes from is not.
    _edit_event(stored.path, stored.case_id, 1, b'"source_unit":"0502"', b'"source_unit":"0503"')
    anchors = tmp_path / "anchors.json"

    result = run(capsys, "anchors", "--out", str(anchors))
    assert result.code == 3
    assert f"case {stored.case_id}: TAMPERED at event 1" in result.err
    assert not anchors.exists()


# ------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["history", str(UUID(int=7))], f"no case file with id {UUID(int=7)}"),
        (["history", "not-a-case"], "'not-a-case' is not a case id"),
        (["verify", str(UUID(int=7))], f"no case file with id {UUID(int=7)}"),
        (["verify", "12345"], "'12345' is not a case id"),
        (["history", "{case}", "--as-of", "yesterday"], "--as-of 'yesterday' is not an ISO time"),
        (["history", "{case}", "--as-of", "2026-11-24T09:00"], "has no timezone"),
        (["history", "{case}", "--as-of", "2020-01-01T00:00Z"], "did not exist yet"),
        (["history", "{case}", "--version", "99"], "has only {n} events, not 99"),
        (["history", "{case}", "--version", "0"], "versions start at 1"),
        (["verify", "--anchors", "{missing}"], "cannot read anchors file"),
        (["verify", "--anchors", "{garbage}"], "is not JSON"),
    ],
)
def test_a_bad_request_prints_one_clear_line_on_stderr_and_no_traceback(
    stored: Stored,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    argv: list[str],
    message: str,
) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    values = {"case": str(stored.case_id), "missing": str(tmp_path / "nope.json")}
    values["garbage"] = str(garbage)
    values["n"] = str(len(stored.history))

    result = run(capsys, *(a.format(**values) for a in argv))

    assert result.code == 2
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("casework: ")
    assert message.format(**values) in lines[0]
    assert "Traceback" not in result.err


def test_debug_shows_the_traceback_of_a_refused_request(
    stored: Stored, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, "--debug", "history", str(uuid4()))
    assert result.code == 2
    assert "Traceback" in result.err
    assert result.err.rstrip().splitlines()[-1].startswith("casework: no case file with id")


def test_an_anchors_file_with_a_broken_head_is_refused_with_what_is_wrong(
    stored: Stored, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.json"
    for cases, message in [
        ({"x": {"version": 1, "hash": "ab"}}, "'x' is not a case id"),
        ({str(stored.case_id): {"version": 0, "hash": "ab"}}, "needs a version >= 1"),
        ({str(stored.case_id): {"version": 2}}, "needs a hash"),
    ]:
        anchors.write_text(json.dumps({"cases": cases}), encoding="utf-8")
        result = run(capsys, "verify", "--anchors", str(anchors))
        assert result.code == 2
        assert message in result.err
        assert len(result.err.splitlines()) == 1


# ------------------------------------------------------------------------------- labels


def _recordable_events(kind: type[Case]) -> set[str]:
    bases = {"Event", "Created", "Opened"}
    return {
        name
        for name in dir(kind)
        if isinstance(getattr(kind, name), type)
        and issubclass(getattr(kind, name), Case.Event)
        and name not in bases
    }


@pytest.mark.parametrize("kind", [Repair, LeakEmergency, Dispute])
def test_every_event_a_case_file_can_hold_has_a_chinese_label(kind: type[Case]) -> None:
    events = _recordable_events(kind)
    assert "Reported" in events
    assert events <= set(EVENT_LABELS), sorted(events - set(EVENT_LABELS))


# ---------------------------------------------------- a refusal and a reassignment read apart


def _take_off(app: Casework, case_id: UUID, manager: Actor, reason: str) -> None:
    """What dispatch's reassign records on the case (the library has no command of its own)."""
    case = app.get_case(case_id)
    case.take_off(manager, app.dated(case, app.clock()), reason)
    app.save(case)


def test_history_tells_a_manager_taking_work_off_from_a_worker_declining_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: FakeClock,
    staff: Actor,
    manager: Actor,
    volunteer: Actor,
    resident: Actor,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'casework.db'}"
    monkeypatch.setenv("CASEWORK_STORE", url)
    with Casework(url, clock=clock) as app:
        case_id = app.report_repair(resident, FLAT, "tap drips", "plumbing")
        app.assign(case_id, manager, volunteer, "plumber in the building")
        clock.advance(timedelta(minutes=5))
        app.decline_assignment(case_id, volunteer, "away this week")
        app.assign(case_id, manager, staff, "staff plumber")
        clock.advance(timedelta(minutes=5))
        app.start_work(case_id, staff)
        _take_off(app, case_id, manager, "fell ill on the job")

    assert READING_LABELS[TAKEN_OFF] != EVENT_LABELS["AssignmentDeclined"]
    text = run(capsys, "history", str(case_id))
    assert text.code == 0
    declined, taken_off = (line for line in _event_lines(text.out) if "AssignmentDeclined" in line)
    assert "已退单 AssignmentDeclined  volunteer-zhao (志愿者 volunteer)" in declined
    assert "why: away this week" in declined
    assert "已撤回派单" not in declined
    assert TAKEN_OFF not in declined
    assert "已撤回派单 AssignmentDeclined (taken_off)  manager-wang (物业经理" in taken_off
    assert "why: fell ill on the job" in taken_off
    assert "已退单" not in taken_off

    document = json.loads(run(capsys, "history", str(case_id), "--json").out)
    events = [e for e in document["events"] if e["event"] == "AssignmentDeclined"]
    assert [(e["reading"], e["label"], e["actor_id"], e["reason"]) for e in events] == [
        ("", "已退单", "volunteer-zhao", "away this week"),
        ("taken_off", "已撤回派单", "manager-wang", "fell ill on the job"),
    ]


WORKERS = (
    Actor("staff-li", Role.PROPERTY_STAFF),
    Actor("volunteer-zhao", Role.VOLUNTEER),
    Actor("manager-wang", Role.PROPERTY_MANAGER),
)


@given(
    steps=st.lists(
        st.tuples(st.sampled_from(WORKERS), st.booleans(), st.booleans()),
        min_size=1,
        max_size=5,
    )
)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_give_back_reads_taken_off_exactly_when_someone_else_than_its_holder_recorded_it(
    steps: list[tuple[Actor, bool, bool]],
) -> None:
    """Whoever holds the work (the manager too), started or not, given back or taken off."""
    manager = WORKERS[2]
    clock = FakeClock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    expected = []
    with Casework("sqlite:///:memory:", clock=clock) as app:
        case_id = app.report_repair(Actor("resident-0302", Role.RESIDENT), FLAT, "tap", "plumbing")
        for number, (holder, started, by_manager) in enumerate(steps):
            app.assign(case_id, manager, holder, "free and near")
            clock.advance(timedelta(minutes=1))
            if started and by_manager:  # the holder declines only before the work starts
                app.start_work(case_id, holder)
            if by_manager:
                _take_off(app, case_id, manager, f"reason {number}")
            else:
                app.decline_assignment(case_id, holder, f"reason {number}")
            expected.append(TAKEN_OFF if by_manager and holder != manager else "")
        history = app.history(case_id)
    given_back = [
        (reading, entry.reason)
        for entry, reading in zip(history, readings(history), strict=True)
        if entry.event == "AssignmentDeclined"
    ]
    assert given_back == [(want, f"reason {n}") for n, want in enumerate(expected)]
    assert all(
        r == ""
        for e, r in zip(history, readings(history), strict=True)
        if e.event != "AssignmentDeclined"
    )
    lines = [line for line in render_timeline(history).splitlines() if "AssignmentDeclined" in line]
    for line, want in zip(lines, expected, strict=True):
        assert line.count("已撤回派单") == (want == TAKEN_OFF)
        assert line.count("已退单") == (want == "")


# ---------------------------------------------------------------- plugged-in commands


class _Plugin:
    """Stands in for an `importlib.metadata.EntryPoint` of the `casework.commands` group."""

    def __init__(self, name: str, register: object) -> None:
        self.name = name
        self.value = f"tests:{name}"
        self._register = register

    def load(self) -> object:
        if isinstance(self._register, Exception):
            raise self._register
        return self._register


def test_a_plugged_in_command_takes_the_place_of_the_built_in_one_of_the_same_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import casework.cli as cli

    def register(subparsers: Any) -> None:
        demo = subparsers.add_parser("demo", help="the plugged-in demo")
        demo.set_defaults(handler=lambda args: print("plugged in") or 0)

    monkeypatch.setattr(cli, "entry_points", lambda group: [_Plugin("stack", register)])

    assert cli.main(["demo"]) == 0
    assert capsys.readouterr().out == "plugged in\n"
    assert "verify" in cli.build_parser().format_help()  # the other built-ins are still there


def test_a_plugin_that_fails_to_load_is_named_on_stderr_and_the_built_in_commands_still_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import casework.cli as cli

    broken = _Plugin("broken", ImportError("no module named 'stackless'"))
    monkeypatch.setattr(cli, "entry_points", lambda group: [broken])

    parser = cli.build_parser()

    assert "demo" in parser.format_help()
    assert "tests:broken not loaded (ImportError: no module named 'stackless')" in (
        capsys.readouterr().err
    )
