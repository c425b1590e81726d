"""A case file read once from the store, then answered from memory: its chain, its history, its
state after any event.

`casework history` asked the store three times for the same case (verify, the history, the
state; four with `--as-of`, which found the version from a second history). The stored events
are read here once (`select_events`); the chain is checked on those bytes as stored
(`casework.audit.verify_events`, no key needed) and the same records are opened for reading
(`OpeningMapper`: plain values, `[erased]`, or `[personal]` for an auditor) and folded into the
case (each event's `mutate`, as eventsourcing's repository does).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from casework.audit import HistoryEntry, VerifyResult, history_entry, verify_events
from casework.domain.case import Case
from casework.domain.errors import CaseNotFoundError, ValidationError


class CaseFile:
    """One aggregate's stored events, read once; `opening` reads them as people are shown them,
    `stored_mapper` as stored (for the chain)."""

    def __init__(
        self,
        case_id: UUID,
        stored: Sequence[StoredEvent],
        *,
        stored_mapper: Mapper[UUID],
        opening: Mapper[UUID],
    ) -> None:
        self.case_id = case_id
        self.stored = stored
        self.stored_mapper = stored_mapper
        self.opening = opening

    def check(self) -> VerifyResult:
        """The chain of what was read (`verify` of this case, without another read)."""
        return verify_events(self.case_id, self.stored, self.stored_mapper)

    @cached_property
    def events(self) -> list[Any]:
        """The domain events, opened (raises on a damaged event: `check` names it)."""
        return [self.opening.to_domain_event(stored) for stored in self.stored]

    def history(self) -> list[HistoryEntry]:
        return [history_entry(event) for event in self.events]

    def state(self, version: int | None = None) -> Case:
        """The case after event `version` (its last if None)."""
        if version is not None and version < 1:
            raise ValidationError("versions start at 1 (the report)")
        case: Any = None
        for event in self.events[:version]:  # as `project_aggregate`, minus its per-event
            case = event.mutate(case)  # runtime protocol check (a third of this fold's time)
        if not isinstance(case, Case):
            raise CaseNotFoundError(f"no case file with id {self.case_id}")
        if version is not None and case.version != version:
            raise ValidationError(
                f"case {self.case_id} has only {case.version} events, not {version}"
            )
        return case

    def version_at(self, at: datetime) -> int:
        """The last event recorded at or before `at` (0: the case did not exist yet)."""
        last = 0
        for event in self.events:
            if event.timestamp > at:
                break
            last = event.originator_version
        return int(last)
