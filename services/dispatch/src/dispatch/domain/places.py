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


@lru_cache(maxsize=65536)
def covers(path: str, address: Address) -> bool:
    """Whether the place at `path` (a compound or a building) contains `address`, remembered:
    each decision asks it of every place of every candidate, mostly the same few pairs."""
    return place(path).contains(address)
