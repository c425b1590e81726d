"""`casework demo` end to end: the real stack, the stories through HTTP and NATS, once per suite.

One run of the installed console script (as the README's first command runs it) is shared by
every test here: its output, the store it leaves in its var dir (read back through the library,
as an auditor would), the processes it started (all gone), and the intake's read models (the
same when rebuilt from the store as they were built event by event over NATS), and what a
person sees of the stories in a real headless Chromium, with the intake started alone on the
demo's store (screenshots in test-artifacts/).
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from casework import Casework
from casework.transparency.checkpoints import fingerprint, notary_key, public_text
from casework.transparency.tables import tables_for
from casework.transparency.verify import stored_leaves

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


@pytest.fixture(autouse=True)
def _the_demos_master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's store is read here with the key the demo made beside it (its var dir), as an
    operator would, not with the test's own (the root conftest's)."""
    monkeypatch.delenv("CASEWORK_MASTER_KEY_FILE", raising=False)


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
        umask=0o022,  # the usual default, which would leave files readable by every account
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


CHECKPOINT_LINE = re.compile(
    r"^checkpoint: (?P<size>\d+) events, root (?P<root>[0-9a-f]{16}), signed (?P<at>\S+), "
    r"key (?P<key>SHA256:\S+)$",
    re.M,
)


def test_the_demo_ends_with_a_checkpoint_of_every_event_and_the_store_verified_against_it(
    demo: DemoRun,
) -> None:
    assert demo.code == 0, demo.err[-3000:]
    found = CHECKPOINT_LINE.search(demo.out)
    assert found, demo.out[-2000:]
    assert "verify --checkpoint: log intact" in demo.out
    with Casework(demo.store) as app:
        latest = tables_for(app).latest()
        events = sum(1 for _ in stored_leaves(app))
    assert latest is not None
    assert int(found["size"]) == latest.size == events, "the checkpoint misses demo events"
    assert latest.root.hex().startswith(found["root"])
    key = notary_key({}, demo.var).public_key()
    assert found["key"] == fingerprint(key)
    assert latest.signed_by(key)


