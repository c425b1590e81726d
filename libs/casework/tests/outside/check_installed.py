"""Run by `tests/test_wheel.py` INSIDE a fresh virtual environment where only the built wheel of
casework (and its core dependencies, from the index) is installed: nothing of the workspace.

It proves what an adopter gets from `pip install casework`: the README's quickstart runs, the
`casework` command reads the store it made, and what needs an extra not installed (psycopg,
nats-py) says which extra to install. It imports nothing but the standard library and the
installed `casework`, and exits non-zero with a line saying what failed.

    python check_installed.py <path of libs/casework/README.md>
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import re
import subprocess
import sys
import tempfile
from pathlib import Path

NEEDS_AN_EXTRA = {
    "casework.messaging": "nats",
    "casework.contracts.asyncapi": "nats",  # documents casework.messaging's subjects
    "casework.testing.nats": "nats",
    "casework.postgres": "postgres",
    "casework.group_commit": "postgres",  # a recorder for PostgreSQL stores (ADR 018)
    "casework.testing.postgres": "postgres",
    "casework.testing.postgres_outage": "postgres",  # drives a PostgreSQL cluster (needs pytest)
}
"""Modules (and packages, with all they hold) that need an extra; every other module of the
installed package must import with the core alone (`casework.testing` may also need pytest)."""

QUICKSTART = re.compile(r"## Quickstart\n.*?```python\n(.*?)```", re.S)


def quickstart(readme: Path) -> str:
    """The first python block of the README's Quickstart section."""
    found = QUICKSTART.search(readme.read_text(encoding="utf-8"))
    if found is None:
        raise SystemExit(f"no ```python block under '## Quickstart' in {readme}")
    return found.group(1)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok: {what}")


def needs_extra(module: str, extra: str, needed_for: str | None = None) -> None:
    try:
        importlib.import_module(module)
    except ImportError as error:
        wanted = (
            f"casework[{extra}] is needed for {needed_for or module}: "
            f"pip install 'casework[{extra}]'"
        )
        check(str(error) == wanted, f"import {module} says {wanted!r} (it said {error!r})")
    else:
        raise SystemExit(f"FAILED: import {module} worked without casework[{extra}]")


def every_module_imports_or_names_its_extra() -> None:
    import casework

    for found in pkgutil.walk_packages(casework.__path__, "casework.", onerror=lambda _: None):
        name = found.name
        extra = next((e for m, e in NEEDS_AN_EXTRA.items() if f"{name}.".startswith(f"{m}.")), None)
        try:
            importlib.import_module(name)
        except casework.MissingExtraError as error:
            if extra is None or error.extra != extra:
                raise SystemExit(f"FAILED: {name} needs casework[{error.extra}]: {error}") from None
        except ModuleNotFoundError as error:
            if not (name.startswith("casework.testing.") and error.name == "pytest"):
                raise SystemExit(f"FAILED: import {name}: {error!r}") from None
        else:
            if extra is not None:
                raise SystemExit(f"FAILED: {name} imported without casework[{extra}]")
    print("ok: every module imports with the core, or names the extra it needs")


def main(readme: Path) -> None:
    import casework

    installed = Path(casework.__file__).resolve().parent
    check("site-packages" in installed.parts, f"casework comes from the venv ({installed})")
    check((installed / "py.typed").is_file(), "py.typed is installed (PEP 561)")
    for absent in ("nats", "psycopg", "psycopg_pool"):
        check(importlib.util.find_spec(absent) is None, f"{absent} is not installed")

    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        namespace: dict[str, object] = {"__name__": "quickstart"}
        exec(compile(quickstart(readme), str(readme), "exec"), namespace)
        check(Path("cases.sqlite").is_file(), "the README's quickstart ran (cases.sqlite made)")

        env = {**os.environ, "CASEWORK_STORE": f"sqlite:///{Path(folder) / 'cases.sqlite'}"}
        command = Path(sys.executable).parent / "casework"
        verified = subprocess.run(
            [str(command), "verify", "-v"], env=env, capture_output=True, text=True
        )
        check(
            verified.returncode == 0 and "all 1 case files intact" in verified.stdout,
            f"`casework verify` on it: {verified.stdout.strip()!r} {verified.stderr.strip()!r}",
        )
        relay = subprocess.run(
            [str(command), "relay", "--once"], env=env, capture_output=True, text=True
        )
        check(
            relay.returncode == 2 and "pip install 'casework[nats]'" in relay.stderr,
            f"`casework relay --once` exits 2 naming casework[nats] ({relay.returncode}, "
            f"{relay.stderr.strip()!r})",
        )
        check("Traceback" not in relay.stderr, "... with no traceback")

    needs_extra("casework.messaging", "nats")
    needs_extra("casework.messaging.relay", "nats", "casework.messaging")
    needs_extra("casework.postgres", "postgres")
    try:
        casework.Casework("postgresql://someone@127.0.0.1:5432/cases")
    except ImportError as error:
        check("casework[postgres]" in str(error), f"a PostgreSQL store names the extra: {error}")
    else:
        raise SystemExit("FAILED: a PostgreSQL store opened without casework[postgres]")
    every_module_imports_or_names_its_extra()
    missing = [name for name in casework.__all__ if not hasattr(casework, name)]
    check(not missing, f"every name of casework.__all__ is there (missing: {missing})")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
