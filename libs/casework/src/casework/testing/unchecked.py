"""Recording an event past the domain's checks, as a version of Casework before a rule would have.

For tests of what reads the store (projections, rebuild, replay): the store may hold events that
today's commands refuse (written before the rule existed), and its readers must go on past them.
Never for anything but tests.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from casework.application import Casework
from casework.domain.case import Case


def record_unchecked(
    app: Casework, case_id: UUID | str, event_class: type[Case.Event], **fields: Any
) -> int:
    """Append `event_class(**fields)` to the case as is (no command, no `check_storable`), chained
    and hashed like any event; returns its version."""
    case = app.get_case(case_id)
    fields.setdefault("tier", case.tier.value)
    fields.setdefault("reason", "")
    Aggregate.trigger_event(case, event_class, prev_hash=case.chain_head, hash="", **fields)
    app.save(case)
    return int(case.version)
