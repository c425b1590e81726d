"""The `casework` script's start pays only for what a command runs (issue 16).

Not a timing (speed claims live in bench/cli.py): a check, in a fresh interpreter, that importing
the script and building its whole parser — every built-in command and every plugged-in one —
loads none of the heavy libraries a command imports when it runs.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("eventsourcing", "nats", "psycopg", "pydantic", "fastapi", "cryptography", "tenacity")

PROBE = """
import json, sys
import casework.cli
casework.cli.build_parser()
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def loaded_after(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout))


def test_building_the_parser_imports_none_of_the_heavy_libraries() -> None:
    loaded = loaded_after(PROBE)
    assert "casework" in loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_probe_would_see_a_heavy_import() -> None:
    """The check can fail: running a command's module body for real loads what it needs."""
    loaded = loaded_after(PROBE.replace("casework.cli.build_parser()", "import casework.outages"))
    assert {"nats", "psycopg", "eventsourcing"} <= loaded


def test_the_public_names_are_still_there_when_asked_for() -> None:
    import casework
    import casework.domain

    assert casework.Casework.__name__ == "Casework"
    assert casework.domain.Repair.__name__ == "Repair"
    assert set(casework.__all__) <= set(dir(casework))
