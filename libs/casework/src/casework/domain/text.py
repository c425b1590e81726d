"""What free text may hold: any character a person types, but no control characters.

A NUL cuts a string short in PostgreSQL (it refuses it outright) and in C readers; other control
characters garble terminals and logs, and no keyboard produces them. Newline and tab are what
people do type into a note, so they stay. One rule for every text a command records.
"""

from __future__ import annotations

import re

from casework.domain.errors import ValidationError

ALLOWED_CONTROLS = "\n\t"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
"""C0 controls and DEL, except tab (\\x09) and newline (\\x0a)."""

TEXT_PATTERN = r"^[^\x00-\x08\x0b-\x1f\x7f]*$"
"""The same rule as a JSON Schema pattern, for the services' OpenAPI documents."""

NOT_BLANK = r"[^\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
"""A character `str.strip` keeps: spelled out, since `\\s` differs between regex dialects
(ECMA's, which a client generated from the schema uses, leaves out U+0085)."""
WORDS_PATTERN = rf"^[^\x00-\x08\x0b-\x1f\x7f]*{NOT_BLANK}[^\x00-\x08\x0b-\x1f\x7f]*$"
"""Text with at least one character that is not blank (what `require_text` wants), as a
pattern: a required text that is all spaces is refused, and the schema says so."""


def check_text(value: str, what: str) -> str:
    """`value` unchanged if it holds no control character but newline and tab; else refused."""
    found = CONTROL.search(value)
    if found is not None:
        raise ValidationError(
            f"{what} holds the control character U+{ord(found.group()):04X} at position "
            f"{found.start()}; text may hold newlines and tabs, no other control characters"
        )
    return value


def require_text(value: str, what: str, limit: int) -> str:
    """`value` stripped; refused if it is empty, longer than `limit` or holds a control char."""
    text = check_text(value, what).strip()
    if not text:
        raise ValidationError(f"{what} must not be empty")
    if len(text) > limit:
        raise ValidationError(f"{what} is {len(text)} characters; the limit is {limit}")
    return text
