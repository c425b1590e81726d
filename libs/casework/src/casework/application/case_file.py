"""A case file read once from the store, then answered from memory: its chain, its history, its
state after any event.

`casework history` asked the store three times for the same case (verify, the history, the
state; four with `--as-of`, which found the version from a second history). The stored events
are read here once (`select_events`); the chain is checked on those bytes as stored
(`casework.audit.verify_events`, no key needed) and the same records are opened for reading
(`OpeningMapper`: plain values, `[erased]`, or `[personal]` for an auditor) and folded into the
case (each event's `mutate`, as eventsourcing's repository does).

Each stored event's text is matched once against its topic's shape (`casework.stored_shapes`)
where the store's transcoding allows: the same match gives the chain its digest and the events
their decoded state (`OpeningMapper.to_domain_events` makes and upcasts each event from it, and
opens the texts that hold a token). Events without a shape are read the general way, by the
checker and the mapper.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from casework.audit import HistoryEntry, VerifyResult, history_entries, verify_events
from casework.domain.case import Case
from casework.domain.chain import GENESIS
from casework.domain.errors import CaseNotFoundError, ValidationError
from casework.privacy.reveal import OpeningMapper
from casework.stored_check import stock_transcoding
from casework.stored_shapes import Matched, checked, decoded, digest, match

T = TypeVar("T")


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

    @cached_property
    def _matched(self) -> list[Matched | None]:
        """Each stored event's shape and values; None where that reading does not apply."""
        mapper = self.stored_mapper
        if (
            mapper.cipher is not None
            or mapper.compressor is not None
            or not stock_transcoding(mapper)
            or self.opening.transcoder is not mapper.transcoder
        ):
            return [None] * len(self.stored)
        try:  # all at once; if any reading fails, again one by one
            return [match(stored.topic, stored.state) for stored in self.stored]
        except Exception:
            return [_or_none(match, stored.topic, stored.state) for stored in self.stored]

    def check(self) -> VerifyResult:
        """The chain of what was read (`verify` of this case, without another read)."""
        intact = self._intact()
        if intact is not None:
            return intact
        pairs = zip(self.stored, self._matched, strict=True)
        try:  # all at once; if any reading fails, again one by one (that one is the general path's)
            found = [
                None if matched is None else checked(stored, matched) for stored, matched in pairs
            ]
        except Exception:
            found = [
                None if matched is None else _or_none(checked, stored, matched)
                for stored, matched in zip(self.stored, self._matched, strict=True)
            ]
        return verify_events(self.case_id, self.stored, self.stored_mapper, checked=found)

    def _intact(self) -> VerifyResult | None:
        """`check`'s answer if every event matched its shape and the chain is intact, from the
        matched values alone (no checked states); None otherwise: `verify_events` then walks
        it and words what is wrong. Intact exactly as `verify_events` finds it: each event at
        its position, its recorded hash the digest, its `prev_hash` the hash before it (an
        escaped text equals no digest and no hash before it, so `checked`'s deferral on an
        escape comes out the same)."""
        previous = GENESIS
        try:
            for position, (stored, matched) in enumerate(
                zip(self.stored, self._matched, strict=True), start=1
            ):
                if matched is None or stored.originator_version != position:
                    return None
                shape, values, _ = matched
                if shape.hash is None or shape.prev is None or values[shape.prev] != previous:
                    return None
                found = digest(stored, matched)
                if found is None or values[shape.hash] != found:
                    return None
                previous = found
        except Exception:  # a reading that fails is the general path's turn
            return None
        if not self.stored:
            return None
        return VerifyResult(self.case_id, True, len(self.stored), previous)

    @cached_property
    def events(self) -> list[Any]:
        """The domain events, opened (raises on a damaged event: `check` names it)."""
        opening = self.opening
        if not isinstance(opening, OpeningMapper) or not any(self._matched):
            return [opening.to_domain_event(stored) for stored in self.stored]
        states = [None if matched is None else decoded(matched) for matched in self._matched]
        return opening.to_domain_events(zip(self.stored, states, strict=True), flat=True)

    def history(self) -> list[HistoryEntry]:
        return history_entries(self.events)

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


def _or_none(reading: Callable[..., T], *args: Any) -> T | None:
    """A shortcut's answer, or None (the general path's turn) if it fails in any way: as
    `stored_check` guards its own, a reading it cannot vouch for must not stop `history`."""
    try:
        return reading(*args)
    except Exception:
        return None
