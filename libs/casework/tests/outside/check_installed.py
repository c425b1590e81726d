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
import signal
import subprocess
import sys
import tempfile
import time
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


def notary_runs_with_the_core(command: Path, env: dict[str, str]) -> None:
    """The transparency log is core (docs/adr/016): `casework notary` on a SQLite store with no
    NATS_URL stands by, takes the notary lock and stops on SIGTERM; `casework notary checkpoint`
    signs; the checkpoints verify: all without casework[nats]."""
    env = {k: v for k, v in env.items() if k not in ("NATS_URL", "CASEWORK_NOTARY_KEY")}
    log = Path(env["CASEWORK_VAR_DIR"]).parent / "notary.log"
    with log.open("w") as err:
        notary = subprocess.Popen(
            [str(command), "notary", "--poll", "0.2"], env=env, stdout=err, stderr=err
        )
        deadline = time.monotonic() + 60
        while notary.poll() is None and time.monotonic() < deadline:
            if "appending and signing until stopped" in log.read_text():
                break
            time.sleep(0.1)
        running = notary.poll() is None
        notary.send_signal(signal.SIGTERM)
        try:
            code = notary.wait(timeout=30)
        except subprocess.TimeoutExpired:
            notary.kill()
            code = notary.wait()
    said = log.read_text()
    check(
        running and code == 0 and "store only" in said and "Traceback" not in said,
        f"`casework notary` runs without casework[nats] and stops on SIGTERM ({code}, {said!r})",
    )
    one = subprocess.run(
        [str(command), "notary", "checkpoint"], env=env, capture_output=True, text=True
    )
    check(one.returncode == 0, f"`casework notary checkpoint` signs ({one.stderr.strip()!r})")
    signed = subprocess.run(
        [str(command), "checkpoints", "verify"], env=env, capture_output=True, text=True
    )
    check(
        signed.returncode == 0 and "each extends the one before" in signed.stdout,
        f"... and signed checkpoints that verify ({signed.stdout.strip()!r})",
    )


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
        notary_runs_with_the_core(command, {**env, "CASEWORK_VAR_DIR": str(Path(folder) / "var")})

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
