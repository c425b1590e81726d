"""`casework demo`: the article's three stories run, print, verify, and land where the article says.

One test runs the installed console script in a subprocess, as the README's command does; the
others run `main(["demo", "--in-process"])` and then read the demo's store back through the
library. (`--in-process`: with the services installed, plain `casework demo` runs through them.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest
from casework.application import Casework
from casework.cli import main
from casework.domain import Dispute, LeakEmergency, Repair, Tier


def _case_ids(out: str) -> list[UUID]:
    return [UUID(m) for m in re.findall(r"^verify: case ([0-9a-f-]{36}): intact", out, re.M)]


def test_the_installed_console_script_tells_all_three_stories_and_every_case_verifies(
    tmp_path: Path,
) -> None:
    script = Path(sys.executable).with_name("casework")
    assert script.exists(), f"the casework console script is not installed beside {sys.executable}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
    store = f"sqlite:///{tmp_path / 'demo.db'}"

    done = subprocess.run(
        [str(script), "demo", "--in-process", "--store", store],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    for letter in "abc":
        assert f"=== story ({letter}):" in done.stdout
    assert "装修房漏水" in done.stdout
    assert "南门只进不出" in done.stdout
    assert "党员志愿者" in done.stdout
    assert len(_case_ids(done.stdout)) == 4
    assert "verify --checkpoint: log intact" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1] == (
        f"demo: 3 stories, 4 case files, all intact (store {store})"
    )
    assert not (tmp_path / "var").exists(), "an explicit --store must be the only store written"


def test_the_default_demo_store_is_recreated_on_every_run_and_casework_store_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_store = tmp_path / "real" / "casework.db"
    monkeypatch.setenv("CASEWORK_STORE", f"sqlite:///{real_store}")
    monkeypatch.setenv("CASEWORK_VAR_DIR", str(tmp_path / "var"))
    demo_store = f"sqlite:///{tmp_path / 'var' / 'demo' / 'demo.db'}"

    for _ in range(2):
        assert main(["demo", "--in-process"]) == 0
        printed = _case_ids(capsys.readouterr().out)
        with Casework(demo_store) as app:
            assert list(app.case_ids()) == printed
    assert not real_store.exists()


def test_the_stories_settle_at_the_tiers_and_in_the_ways_the_article_tells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--in-process", "--store", store]) == 0
    leak_id, damage_id, gate_id, repair_id = _case_ids(capsys.readouterr().out)

    with Casework(store) as app:
        leak = app.get_case(leak_id)
        assert isinstance(leak, LeakEmergency)
        history = app.history(leak_id)
        attempts = [e for e in history if e.event == "OwnerContactAttempted"]
        assert [e.details["outcome"] for e in attempts][-1] == "reached"
        assert len(attempts) >= 3
        (escalation,) = [e for e in history if e.event == "Escalated"]
        assert escalation.actor_role == "system"
        assert escalation.details == {"to_tier": "compound", "automatic": True}
        assert "owner of the source flat not reached" in escalation.reason
        assert "valve open" in leak.cause
        assert leak.damaged_units == ["0402"]
        assert (str(damage_id), "damage_dispute") in leak.links
        assert (leak.status.value, leak.satisfaction) == ("closed", 5)

        damage = app.get_case(damage_id)
        assert isinstance(damage, Dispute)
        assert (str(leak_id), "damage_dispute") in damage.links
        assert damage.settled_tier is Tier.BUILDING

        gate = app.get_case(gate_id)
        assert isinstance(gate, Dispute)
        gate_history = app.history(gate_id)
        assert [e.event for e in gate_history].index("MediationFailed") < [
            e.event for e in gate_history
        ].index("Escalated")
        council = next(
            e
            for e in gate_history
            if e.event == "MediationConvened" and e.details["form"] == "deliberation_council"
        )
        seated = {p["id"] for p in council.details["participants"]}
        assert {"housing-bureau", "fire-brigade", "development-reform-bureau"} <= seated
        assert gate.settled_tier is Tier.COMMUNITY
        assert any("south gate" in t and "entry-only" in t for t in gate.terms)
        assert gate.commitments
        assert all(c.status == "kept" for c in gate.commitments)

        repair = app.get_case(repair_id)
        assert isinstance(repair, Repair)
        assert repair.assignee is not None
        assert repair.assignee.role.value == "volunteer"
        assert (repair.satisfaction, repair.return_visits, repair.status.value) == (5, 1, "closed")
        assert all(r.ok for r in app.verify_all())
