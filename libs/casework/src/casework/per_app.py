"""One object per application, made on first use, however many threads ask for it at once.

Why: the personal-data keys (`privacy_for`), the idempotency records (`records_for`) and the
transparency log's tables (`tables_for`) are each kept on the application and made when first
asked for. Made twice at once they diverged: two caches of keys sealed one value twice, and it
read back as a token for good (issue 16). One lock for all of them, re-entrant because making
one may ask for another (the records need the privacy keys); making is rare and quick.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_making = threading.RLock()


def once_per_app(app: Any, attribute: str, kind: type[T], make: Callable[[], T]) -> T:
    """`app.<attribute>` if it holds a `kind`; else `make()`, kept there, made by one thread."""
    found = getattr(app, attribute, None)
    if isinstance(found, kind):
        return found
    with _making:
        found = getattr(app, attribute, None)
        if not isinstance(found, kind):
            found = make()
            setattr(app, attribute, found)
        return found
