"""A relay has its contracts (and the plugged-in kinds they come from) ready when it is made, not
on its first window: that first use imported the kinds' entry points, 0.25-1 s on the 2-core box
that the first reports after a start waited for (issue 16). In a fresh interpreter: this one has
loaded the kinds long ago."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from casework import Casework
from casework.kinds import registry
from casework.messaging.relay_windows import StoreReader

with Casework(sys.argv[1]) as app:
    before = registry._loaded
    StoreReader(app)
    print(before, registry._loaded)
"""


def test_a_store_reader_loads_the_kinds_when_it_is_made(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, f"sqlite:///{tmp_path / 'casework.db'}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == ["False", "True"], done.stdout + done.stderr
