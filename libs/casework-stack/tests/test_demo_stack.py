"""`casework demo` end to end: the real stack, the stories through HTTP and NATS, once per suite.

One run of the installed console script (as the README's first command runs it) is shared by
every test here: its output, the store it leaves in its var dir (read back through the library,
as an auditor would), the processes it started (all gone), and the intake's read models (the
same when rebuilt from the store as they were built event by event over NATS).
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from casework import Casework

CASEWORK = Path(sys.executable).with_name("casework")
CASE_LINE = re.compile(r"^verify: case ([0-9a-f-]{36}): intact", re.M)
STORY = re.compile(r"^=== story \((?P<letter>[a-z])\): (?P<title>.*) ===$", re.M)

pytestmark = [pytest.mark.nats]


@dataclass(frozen=True)
class DemoRun:
    code: int
    out: str
    err: str
    var: Path

    @property
    def store(self) -> str:
        return f"sqlite:///{self.var / 'casework.db'}"

    def env(self) -> dict[str, str]:
        env = _clean_env()
        env.update(CASEWORK_STORE=self.store, CASEWORK_VAR_DIR=str(self.var))
        return env


def _clean_env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "INTAKE_", "NATS_"))
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return _run_demo(tmp_path_factory)


def _run_demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    home = tmp_path_factory.mktemp("demo")
    env = _clean_env()
    env.update(CASEWORK_VAR_DIR=str(home / "var"))
    done = subprocess.run(
        [str(CASEWORK), "demo"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    return DemoRun(done.returncode, done.stdout, done.stderr, home / "var" / "demo-stack")


def test_the_demo_tells_every_story_and_every_case_file_verifies(demo: DemoRun) -> None:
    assert demo.code == 0, demo.err[-3000:]
    letters = [m["letter"] for m in STORY.finditer(demo.out)]
    assert letters == ["a", "b", "c", "d", "e"]
    assert "not told" not in demo.out
    assert "STOPPED" not in demo.out
    case_ids = CASE_LINE.findall(demo.out)
    summary = demo.out.rstrip().splitlines()[-2]
    assert summary.startswith(f"demo: 5 stories, {len(case_ids)} case files, all intact")
    measures = demo.out.split("=== measures (intake GET /measures) ===", 1)[1]
    assert "compound jiayu-xx/jiating" in measures
    assert "compound jiayu-xx/wanxin-intl" in measures
    assert "满意率 satisfaction rate" in measures
    assert "starting nats-server" in demo.err  # the progress display


VARYING = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?"), "<time>"),
    (re.compile(r"\d{4}-\d\d-\d\d"), "<date>"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<hash or meeting id>"),
    (re.compile(r"\b[0-9a-f]{8}\b"), "<short id>"),
    (re.compile(r"store sqlite:///\S+; [\d.]+ s\)"), "store <path>; <seconds>)"),
    (re.compile(r"stay in \S+"), "stay in <path>"),
]


def _without_ids_and_times(out: str) -> str:
    for pattern, stand_in in VARYING:
        out = pattern.sub(stand_in, out)
    return out


def test_a_second_run_prints_the_same_apart_from_ids_times_and_hashes(
    demo: DemoRun, tmp_path_factory: pytest.TempPathFactory
) -> None:
    again = _run_demo(tmp_path_factory)
    assert again.code == 0, again.err[-2000:]
    first, second = _without_ids_and_times(demo.out), _without_ids_and_times(again.out)
    assert first.splitlines() == second.splitlines()
    assert "<id>" in first  # the stand-ins did replace something
    assert "<time>" in first


def test_every_process_the_demo_started_is_gone(demo: DemoRun) -> None:
    marker = f"CASEWORK_VAR_DIR={demo.var}".encode()
    lingering = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker in environ.read_bytes().split(b"\0"):
                lingering.append(environ.parent.name)
        except OSError:
            continue
    assert lingering == [], f"processes of the demo still running: {lingering}"


def _cases(demo: DemoRun) -> dict[str, Any]:
    with Casework(demo.store) as app:
        return {str(case_id): app.get_case(case_id) for case_id in app.case_ids()}


def test_the_stories_end_where_the_article_says(demo: DemoRun) -> None:
    cases = _cases(demo)
    with Casework(demo.store) as app:
        histories = {case_id: app.history(case_id) for case_id in cases}

    def events(case_id: str) -> list[str]:
        return [e.event for e in histories[case_id]]

    leaks = [c for c in cases.values() if c.kind == "leak"]
    assert len(leaks) == 1
    (leak,) = leaks
    attempts = [e for e in histories[str(leak.id)] if e.event == "OwnerContactAttempted"]
    assert len(attempts) >= 2
    assert attempts[-1].details["outcome"] == "reached"
    assert "WaterStopped" in events(str(leak.id))

    repairs = [c for c in cases.values() if c.kind == "repair"]
    volunteer_repairs = [
        c for c in repairs if c.assignee is not None and c.assignee.role.value == "volunteer"
    ]
    assert volunteer_repairs, "a repair done by a volunteer"
    assert volunteer_repairs[0].satisfaction == 5
    for closed in (leak, volunteer_repairs[0]):  # confirmed, visited back, closed at the intake
        assert closed.status.value == "closed"
        assert events(str(closed.id))[-3:] == [
            "SatisfactionRated",
            "ReturnVisitRecorded",
            "Closed",
        ]

    disputes = [c for c in cases.values() if c.kind == "dispute"]
    parking = [c for c in disputes if "私占车位" in c.description]
    assert len(parking) == 1
    assert parking[0].settled_tier.value == "building"

    gate = next(c for c in disputes if c.category == "road_and_gates")
    assert gate.settled_tier.value == "community"
    council = next(
        e
        for e in histories[str(gate.id)]
        if e.event == "MediationConvened" and e.details["form"] == "deliberation_council"
    )
    seated = {p["role"] for p in council.details["participants"]}
    assert "county_department_rep" in seated
    assert "Escalated" in events(str(gate.id))

    shed = next(c for c in disputes if c.category == "ev_charging")
    rounds = [e for e in histories[str(shed.id)] if e.event == "RoundHeld"]
    tallied = [r for r in rounds if r.details.get("tally")]
    assert len(tallied) >= 3, "the charging-shed sites were chosen over rounds, with tallies"
    assert len(tallied[0].details["options"]) == 6


def _tables(db: Path, tables: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as connection:
        return {t: sorted(connection.execute(f"select * from {t}").fetchall()) for t in tables}


def test_rebuilding_the_read_models_from_the_store_gives_what_the_events_built(
    demo: DemoRun,
) -> None:
    from intake.measures.rebuild import INTAKE_READ_MODELS

    intake_db, mediation_db = demo.var / "intake.db", demo.var / "mediation.db"
    tables = [t for rm in INTAKE_READ_MODELS for t in rm.tables if t != rm.positions]
    worklist = ["disputes", "dispute_people", "meetings"]
    incremental = _tables(intake_db, tables), _tables(mediation_db, worklist)
    assert incremental[0]["cases"], "the intake's index was fed during the demo"
    assert incremental[1]["disputes"], "mediation's worklist was fed during the demo"

    done = subprocess.run(
        [str(CASEWORK), "rebuild"],
        env=demo.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert re.search(r"rebuild: [\d,]+ events replayed in [\d.]+ s, [\d,]+ events/s", done.stdout)
    assert "100%" in done.stderr  # the progress bar reached its end
    assert (_tables(intake_db, tables), _tables(mediation_db, worklist)) == incremental
