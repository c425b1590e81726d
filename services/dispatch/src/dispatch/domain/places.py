"""Places as the roster writes them, parsed once per process.

A decision compares the work's address with every place each candidate covers; the roster names
the same few dozen compounds and buildings over and over, so parsing each path once (addresses
are immutable) keeps the rule's cost in the comparisons, not in the parsing.
"""

from __future__ import annotations

from functools import lru_cache

from casework.domain.places import Address


@lru_cache(maxsize=16384)
def place(path: str) -> Address:
    """`Address.parse`, remembered; raises the same ValidationError for a bad path."""
    return Address.parse(path)