VARYING = [
    (re.compile(r"root [0-9a-f]{16}"), "root <root>"),
    (re.compile(r"key SHA256:\S+"), "key <fingerprint>"),
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


PYTHON_PROCESSES = ("relay", "notary", "intake", "dispatch", "mediation")


def test_every_line_of_every_python_processs_log_is_one_json_object(demo: DemoRun) -> None:
    """nats-server's own log (logs/nats.log) is Go's plain text: it has no JSON option."""
    assert demo.code == 0, demo.err[-2000:]
    logs = demo.var / "logs"
    assert {p.name for p in logs.iterdir()} >= {f"{name}.log" for name in PYTHON_PROCESSES}
    loggers: set[str] = set()
    for name in PYTHON_PROCESSES:
        lines = (logs / f"{name}.log").read_text(encoding="utf-8").splitlines()
        entries = []
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
            except ValueError:
                pytest.fail(f"{name}.log line {number} is not one JSON object: {line!r}")
            assert isinstance(entry, dict), line
            assert {"time", "level", "logger", "message"} <= set(entry), line
            entries.append(entry)
        assert entries[0]["message"].startswith(f"{name} started: "), entries[0]  # supervisor
        assert len(entries) > 1, f"{name} logged nothing"
        loggers |= {e["logger"] for e in entries}
    assert {"uvicorn.error", "casework.messaging.relay", "intake.access"} <= loggers


def test_every_file_the_demo_made_is_the_owners_only(demo: DemoRun) -> None:
    """Run under umask 022: the store, read models, tokens, logs, JetStream's files 0600,
    the folders 0700."""
    assert demo.code == 0, demo.err[-2000:]
    loose = {}
    for folder, dirs, files in os.walk(demo.var):
        for name in (*dirs, *files):
            path = Path(folder) / name
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode != (0o700 if path.is_dir() else 0o600):
                loose[str(path.relative_to(demo.var))] = oct(mode)
    assert loose == {}
    assert stat.S_IMODE(demo.var.stat().st_mode) == 0o700
    assert stat.S_IMODE(demo.var.parent.stat().st_mode) == 0o700
    made = {str(p.relative_to(demo.var)) for p in demo.var.rglob("*")}
    assert {"casework.db", "intake.db", "tokens.json", "logs/relay.log", "nats"} <= made
    assert any(p.endswith(".blk") for p in made)


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
    # The secretary took the lead at the compound and invited the building leader before the
    # round; after the climb the community officer took it (the compound's lead had lapsed).
    gate_file = events(str(gate.id))
    assert gate_file.index("ParticipantInvited") < gate_file.index("RoundHeld")
    leads = [
        (e.details["lead_id"], e.tier)
        for e in histories[str(gate.id)]
        if e.event == "LeadMediatorNamed"
    ]
    assert leads == [
        ("party-secretary-wanxin", "compound"),
        ("community-officer-jiayu-xx", "community"),
    ]
    assert gate.lead_mediator is not None
    assert gate.lead_mediator.id == "community-officer-jiayu-xx"

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
    worklist = ["disputes", "dispute_people", "meeting_people", "meetings"]
    incremental = _tables(intake_db, tables), _tables(mediation_db, worklist)
    assert incremental[0]["cases"], "the intake's index was fed during the demo"
    assert incremental[1]["disputes"], "mediation's worklist was fed during the demo"
    leads = [row[-2] for row in incremental[1]["disputes"]]  # lead_id, lead_role last
    assert "community-officer-jiayu-xx" in leads, "a lead on the worklist, fed over NATS"

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


CHROMIUM = Path(os.environ.get("CASEWORK_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
INTAKE = [sys.executable, "-m", "casework_stack.launch", "casework-intake", "intake.main:main"]
MAIN_ROAD = re.compile(
    r"^=== story \(d\): .*?^矛盾纠纷 dispute case ([0-9a-f-]{36})  at jiayu-xx/wanxin-intl$",
    re.M | re.S,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def _wait_for(what: str, check: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    """Until `check()` holds; fails at once if the intake has died, or after 20 s."""
    deadline = time.monotonic() + 20
    while True:
        assert proc.poll() is None, f"the intake exited ({proc.returncode}) before {what}"
        try:
            if check():
                return
        except OSError:  # not listening yet, or 503 while it starts
            pass
        assert time.monotonic() < deadline, f"no {what} in 20 s"
        time.sleep(0.1)


def test_an_auditor_sees_the_demos_stories_in_chromium(demo: DemoRun, tmp_path: Path) -> None:
    """The intake alone on the demo's store (no NATS: it follows the store's log), and a person
    in a real headless Chromium reading the dashboard and the main-road dispute's case file."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from casework_web import TokenStore
    from playwright.sync_api import expect, sync_playwright

    assert demo.code == 0, demo.err[-3000:]
    (main_road,) = MAIN_ROAD.findall(demo.out)
    verified = re.search(rf"^verify: case {main_road}: intact \((\d+) events", demo.out, re.M)
    assert verified is not None, "the demo verified the main-road dispute"
    events = int(verified[1])
    var = tmp_path / "var"
    var.mkdir()
    token = TokenStore(var / "tokens.json").create("auditor-zhao", "auditor")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = _clean_env()
    env.update(CASEWORK_STORE=demo.store, CASEWORK_VAR_DIR=str(var))
    # as `casework up` gives it: the notary's public key, so the page checks the signature
    env["INTAKE_NOTARY_PUBKEY"] = public_text(notary_key({}, demo.var).public_key())
    log = (tmp_path / "intake.log").open("w")
    proc = subprocess.Popen(
        [*INTAKE, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for("/readyz", lambda: _get_json(f"{url}/readyz", token) is not None, proc)

        def caught_up() -> bool:
            m = _get_json(f"{url}/measures", token)
            return bool(m["cases"] == 6 and m["resolution"]["numerator"] == 6 and m["volunteers"])

        _wait_for("read models fed from the store's log", caught_up, proc)

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            try:
                page = browser.new_context(locale="zh-CN").new_page()
                page.goto(f"{url}/ui/dashboard")
                expect(page).to_have_url(re.compile(r"/ui/login\?next="))
                page.get_by_label(re.compile("token")).fill(token)
                page.get_by_role("button", name=re.compile("sign in")).click()
                expect(page).to_have_url(re.compile(r"/ui/dashboard"))
                expect(page.get_by_test_id("who")).to_contain_text("auditor-zhao")
                # every compound: the volunteer's repair in jiating puts them on the red board
                board = page.get_by_test_id("board")
                expect(board.locator("tr", has_text="volunteer-chen")).to_contain_text("红榜 red")
                expect(page.get_by_test_id("resolution")).to_contain_text("6/6 settled")
                # Wanxin International, as the demo printed it: one case settled at each tier
                page.get_by_label(re.compile("compound")).select_option("jiayu-xx/wanxin-intl")
                page.get_by_role("button", name=re.compile("show")).click()
                expect(page.get_by_test_id("compound")).to_have_text("jiayu-xx/wanxin-intl")
                settled = page.get_by_test_id("settled")
                for tier in ("楼栋 building", "小区 compound", "社区 community"):
                    expect(settled.locator("tr", has_text=tier)).to_contain_text("33%")
                expect(page.get_by_test_id("satisfaction")).to_contain_text("1/1 rated 4–5")
                expect(page.get_by_test_id("open")).to_contain_text("0")
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "demo-dashboard.png"), full_page=True)

                page.locator(f'a[href="/ui/cases/{main_road}"]').click()
                expect(page.get_by_test_id("case-id")).to_have_text(main_road)
                expect(page.get_by_test_id("asof-label")).to_contain_text(
                    f"event {events} of {events}"
                )
                expect(page.get_by_test_id("verify")).to_contain_text("完整 intact")
                # the demo's last checkpoint covers every event; `casework up` gave the intake
                # the notary's public key, so the page checked the signature too
                checkpoint = page.get_by_test_id("checkpoint")
                expect(checkpoint).to_contain_text(f"each of the {events} events shown is included")
                expect(checkpoint).to_contain_text(
                    "signature verified with the notary's public key"
                )
                ladder = page.get_by_test_id("ladder")
                expect(ladder.locator('[data-tier="community"]')).to_contain_text(
                    "解决于此 settled here"
                )
                expect(ladder.locator('[data-tier="compound"]')).to_contain_text(
                    "起点 entered here"
                )

                # the residents' talk, in the compound (after the secretary took the lead)
                page.get_by_test_id("asof-4").click()
                expect(page.get_by_test_id("asof-label")).to_contain_text(f"event 4 of {events}")
                expect(page.get_by_test_id("state")).to_contain_text("调解中 in_mediation")
                expect(ladder.locator('[data-tier="compound"]')).to_contain_text(
                    "当前 the case is here"
                )
                expect(ladder.locator('[data-tier="community"]')).not_to_contain_text("settled")
                timeline = page.get_by_test_id("timeline")
                expect(timeline.locator("tr.later")).to_have_count(events - 4)
                page.screenshot(path=str(ARTIFACTS / "demo-case-file-as-of.png"), full_page=True)
            finally:
                browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
