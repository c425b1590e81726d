"""Files holding case data, personal data or tokens are the owner's only (issue 10, section 5).

Each test runs the real code that creates them (the store, the read models, the intake's
contacts, the measures rebuild, the tokens file, the stack's log files, the bundled
nats-server's JetStream store) under umask 022, the usual default that would leave them
readable by every account, and asserts files 0600 (SQLite's -wal/-shm side files included)
and the folders it made 0700. A folder that existed before (here tmp_path) is left as it was.
`casework demo`'s whole var dir is checked the same way in test_demo_stack.py.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from casework.application import Casework
from casework.clock import FakeClock
from casework.files import private_dir, private_file, write_private
from casework.messaging.nats_server import NatsServer
from casework.projections.sqlite import SqliteReadModel
from casework.testing.nats import jetstream
from casework.testing.stories import every_story
from casework_stack.stack import Stack, StackConfig
from casework_web.auth import TokenStore
from intake.measures.model import MeasuresModel
from intake.measures.rebuild import rebuild
from intake.read_model import CaseIndex
from mediation.worklist import Worklist


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def modes(top: Path) -> dict[str, int]:
    """Every file and folder under `top` (and `top`), relative name -> permission bits."""
    found = {".": stat.S_IMODE(top.stat().st_mode)}
    for folder, dirs, files in os.walk(top):
        for name in (*dirs, *files):
            path = Path(folder) / name
            found[str(path.relative_to(top))] = stat.S_IMODE(path.stat().st_mode)
    return found


def assert_private(top: Path) -> dict[str, int]:
    found = modes(top)
    loose = {
        name: oct(mode)
        for name, mode in found.items()
        if mode != (0o700 if (top / name).is_dir() else 0o600)
    }
    assert loose == {}, f"not owner-only under {top}: {loose}"
    return found


def test_the_store_and_its_wal_and_shm_are_0600_in_folders_made_0700(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.mkdir()
    os.chmod(existing, 0o755)
    var = existing / "var" / "deeper"
    clock = FakeClock(datetime(2026, 3, 1, 8, tzinfo=UTC))
    with Casework(f"sqlite:///{var / 'casework.db'}", clock=clock) as app:
        every_story(app, clock)
        found = assert_private(existing / "var")
    assert {"deeper/casework.db", "deeper/casework.db-wal", "deeper/casework.db-shm"} <= set(found)
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755  # not made here: left as it was


def test_read_models_and_the_measures_rebuild_are_0600(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 1, 8, tzinfo=UTC))
    var = tmp_path / "var"
    with Casework(f"sqlite:///{var / 'casework.db'}", clock=clock) as app:
        every_story(app, clock)
        made = [
            CaseIndex(var / "intake.db"),
            MeasuresModel(var / "intake.db"),
            Worklist(var / "mediation" / "worklist.db"),
            SqliteReadModel(var / "models" / "other.db", "create table t (x);"),
        ]
        for model in made:
            model.close()
        report = rebuild(app, var / "rebuilt" / "intake.db")
    assert report.events > 0
    found = assert_private(var)
    assert {"intake.db", "mediation/worklist.db", "models/other.db", "rebuilt/intake.db"} <= set(
        found
    )
    assert not [name for name in found if ".rebuild." in name]


def test_the_tokens_file_and_its_lock_are_0600(tmp_path: Path) -> None:
    tokens = TokenStore(tmp_path / "var" / "secrets" / "tokens.json")
    token = tokens.create("clerk-1", "auditor")
    tokens.create("clerk-2", "auditor")
    assert tokens.verify(token).actor.id == "clerk-1"
    found = assert_private(tmp_path / "var")
    assert {"secrets/tokens.json", "secrets/.tokens.json.lock"} <= set(found)


def test_the_stacks_var_dir_and_log_files_are_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    stack = Stack(StackConfig(var_dir=var, store=f"sqlite:///{var / 'casework.db'}"))
    specs = [stack.nats_spec(), stack.relay_spec()]
    assert [spec.log.name for spec in specs] == ["nats.log", "relay.log"]
    found = assert_private(var)
    assert {"logs", "logs/nats.log", "logs/relay.log"} <= set(found)


@pytest.mark.nats
def test_the_bundled_nats_servers_jetstream_store_and_log_are_private(tmp_path: Path) -> None:
    async def publish(url: str) -> None:
        async with jetstream(url) as (_, js):
            await js.add_stream(name="PRIVATE", subjects=["private.>"])
            await js.publish("private.case", b"a resident's report")

    with NatsServer(tmp_path / "var" / "nats") as server:
        asyncio.run(publish(server.url))
        found = assert_private(tmp_path / "var")
    assert "nats/nats-server.log" in found
    assert any(name.endswith(".blk") for name in found), sorted(found)


def test_the_helpers_hold_under_any_umask_and_leave_existing_files_alone(tmp_path: Path) -> None:
    os.umask(0o000)
    private_file(tmp_path / "a" / "b" / "file")
    write_private(tmp_path / "a" / "written", "secret")
    private_dir(tmp_path / "a" / "c")
    assert_private(tmp_path / "a")
    (tmp_path / "shared").write_text("the operator's own file")
    os.chmod(tmp_path / "shared", 0o644)
    private_file(tmp_path / "shared")
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o644
    assert (tmp_path / "shared").read_text() == "the operator's own file"
