"""Public names imported on first use (PEP 562), for the packages whose `__init__` re-exports:
`import casework.cli` or one light submodule then does not pay for eventsourcing, pydantic and
the whole domain (issue 16: the CLI's start). One helper, so the two packages cannot drift."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(
    package: str, namespace: dict[str, Any], where: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The package's `__getattr__` and `__dir__`: a name in `where` is imported from the module
    it names when first asked for, then kept in the package's namespace."""

    def getattr_(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        return sorted([*namespace, *where])

    return getattr_, dir_
