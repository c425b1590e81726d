"""The library as an adopter gets it: the built wheel, in a fresh virtual environment.

The workspace installs every package and every extra, so nothing run inside it can show that
`pip install casework` alone works. Here the wheel is built (`uv build`), installed into a new
`python -m venv` with nothing of the workspace (its dependencies come from the package index,
through uv's cache), and `outside/check_installed.py` runs there: the README's quickstart, the
`casework` command on the store it made, and the named ImportError of each missing extra.
It takes seconds with a warm cache; it needs the index (or the cache) to resolve dependencies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LIBRARY = HERE.parent
ROOT = LIBRARY.parents[1]
CHECKER = HERE / "outside" / "check_installed.py"

ALSO_INSTALLED: tuple[str, ...] = ("casework-lift-entrapment",)
"""Workspace packages (by project name) built as wheels and installed beside casework in the fresh
venv, in the same `pip install`: an example kind's package (examples/lift-entrapment) goes here,
so that it is proved to work with the released library and nothing else."""

ALSO_RUN: tuple[str, ...] = ("examples/lift-entrapment/tests/test_lift.py",)
"""Test files (relative to the repository root) run with pytest INSIDE the fresh venv, after the
checks, e.g. the example kind's library-level test. They must stand alone: no conftest.py is
loaded there and only the wheels above, their dependencies and pytest are installed."""

CORE = {
    "eventsourcing",
    "pydantic",
    "cryptography",
    "phonenumbers",
    "tenacity",
    "python-json-logger",
    "inotify-simple",
}  # fmt: skip (inotify-simple on Linux only)


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if found is None:
        pytest.fail("uv is needed to build the wheel: python3 -m pip install 'uv==0.13.9'")
    return found


def _clean_env(venv: Path | None = None) -> dict[str, str]:
    """The environment without the workspace's venv, paths or casework settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT")
        and not key.startswith("CASEWORK_")
    }
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _build(package: str, out: Path) -> Path:
    _run([_uv(), "build", "--package", package, "--wheel", "--out-dir", str(out), "--quiet"],
         ROOT, _clean_env())  # fmt: skip
    (wheel,) = out.glob(f"{package.replace('-', '_')}-*.whl")
    return wheel


def test_the_wheel_alone_runs_the_quickstart_and_names_each_missing_extra(
    tmp_path: Path,
) -> None:
    wheels = tmp_path / "wheels"
    wheel = _build("casework", wheels)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    assert "casework/py.typed" in names
    assert not [n for n in names if "/tests/" in n or n.startswith("tests/")]
    assert "## Quickstart" in (metadata.get_payload() or ""), "the README is the long description"
    requires = metadata.get_all("Requires-Dist") or []
    core = {r.split(";")[0].split("[")[0].split("=")[0].split(">")[0].strip()
            for r in requires if "extra ==" not in r}  # fmt: skip
    assert core == CORE, f"the core's dependencies changed: {sorted(core)}"
    assert set(metadata.get_all("Provides-Extra") or []) >= {"postgres", "nats", "server"}
    others = [_build(package, wheels) for package in ALSO_INSTALLED]

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path, _clean_env())
    python = venv / "bin" / "python"
    install = [_uv(), "pip", "install", "--quiet", "--python", str(python), str(wheel)]
    _run([*install, *map(str, others), *(["pytest", "hypothesis"] if ALSO_RUN else [])], tmp_path,
         _clean_env(venv))  # fmt: skip

    out = _run([str(python), str(CHECKER), str(LIBRARY / "README.md")], tmp_path, _clean_env(venv))
    assert "ok: the README's quickstart ran" in out
    assert "ok: every module imports with the core, or names the extra it needs" in out
    if ALSO_RUN:
        (tmp_path / "pytest.ini").write_text(
            "[pytest]\naddopts = --import-mode=importlib\nfilterwarnings = error\n"
        )
        _run([str(python), "-m", "pytest", "-q", "--noconftest", "-p", "no:cacheprovider",
              "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path),
              *(str(ROOT / test) for test in ALSO_RUN)], tmp_path, _clean_env(venv))  # fmt: skip
