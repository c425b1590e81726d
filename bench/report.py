"""What every bench prints: each figure beside its baseline measured in the same run, as a ratio.

The box is shared, so a figure alone says little from one run to the next; its ratio to a
baseline measured in the same run says more. Each bench builds `Figure`s and hands them to
`emit`: with `--json` (`add_json_flag`) one JSON object per line on stdout,
`{"name", "value", "unit", "baseline", "ratio"}`, for comparing commits (everything else the
bench says goes to stderr, see `json_mode`); without it a Markdown table.

`ratio` is value / baseline (null without a baseline): for a rate, above 1 is faster than the
baseline; for a time or a latency, above 1 is slower.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured figure and, where there is one, its baseline from the same run."""

    name: str
    value: float
    unit: str
    baseline: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline or math.isnan(self.baseline):
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, object]:
        def plain(x: float | None) -> float | None:
            return None if x is None or math.isnan(x) else round(x, 6)

        return {
            "name": self.name,
            "value": plain(self.value),
            "unit": self.unit,
            "baseline": plain(self.baseline),
            "ratio": plain(self.ratio),
        }


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per figure on stdout: name, value, unit, baseline, ratio",
    )


@contextlib.contextmanager
def json_mode(enabled: bool) -> Iterator[None]:
    """With `--json`, what the bench prints meanwhile goes to stderr: stdout is JSON only."""
    if not enabled:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _number(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "—"
    return f"{x:,.2f}" if abs(x) < 100 else f"{x:,.0f}"


def emit(figures: Iterable[Figure], as_json: bool, title: str = "figures beside baselines") -> None:
    """Print the figures: JSON lines, or a Markdown table with the ratio column."""
    figures = list(figures)
    if as_json:
        for figure in figures:
            print(json.dumps(figure.as_dict(), ensure_ascii=False), flush=True)
        return
    print(f"\n{title}:\n")
    print("| what | value | unit | baseline | ratio |")
    print("|---|---:|---|---:|---:|")
    for f in figures:
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}"
        print(f"| {f.name} | {_number(f.value)} | {f.unit} | {_number(f.baseline)} | {ratio} |")
