"""The stack's pieces that need no running stack: topology, progress, child environments."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from casework_stack.progress import Progress
from casework_stack.topology import Ports, port_taken, shown_store


def test_a_store_url_is_shown_without_its_password() -> None:
    shown = shown_store("postgresql://casework:s3cret@db.example:5432/casework")
    assert shown == "postgresql://…@db.example:5432/casework"
    assert shown_store("sqlite:///var/casework.db") == "sqlite:///var/casework.db"


def test_free_ports_are_free_and_distinct() -> None:
    ports = Ports.free()
    numbers = [ports.of(n) for n in ("intake", "dispatch", "mediation", "nats")]
    assert len(set(numbers)) == 4
    assert not any(port_taken("127.0.0.1", n) for n in numbers)
    assert Ports() == Ports(8000, 8001, 8002, 4223)  # the README's table


def test_progress_off_a_terminal_is_plain_lines_and_a_bar_that_ends_once() -> None:
    out = io.StringIO()
    progress = Progress(out, live=False)
    progress.step("starting nats-server")
    for done in (10, 50, 100, 100):
        progress.bar("intake", done, 100, "log entries")
    progress.done("finished")

    lines = out.getvalue().splitlines()
    assert lines[0].endswith("starting nats-server")
    assert sum("100%" in line for line in lines) == 1
    assert lines[-1] == "finished"


def test_a_hermetic_stack_hands_its_children_none_of_the_callers_casework_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from casework_stack.stack import Stack, StackConfig

    monkeypatch.setenv("CASEWORK_TOKENS_FILE", "/srv/casework/tokens.json")
    monkeypatch.setenv("INTAKE_DB", "/srv/casework/intake.db")
    monkeypatch.setenv("NATS_URL", "nats://production:4222")
    var = tmp_path / "demo"
    config = StackConfig(var_dir=var, store=f"sqlite:///{var / 'casework.db'}", hermetic=True)

    env = Stack(config).child_env()

    assert "INTAKE_DB" not in env
    assert env["CASEWORK_TOKENS_FILE"] == str(var / "tokens.json")
    assert env["NATS_URL"] == "nats://127.0.0.1:4223"
    assert env["CASEWORK_VAR_DIR"] == str(var)
    up_env = Stack(StackConfig.from_environment(var)).child_env()  # `casework up` passes them on
    assert up_env["INTAKE_DB"] == "/srv/casework/intake.db"
    assert up_env["NATS_URL"] == "nats://production:4222"


def test_the_intake_is_given_the_public_key_of_the_key_the_notary_signs_with(
    tmp_path: Path,
) -> None:
    """The case page checks a checkpoint's signature only with the notary's public key: the
    stack hands the intake the public half of the very key its notary signs with."""
    from casework.transparency.checkpoints import notary_key, public_text
    from casework_stack.stack import Stack, StackConfig

    var = tmp_path / "stack"
    var.mkdir()
    config = StackConfig(var_dir=var, store=f"sqlite:///{var / 'casework.db'}", hermetic=True)
    (intake,) = Stack(config).service_specs("intake")
    (dispatch,) = Stack(config).service_specs("dispatch")

    signing = notary_key({}, var)  # the file the stack's notary uses (made by the first caller)
    assert intake.env["INTAKE_NOTARY_PUBKEY"] == public_text(signing.public_key())
    assert "INTAKE_NOTARY_PUBKEY" not in dispatch.env
    without = StackConfig(var_dir=var, store=config.store, hermetic=True, notary=False)
    (plain,) = Stack(without).service_specs("intake")
    assert "INTAKE_NOTARY_PUBKEY" not in plain.env
