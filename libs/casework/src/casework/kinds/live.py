"""Tables read from the kind registry, rebuilt when a kind is registered.

`MODELS_BY_TOPIC`, `EVENT_LABELS`, `KIND_LABELS` and the like were module constants built at
import; with kinds registered later (an installed package's entry point, `register_kind` in a
test) a constant would miss them. A `Live` mapping computes its contents from the registry on
first use and again after each registration, so an importer keeps the name it always had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from threading import Lock
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Live(Mapping[K, V]):
    """A read-only mapping whose contents `build()` makes from the registered kinds."""

    def __init__(self, build: Callable[[], Mapping[K, V]]) -> None:
        self._build = build
        self._seen = -1
        self._data: dict[K, V] = {}
        self._lock = Lock()

    def _current(self) -> dict[K, V]:
        from casework.kinds.registry import generation

        now = generation()
        if now != self._seen:
            with self._lock:
                if now != self._seen:
                    self._data = dict(self._build())
                    self._seen = now
        return self._data

    def __getitem__(self, key: K) -> V:
        return self._current()[key]

    def __iter__(self) -> Iterator[K]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())

    def __repr__(self) -> str:
        return f"Live({self._current()!r})"
