"""Phone numbers and mainland ID-card numbers in free text: personal data wherever typed.

A resident who writes "call me on 138 1234 5678" into a description, or a clerk who notes an
ID-card number in a comment, has put personal data into a field that is not itself personal (a
staff note) or that belongs to someone else; `casework.privacy.sealing` seals each span found
here under the reporter's key, leaving the rest of the text readable.

Phone numbers are found by Google's libphonenumber (the `phonenumbers` package), for China:
mobiles, landlines with their area code, `+86`, spaces and dashes. Mainland resident ID-card
numbers (GB 11643: 17 digits and a check character, ISO 7064 MOD 11-2) are checked here, since
no library we know checks them; a run of 18 digits whose check character is wrong is left alone,
as is anything inside a longer run of digits (an order number).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date

import phonenumbers

REGION = "CN"
DIGIT_RUN = re.compile(r"\d(?:[\s().+-]{0,2}\d){6,}")
"""Seven digits or more, with at most a couple of separators between any two: no phone number
(a mainland landline has 7 digits after its area code) or ID-card number is shorter, so text
without such a run (an address like b12/0302, a short id) skips libphonenumber altogether."""
ID_CARD = re.compile(r"(?<![0-9A-Za-z])([1-9][0-9]{16}[0-9Xx])(?![0-9A-Za-z])")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


@dataclass(frozen=True)
class Span:
    """Where a number was found in a text: `text[start:end]`, and what it is."""

    start: int
    end: int
    kind: str  # "phone" or "id_card"


def id_card_check(first17: str) -> str:
    """The check character (0-9 or X) of a mainland ID-card number's first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def is_id_card_number(text: str) -> bool:
    """18 characters, a plausible birth date at 7-14, and the right check character."""
    if ID_CARD.fullmatch(text) is None:
        return False
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100 and id_card_check(text[:17]) == text[17].upper()


NONE_FOUND_KEPT = 4096
"""How many texts with a run of digits but no number in them `find_numbers` remembers."""
NONE_FOUND_LONGEST = 120
"""Only short texts are remembered (dates, ids, labels: the ones that repeat)."""
_none_found: dict[str, None] = {}
_lock = threading.Lock()


def find_numbers(text: str) -> list[Span]:
    """Every phone number and ID-card number in `text`, in order, not overlapping.

    libphonenumber's matcher costs about a tenth of a millisecond or more per text, and the
    texts with digits in them that hold no number repeat (a due date, a meeting's id in each
    event of its meeting): the short ones are remembered (the last `NONE_FOUND_KEPT`), so each
    is matched once. Only texts in which nothing was found are kept: no number a person typed
    stays in this memory."""
    if DIGIT_RUN.search(text) is None:
        return []  # the common case, and libphonenumber's matcher is not free
    if text in _none_found:
        return []
    spans = _find(text)
    if not spans and len(text) <= NONE_FOUND_LONGEST:
        with _lock:
            if len(_none_found) >= NONE_FOUND_KEPT:
                _none_found.pop(next(iter(_none_found)), None)
            _none_found[text] = None
    return spans


def _find(text: str) -> list[Span]:
    spans = [
        Span(m.start(1), m.end(1), "id_card")
        for m in ID_CARD.finditer(text)
        if is_id_card_number(m[1])
    ]
    taken = [(s.start, s.end) for s in spans]
    for match in phonenumbers.PhoneNumberMatcher(text, REGION):
        if not any(match.start < end and start < match.end for start, end in taken):
            spans.append(Span(match.start, match.end, "phone"))
    return sorted(spans, key=lambda s: s.start)
