"""The `casework-dispatch` console script (filled in below)."""

from __future__ import annotations


def main() -> int:
    return 0
