"""The last gate before the store: every value an event is about to carry can be read back.

Commands check their own arguments with field-specific words (`windows`, `text`); this gate
walks every field of every new event, whatever command made it, so that no text with a control
character and no time that cannot be replayed (no timezone, an offset past ±14:00, a year
outside [2000, 2100)) is ever recorded, even by a command that forgot to check.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from casework.domain.text import check_text
from casework.domain.windows import check_moment


def check_storable(fields: Mapping[str, Any], where: str = "") -> None:
    """Refuse (`ValidationError`) the first value under `fields` that could not be replayed."""
    for name, value in fields.items():
        _check(value, f"{where}{name}")


def _check(value: Any, what: str) -> None:
    if isinstance(value, str):
        check_text(value, what)
    elif isinstance(value, datetime):
        check_moment(value, what)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check(key, f"a key of {what}")
            _check(item, f"{what}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check(item, f"{what}[{index}]")
