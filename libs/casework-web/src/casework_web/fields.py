"""Field types every service's bodies share, each stating in the OpenAPI document what it checks.

A client generated from a service's schema must never be refused for a rule the schema does not
state: so each rule here is checked exactly as its pattern says (the domain's own rules, such as
`casework.domain.windows`, follow in the library; those relative to now are stated in words in
the field's description, since JSON Schema cannot say "within a year of now").
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from casework.domain.text import CONTROL, TEXT_PATTERN, WORDS_PATTERN
from casework.domain.windows import EARLIEST, LATEST, Window
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    Field,
    StrictInt,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

_OFFSET = r"(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)"
_TIME = r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?"
_YEAR = r"([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
"""Years 0001 to 9999: RFC 3339 allows 0000, which no calendar here has."""
_DATE = rf"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
MOMENT_PATTERN = rf"^{_DATE}{_TIME}{_OFFSET}$"
"""An RFC 3339 time (seconds included, up to microseconds) with its offset, the offset within
±14:00 (the widest in use)."""
DATE_PATTERN = rf"^{_DATE}$"

_MOMENT = re.compile(MOMENT_PATTERN)
_DAY = re.compile(DATE_PATTERN)

YEARS = f"times fall in {EARLIEST.year} to {LATEST.year - 1}"


def _moment_text(value: Any) -> Any:
    """Only an ISO 8601 string: pydantic alone would read a JSON number 0 as 1970-01-01, and an
    offset of +20:40 as a time zone. A `datetime` passes (Python callers, not JSON)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _MOMENT.fullmatch(value):
        raise PydanticCustomError(
            "iso_moment",
            "give a time as an ISO 8601 string with its timezone offset, e.g. "
            "2026-11-24T09:30:00+08:00; offsets run from -14:00 to +14:00",
        )
    return value


def _day_text(value: Any) -> Any:
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise PydanticCustomError("iso_date", "give a date as an ISO 8601 string, e.g. 2026-11-28")
    return value


Moment = Annotated[
    AwareDatetime,
    BeforeValidator(_moment_text),
    Field(json_schema_extra={"pattern": MOMENT_PATTERN}),
]
"""A time a person gives: an RFC 3339 string with its offset (never a number)."""

Day = Annotated[
    date, BeforeValidator(_day_text), Field(json_schema_extra={"pattern": DATE_PATTERN})
]
"""A calendar date a person gives: an ISO 8601 string (never a number)."""


def _due_text(value: Any) -> Any:
    """A date, or a time with its offset, that the calendar has (2026-02-30 is refused here)."""
    if isinstance(value, str):
        try:
            if _DAY.fullmatch(value):
                date.fromisoformat(value)
                return value
            if _MOMENT.fullmatch(value):
                datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
                return value
        except ValueError:
            pass
    raise PydanticCustomError(
        "iso_due",
        "{given} is not an ISO date: give an ISO 8601 date (2026-12-01) or a time with its "
        "offset (2026-12-01T18:00:00+08:00)",
        {"given": repr(value)[:60]},
    )


DueDate = Annotated[
    str,
    BeforeValidator(_due_text),
    WithJsonSchema(
        {
            "type": "string",
            "anyOf": [
                {"format": "date", "pattern": DATE_PATTERN},
                {"format": "date-time", "pattern": MOMENT_PATTERN},
            ],
        }
    ),
]
"""When something falls due: a date (the end of that day) or a time with its offset."""


def _whole(value: Any) -> Any:
    """1.0 is the integer 1 to JSON Schema (and to a generated client); "1" and true are not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[StrictInt, BeforeValidator(_whole)]
"""A JSON integer: 3 or 3.0, never "3" nor true."""


def keys_like(key_schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a mapping whose every key is `key_schema` (pydantic states a key's
    pattern as `patternProperties`, which lets a key that does not match through)."""
    return {"propertyNames": {"type": "string", **key_schema}, "additionalProperties": False}


def window_words(window: Window) -> str:
    """The domain's window for a field, as its description says it (the rule is relative to now,
    so the schema can state it only in words)."""
    return f"must lie {window.words} ({YEARS}); further off is refused (422)"


def _no_controls(value: str) -> str:
    found = CONTROL.search(value)
    if found is not None:
        raise PydanticCustomError(
            "control_character",
            "holds the control character U+{code} at position {at}; text may hold newlines and "
            "tabs, no other control characters",
            {"code": f"{ord(found.group()):04X}", "at": found.start()},
        )
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be blank")
    return value


_WORDS = Field(json_schema_extra={"pattern": WORDS_PATTERN})
_TEXT = Field(json_schema_extra={"pattern": TEXT_PATTERN})
_CHECK_WORDS = (AfterValidator(_no_controls), AfterValidator(_not_blank))
WORDS_RULES = (_WORDS, *_CHECK_WORDS)
"""A required free text's rules, to add to a service's own `str`: `Annotated[X, *WORDS_RULES]`."""
TEXT_RULES = (_TEXT, AfterValidator(_no_controls))
"""An optional free text's rules, likewise."""

# Free texts, by longest length. `WordsN`: required, not blank; `TextN`: may be empty. Neither
# holds control characters but newline and tab (`casework.domain.text`), and the schema says so.
Words64 = Annotated[str, Field(min_length=1, max_length=64), _WORDS, *_CHECK_WORDS]
Words200 = Annotated[str, Field(min_length=1, max_length=200), _WORDS, *_CHECK_WORDS]
Words1000 = Annotated[str, Field(min_length=1, max_length=1000), _WORDS, *_CHECK_WORDS]
Words2000 = Annotated[str, Field(min_length=1, max_length=2000), _WORDS, *_CHECK_WORDS]
Words4000 = Annotated[str, Field(min_length=1, max_length=4000), _WORDS, *_CHECK_WORDS]
Text100 = Annotated[str, Field(max_length=100), _TEXT, AfterValidator(_no_controls)]
Text200 = Annotated[str, Field(max_length=200), _TEXT, AfterValidator(_no_controls)]
Text2000 = Annotated[str, Field(max_length=2000), _TEXT, AfterValidator(_no_controls)]
Text4000 = Annotated[str, Field(max_length=4000), _TEXT, AfterValidator(_no_controls)]
