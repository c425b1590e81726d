"""A missing optional dependency names the extra that brings it (`casework._extras`), and the
`casework` command turns that into one line and exit 2. The wheel test proves it in a venv where
the extras really are absent; here the workspace has them all, so a module is made unimportable
the way Python itself reports it (None in sys.modules)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from casework import MissingExtraError, cli
from casework._extras import EXTRAS, require


def _without(monkeypatch: pytest.MonkeyPatch, top: str) -> None:
    """`top` cannot be imported, and modules that imported it are imported afresh."""
    monkeypatch.setitem(sys.modules, top, None)  # import raises ModuleNotFoundError(name=top)
    # ... and so does every module of ours that needs it, whichever test imported it before
    # (`casework.contracts.asyncapi` imports `casework.messaging`'s subjects).
    ours = ("casework.messaging", "casework.contracts.asyncapi", "casework.testing.nats")
    for name in list(sys.modules):
        if name.startswith(f"{top}.") or name.startswith(ours):
            monkeypatch.delitem(sys.modules, name)


def test_a_missing_extra_is_named_with_the_command_that_installs_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _without(monkeypatch, "nats")
    with pytest.raises(MissingExtraError) as raised:
        require("nats", "casework.messaging")
    assert str(raised.value) == (
        "casework[nats] is needed for casework.messaging: pip install 'casework[nats]'"
    )
    assert isinstance(raised.value, ImportError)
    assert (raised.value.extra, raised.value.name) == ("nats", "nats")


def test_an_installed_module_is_returned() -> None:
    assert require("psycopg", "a PostgreSQL store").__name__ == "psycopg"


def test_an_error_inside_an_installed_module_is_not_blamed_on_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the missing module itself means "install the extra"; a module that is installed but
    lacks something of its own is a real error and keeps its own name."""
    monkeypatch.setitem(EXTRAS, "casework_extra_probe", "probe")
    with pytest.raises(MissingExtraError, match=r"pip install 'casework\[probe\]'"):
        require("casework_extra_probe", "a test")  # not installed at all

    (tmp_path / "casework_extra_probe.py").write_text("import casework_extra_probe_needs\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as raised:
        require("casework_extra_probe", "a test")
    assert not isinstance(raised.value, MissingExtraError)
    assert raised.value.name == "casework_extra_probe_needs"


def test_importing_messaging_without_nats_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _without(monkeypatch, "nats")
    with pytest.raises(ImportError, match=r"pip install 'casework\[nats\]'"):
        __import__("casework.messaging.relay")


@pytest.mark.parametrize("argv", [["relay", "--once"], ["dlq", "list"], ["asyncapi"]])
def test_a_command_that_needs_nats_says_so_and_exits_2(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _without(monkeypatch, "nats")
    monkeypatch.setenv("CASEWORK_STORE", "sqlite:///:memory:")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err == (
        "casework: casework[nats] is needed for casework.messaging: pip install 'casework[nats]'\n"
    )


def test_a_postgresql_store_without_psycopg_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _without(monkeypatch, "psycopg")
    from casework.settings import persistence_env

    with pytest.raises(MissingExtraError, match=r"casework\[postgres\] is needed for a PostgreSQL"):
        persistence_env("postgresql://someone@127.0.0.1:5432/cases")
