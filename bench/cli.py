"""The `casework` script's start, beside a bare interpreter's, in the same run.

    uv run python bench/cli.py [--runs 15] [--json]

Each command runs `--runs` times in turns with `python -c pass` (the floor: the interpreter
alone, same venv), hyperfine-style; the median wall-clock time counts. Rows: `casework --help`
(every built-in and plugged-in command's parser built), a subcommand's `--help`, and
`import casework.cli` alone. Issue 16's target: `casework --help` at most 0.25 s.
Where the rest goes: `python -X importtime -c "import casework.cli; casework.cli.main(['--help'])"`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import report

PYTHON = sys.executable
CASEWORK = shutil.which("casework", path=str(Path(PYTHON).parent)) or "casework"

COMMANDS: list[tuple[str, list[str]]] = [
    ("`casework --help`", [CASEWORK, "--help"]),
    ("`casework verify --help`", [CASEWORK, "verify", "--help"]),
    ("`casework relay --help`", [CASEWORK, "relay", "--help"]),
    ("`python -c 'import casework.cli'`", [PYTHON, "-c", "import casework.cli"]),
]
FLOOR = ("`python -c pass`", [PYTHON, "-c", "pass"])


def once(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (median)")
    report.add_json_flag(parser)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name, _ in [*COMMANDS, FLOOR]}
    for _, command in [*COMMANDS, FLOOR]:  # warm the page cache and .pyc files
        once(command)
    for _ in range(args.runs):
        for name, command in [FLOOR, *COMMANDS]:  # in turns: a busy moment hits every row
            times[name].append(once(command))
    floor = statistics.median(times[FLOOR[0]])
    if not args.json:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{args.runs} runs each, median; load average {load}")
        print(f"floor {FLOOR[0]}: {floor:.3f} s")
    report.emit(
        (report.Figure(name, statistics.median(times[name]), "s", floor) for name, _ in COMMANDS),
        args.json,
        f"start time beside {FLOOR[0]}",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
