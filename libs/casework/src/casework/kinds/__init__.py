"""Kinds of case, registered: `Kind`, `register_kind` and the questions asked of the registry.

See `casework.kinds.registry` (how kinds are found) and docs/adr/015-kinds-registered.md.
"""

from casework.kinds.registry import (
    GROUP,
    Kind,
    KindError,
    kind_named,
    kind_names,
    kinds,
    register_kind,
    registered,
    unregister_kind,
)

__all__ = [
    "GROUP",
    "Kind",
    "KindError",
    "kind_named",
    "kind_names",
    "kinds",
    "register_kind",
    "registered",
    "unregister_kind",
]
