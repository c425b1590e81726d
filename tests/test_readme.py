"""The README's promises that code can check: the deadlines table matches the one the code uses."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from casework.domain.ladder import DEADLINES
from casework.domain.places import Tier

README = Path(__file__).resolve().parents[1] / "README.md"
UNITS = {"min": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


def _duration(text: str) -> timedelta:
    amount, unit = text.split()
    return int(amount) * UNITS[unit]


def test_the_readme_deadlines_table_is_the_table_the_ladder_uses() -> None:
    body = README.read_text(encoding="utf-8")
    pattern = r"<!-- deadlines-table:start -->(.*?)<!-- deadlines-table:end -->"
    match = re.search(pattern, body, re.S)
    assert match, "README lost its deadlines table markers"
    rows = [line for line in match.group(1).strip().splitlines()[2:] if line.startswith("|")]
    documented = {}
    for row in rows:
        kind, priority, tier, respond, settle = (c.strip() for c in row.strip("|").split("|"))
        documented[(kind, priority, Tier(tier))] = (_duration(respond), _duration(settle))
    actual = {key: (d.respond_within, d.settle_within) for key, d in DEADLINES.items()}
    assert documented == actual
