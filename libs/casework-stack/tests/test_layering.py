"""The layering of docs/adr/005: the library never imports the services or the stack above it,
and the stack's commands reach the library's `casework` console script only through metadata."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ABOVE_THE_LIBRARY = ("intake", "dispatch", "mediation", "casework_stack", "casework_web")

PROBE = f"""
import importlib, pkgutil, sys
import casework
for module in pkgutil.walk_packages(casework.__path__, "casework."):
    importlib.import_module(module.name)
above = {ABOVE_THE_LIBRARY!r}
print(sorted({{m for m in sys.modules if m.split(".")[0] in above}}))
"""


def test_importing_every_module_of_the_library_imports_nothing_built_on_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_the_casework_script_offers_the_stacks_commands_beside_the_librarys_own() -> None:
    script = Path(sys.executable).with_name("casework")
    done = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    for command in ("up", "demo", "rebuild", "history", "verify", "relay"):
        assert f"    {command} " in done.stdout, done.stdout
    demo_help = subprocess.run(
        [str(script), "demo", "--help"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "through the services" in demo_help or "--in-process" in demo_help
    assert "--without" in demo_help, "plain `casework demo` is the stack's"
