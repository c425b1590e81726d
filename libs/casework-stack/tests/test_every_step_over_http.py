"""The walks of `casework.stories.every_step` told to the real stack over HTTP: nats-server, the
relay, the intake, dispatch and mediation as processes on a SQLite store, as `casework demo`
runs them. Between them and the demo's stories (test_demo_stack.py) every kind of step is told
through the services' own endpoints; here the case files are read back through the intake, as
an auditor would, to see that each step the stories do not take recorded what it says, by whom,
and that every case file verifies."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from casework.application import Casework
from casework.audit import HistoryEntry
from casework.files import private_dir
from casework.stories import every_step
from casework.stories.steps import Story
from casework_stack.client import Api, Cast
from casework_stack.progress import Progress
from casework_stack.scene import Scene
from casework_stack.stack import Ports, Stack, StackConfig, sqlite_store
from casework_stack.teller import HttpTeller

pytestmark = [pytest.mark.nats]


@dataclass(frozen=True)
class Told:
    """What the walks left: each walk's cases by label, its narration, and each case file."""

    cases: dict[str, dict[str, str]]
    lines: dict[str, list[str]]
    files: dict[str, dict[str, Any]]
    """Each case file as the intake shows it to an auditor (personal values read [personal])."""
    opened: dict[str, list[HistoryEntry]]
    """Each case file read by the library with personal values opened (a DPO's reading)."""
    verified: dict[str, dict[str, Any]]

    def events(self, walk: Story, label: str, name: str) -> list[dict[str, Any]]:
        case = self.cases[walk.title][label]
        return [e for e in self.files[case]["events"] if e["event"] == name]


@pytest.fixture(scope="module")
def told(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Told]:
    var = tmp_path_factory.mktemp("walks") / "var"
    private_dir(var)
    config = StackConfig(
        var_dir=var,
        store=sqlite_store(var),
        ports=Ports.free(),
        ready_timeout=60.0,
        grace=5.0,
        hermetic=True,
    )
    stack = Stack(config)
    stack.start()
    api = Api({e.name: e.address for e in stack.endpoints() if e.address.startswith("http")})
    try:
        cast = Cast(var / "tokens.json")
        cases: dict[str, dict[str, str]] = {}
        lines: dict[str, list[str]] = {}
        scene = None
        for walk in every_step.WALKS:
            scene = Scene(api, cast, Progress(io.StringIO()), walk.title)
            teller = HttpTeller(scene, walk)
            teller.tell()
            cases[walk.title], lines[walk.title] = dict(teller.cases), scene.lines
        assert scene is not None
        auditor = scene.auditor
        ids = [case for walk in cases.values() for case in walk.values()]
        files = {case: api.get("intake", f"/cases/{case}/history", auditor) for case in ids}
        verified = {case: api.get("intake", f"/cases/{case}/verify", auditor) for case in ids}
        with Casework(config.store, read_only=True) as app:
            opened = {case: app.history(case) for case in ids}
        yield Told(cases, lines, files, opened, verified)
    finally:
        api.close()
        stack.stop()


def test_every_walk_is_told_to_the_services_and_every_case_file_verifies(told: Told) -> None:
    for walk in every_step.WALKS:
        assert set(told.cases[walk.title]) == set(walk.shows)
    assert len(told.verified) == 3
    for case, result in told.verified.items():
        assert result["ok"], (case, result["description"])


def test_the_repair_handed_round_is_on_its_case_file_as_each_person_did_it(told: Told) -> None:
    light = every_step.LIGHT
    (declined,) = told.events(light, "light", "AssignmentDeclined")
    assert (declined["actor_id"], declined["reason"]) == ("volunteer-he", "away this week")
    (escalated,) = told.events(light, "light", "Escalated")
    assert escalated["actor_id"] == "property-manager-wanxin"
    assert escalated["details"]["automatic"] is False
    (acknowledged,) = told.events(light, "light", "Acknowledged")
    assert (acknowledged["actor_id"], acknowledged["tier"]) == (
        "property-manager-wanxin",
        "compound",
    )
    by_hand = [e for e in told.events(light, "light", "Assigned") if e["actor_id"] != "dispatch"]
    assert [(e["actor_id"], e["details"]["assignee_id"], e["reason"]) for e in by_hand] == [
        ("property-manager-wanxin", "property-staff-wu", "staff plumber; can change a fitting")
    ]
    (reopened,) = told.events(light, "light", "Reopened")
    assert reopened["actor_id"] == "resident-b7-0301"
    assert len(told.events(light, "light", "WorkDone")) == 2
    (note,) = told.events(light, "light", "NoteAdded")
    # A staff note about the reporter is personal: an auditor reads [personal], the store
    # keeps it sealed, and opened it is what the worker wrote.
    assert (note["actor_id"], note["details"]["text"]) == ("property-staff-wu", "[personal]")
    opened = told.opened[told.cases[light.title]["light"]]
    (opened_note,) = [e for e in opened if e.event == "NoteAdded"]
    assert opened_note.details["text"] == "fitting and switch from the stores"
    case = told.cases[light.title]["light"]
    assert told.files[case]["state"]["status"] == "closed"


def test_the_leak_and_the_row_about_its_damage_are_on_both_case_files(told: Told) -> None:
    walk = every_step.CEILING
    leak, dispute = told.cases[walk.title]["leak"], told.cases[walk.title]["ceiling"]
    (second,) = told.events(walk, "leak", "ReporterAdded")
    assert (second["details"]["reporter_id"], second["details"]["channel"]) == (
        "resident-b6-0502",
        "wechat",
    )
    (note,) = told.events(walk, "leak", "NoteAdded")
    assert note["actor_id"] == "property-staff-gao"
    links = [
        (e["details"]["other_case_id"], e["details"]["relation"], e["actor_id"])
        for label in ("leak", "ceiling")
        for e in told.events(walk, label, "LinkedToCase")
    ]
    assert links == [
        (dispute, "related", "property-staff-gao"),
        (leak, "related", "property-staff-gao"),
    ]
    (acknowledged,) = told.events(walk, "ceiling", "Acknowledged")
    assert acknowledged["actor_id"] == "building-leader-b6"
    (round_held,) = told.events(walk, "ceiling", "RoundHeld")
    (failed,) = told.events(walk, "ceiling", "MediationFailed")
    assert failed["details"]["meeting_id"] == round_held["details"]["meeting_id"]
    (escalated,) = told.events(walk, "ceiling", "Escalated")
    assert escalated["actor_id"] == "building-leader-b6"
    assert escalated["details"]["to_tier"] == "compound"
    assert told.files[dispute]["state"]["tier"] == "compound"


def test_a_walk_told_over_http_says_each_request_in_words_that_carry_no_ids(told: Told) -> None:
    said = "\n".join(line for lines in told.lines.values() for line in lines)
    for words in (
        "volunteer-he (volunteer) → dispatch: decline",
        "property-manager-wanxin (property_manager) → dispatch: escalates it to the compound tier",
        "property-manager-wanxin (property_manager) → intake: acknowledges it (受理) at the "
        "compound tier",
        "→ dispatch: sends property-staff-wu (property_staff) by hand",
        "resident-b7-0301 (resident) → intake: reopens it",
        "→ dispatch: a note in the case file",
        "resident-b6-0502 (resident) reports the same to the intake: linked to the open leak",
        "→ dispatch: links the leak to the dispute (related)",
        "mediation (with the failed round) records the mediation failed",
        "building-leader-b6 (building_leader) → mediation: escalate (other)",
    ):
        assert words in said
    for case in told.files:
        assert case not in said
