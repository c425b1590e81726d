"""Every case's hash chain walked in the same pass over the log as the transparency check.

`casework verify --checkpoint` needs both: the log binds each event's *hash* to its place, and
only the chain walk checks an event's content against that hash. Walking per case (as `verify`
does, one query per case) and again over the log doubled the cost; here each event is decoded
and hashed once, in notification order. A case's versions arrive in order in that log (version
N+1 can only be stored after N), so an event out of order is reported where it breaks the chain.
The problems are named as `casework.audit.verify_events` names them.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from casework.audit import VerifyResult
from casework.domain.chain import GENESIS, event_digest


class ChainWalk:
    """Each case's head so far, and the first break found in each case."""

    def __init__(self) -> None:
        self.heads: dict[UUID, tuple[int, str]] = {}
        self.broken: dict[UUID, VerifyResult] = {}
        self.early: dict[UUID, dict[int, tuple[StoredEvent, dict[str, Any] | None, str]]] = {}
        """Events that came before their predecessor in the log (moved by hand): held until it
        comes, so a case is judged on its versions in order, as `verify` judges it; the log
        check names the move itself."""

    def add(
        self, case_id: UUID, stored: StoredEvent, state: dict[str, Any] | None, why: str
    ) -> None:
        if case_id in self.broken:
            return
        version, _ = self.heads.get(case_id, (0, GENESIS))
        if stored.originator_version != version + 1:
            self.early.setdefault(case_id, {})[stored.originator_version] = (stored, state, why)
            return
        self._step(case_id, stored, state, why)
        held = self.early.get(case_id, {})
        while case_id not in self.broken and self.heads[case_id][0] + 1 in held:
            self._step(case_id, *held.pop(self.heads[case_id][0] + 1))

    def _step(
        self, case_id: UUID, stored: StoredEvent, state: dict[str, Any] | None, why: str
    ) -> None:
        version, previous = self.heads.get(case_id, (0, GENESIS))
        position = version + 1
        problem = ""
        if state is None:
            problem = why
        elif not isinstance(state.get("hash"), str) or not state["hash"]:
            problem = "event carries no hash"
        else:
            try:
                digest = event_digest(stored.topic, case_id, position, state)
            except TypeError as error:
                digest, problem = "", str(error)
            if not problem and digest != state["hash"]:
                problem = "content does not match its hash (altered)"
            elif not problem and state.get("prev_hash") != previous:
                problem = (
                    "prev_hash does not match the event before it (removed, inserted or reordered)"
                )
        if problem:
            self.broken[case_id] = VerifyResult(
                case_id, False, version, previous, position, problem
            )
            return
        assert state is not None
        self.heads[case_id] = (position, state["hash"])

    def results(self) -> list[VerifyResult]:
        """One result per case seen, in the order cases were first seen; a case with events
        still held has a gap before them (removed), as `verify` says."""
        seen = list(dict.fromkeys([*self.heads, *self.broken, *self.early]))
        return [self._result(case_id) for case_id in seen]

    def _result(self, case_id: UUID) -> VerifyResult:
        if case_id in self.broken:
            return self.broken[case_id]
        version, head = self.heads.get(case_id, (0, GENESIS))
        held = self.early.get(case_id)
        if held:
            found = min(held)
            problem = f"expected version {version + 1}, found {found}: an event was removed"
            return VerifyResult(case_id, False, version, head, version + 1, problem)
        return VerifyResult(case_id, True, version, head)
