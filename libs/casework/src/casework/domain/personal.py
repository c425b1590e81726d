"""Which values of an event are personal data, and whose: declared by the domain, as data.

An event class lists its personal fields in `PERSONAL`, field name -> whose it is:
- `ACTOR`: the person who recorded the event (a resident's description of their problem);
- `REPORTER`: the case's first reporter (a staff note or a return-visit note about them);
- `EACH_KEY`: a mapping whose keys are person ids, each value that person's (a mediation
  round's stated positions, by party);
- any other string: the name of a field of the event that holds the person's id.

The domain records plain values and knows no keys; the application seals what is declared here
before storing it (`casework.privacy.sealing`, docs/adr/011-personal-data.md). Phone and ID-card
numbers in any other text are found and sealed there too, without a declaration.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

ACTOR: Final = "actor"
REPORTER: Final = "reporter"
EACH_KEY: Final = "each key"

Personal = Mapping[str, str]
"""The type of an event class's `PERSONAL` declaration."""


def personal(**fields: str) -> Personal:
    """A declaration, read-only: `PERSONAL = personal(description=ACTOR)`."""
    return MappingProxyType(dict(fields))


NONE: Personal = personal()
