"""Every case's hash chain walked in one pass over the log, in notification order.

`casework verify` (every case) and `casework verify --checkpoint` both walk this way: one read
of the events table page by page, each event decoded and hashed once
(`casework.stored_check.check_stored`), where walking per case cost a query per case and, for
`--checkpoint`, a second read of everything. A case's versions arrive in order in that log
(version N+1 can only be stored after N), so an event out of order is reported where it breaks
the chain. The verdicts (position, words, event count) are `casework.audit.verify_events`'s for
the same case: tests compare the two.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from casework.audit import Anchor, VerifyResult, anchor_result
from casework.domain.chain import GENESIS
from casework.stored_check import Checked, chain_problem, stored_checker
from casework.topics import is_case_topic


def case_notifications(recorder: Any, page: int = 1000) -> Iterator[StoredEvent]:
    """Every case event in the store, in notification order (services' own aggregates kept
    in the same store, a roster, are not case files: skipped)."""
    start = 1
    while True:
        notifications = recorder.select_notifications(start=start, limit=page)
        if not notifications:
            return
        for notification in notifications:
            if is_case_topic(notification.topic):
                yield notification
        start = notifications[-1].id + 1


def case_uuid(stored: StoredEvent) -> UUID:
    case_id = stored.originator_id
    return case_id if isinstance(case_id, UUID) else UUID(str(case_id))


class _Chain:
    """One case's walk so far: events seen, the head verified, the break, events held."""

    __slots__ = ("broken", "count", "early", "head", "version")

    def __init__(self) -> None:
        self.count = 0
        """Every event of the case seen, after a break too (`verify` counts what is stored)."""
        self.version = 0
        self.head = GENESIS
        self.broken: VerifyResult | None = None
        self.early: dict[int, tuple[StoredEvent, Checked]] | None = None
        """Events that came before their predecessor in the log (moved by hand): held until
        it comes, so a case is judged on its versions in order, as `verify` judges it; the
        log check names the move itself."""


class ChainWalk:
    """Each case's chain walked so far, in the order cases were first seen.

    `anchors`: heads an auditor kept (already mapped through `casework person migrate`); the
    hash at each anchored version is noted on the way, and judged in `results`."""

    def __init__(self, anchors: Mapping[UUID, Anchor] | None = None) -> None:
        self.anchors = dict(anchors or {})
        self.anchored: dict[UUID, str] = {}
        self.chains: dict[UUID, _Chain] = {}

    def walk(self, recorder: Any, mapper: Mapper[UUID], page: int = 1000) -> None:
        """Every case event of the store, in one pass.

        The common event (its case's next version, intact, no anchors to note) is stepped
        here; any other goes through `add`, which words what is wrong (`chain_problem`)."""
        check, add, chains, plain = stored_checker(mapper), self.add, self.chains, not self.anchors
        by_int: dict[int, _Chain] = {}  # the same chains: an int hashes in C, a UUID in Python
        for stored in case_notifications(recorder, page):
            case_id = stored.originator_id
            if type(case_id) is not UUID:
                case_id = case_uuid(stored)
            checked = check(stored)
            chain = by_int.get(case_id.int)
            if chain is None:
                chain = chains.get(case_id)
                if chain is not None:
                    by_int[case_id.int] = chain
            if (
                plain
                and chain is not None
                and chain.broken is None
                and chain.early is None
                and stored.originator_version == chain.version + 1
            ):
                state, digest, problem = checked
                if (
                    state is not None
                    and not problem
                    and digest
                    and state.get("hash") == digest
                    and state.get("prev_hash") == chain.head
                ):  # exactly when `chain_problem` finds nothing
                    chain.count += 1
                    chain.version += 1
                    chain.head = digest
                    continue
            add(case_id, stored, checked)

    def add(self, case_id: UUID, stored: StoredEvent, checked: Checked) -> None:
        chain = self.chains.get(case_id)
        if chain is None:
            chain = self.chains[case_id] = _Chain()
        chain.count += 1
        if chain.broken is not None:
            return
        if stored.originator_version != chain.version + 1:
            if chain.early is None:
                chain.early = {}
            chain.early[stored.originator_version] = (stored, checked)
            return
        self._step(case_id, chain, checked)
        held = chain.early
        while held and chain.broken is None and chain.version + 1 in held:
            self._step(case_id, chain, held.pop(chain.version + 1)[1])

    def _step(self, case_id: UUID, chain: _Chain, checked: Checked) -> None:
        problem = chain_problem(checked, chain.head)
        position = chain.version + 1
        if problem:
            chain.broken = VerifyResult(case_id, False, 0, chain.head, position, problem)
            chain.early = None
            return
        chain.version = position
        chain.head = checked[1]
        if self.anchors:
            anchor = self.anchors.get(case_id)
            if anchor is not None and anchor.version == position:
                self.anchored[case_id] = chain.head

    def results(self) -> list[VerifyResult]:
        """One result per case seen, in the order cases were first seen; a case with events
        still held has a gap before them (removed), as `verify` says."""
        return [self._result(case_id, chain) for case_id, chain in self.chains.items()]

    def _result(self, case_id: UUID, chain: _Chain) -> VerifyResult:
        count, head = chain.count, chain.head
        if chain.broken is not None:
            broken = chain.broken
            return VerifyResult(case_id, False, count, head, broken.position, broken.problem)
        if chain.early:
            found = min(chain.early)
            problem = f"expected version {chain.version + 1}, found {found}: an event was removed"
            return VerifyResult(case_id, False, count, head, chain.version + 1, problem)
        anchor = self.anchors.get(case_id)
        if anchor is not None:
            return anchor_result(case_id, count, head, anchor, self.anchored.get(case_id))
        return VerifyResult(case_id, True, count, head)
