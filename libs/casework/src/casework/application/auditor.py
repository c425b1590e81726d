"""What an auditor asks of the store: a case's history, its state as of a moment, and whether
its hash chain (and every case's) still verifies, against anchors kept from before.

Read-only: nothing here writes. `casework.audit` holds the chain walk itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from uuid import UUID

from casework.application.case_file import CaseFile
from casework.application.store import CaseStore, _as_uuid
from casework.audit import Anchor, HistoryEntry, VerifyResult, verify_events
from casework.domain.case import Case
from casework.domain.errors import CaseNotFoundError, TamperedError, ValidationError
from casework.domain.windows import check_as_of
from casework.privacy.migration import migrated_anchor
from casework.topics import is_case_topic
from casework.transparency.chains import ChainWalk


class AuditorQueries(CaseStore):
    """A case file read back as the auditor reads it."""

    def read_case_file(self, case_id: UUID | str, *, personal: bool = True) -> CaseFile:
        """The case file read once (`casework.application.case_file`): its chain, history and
        state answered from that read. Sealed values read as their plaintext, or `[erased]`;
        with `personal` False (what an auditor is shown) as `[personal]`."""
        uid = _as_uuid(case_id)
        stored = self.recorder.select_events(uid)
        if not stored:
            raise CaseNotFoundError(f"no case file with id {uid}")
        events = self.events if personal else self.personal_hidden.event_store
        return CaseFile(uid, stored, stored_mapper=self.mapper, opening=events.mapper)

    def history(self, case_id: UUID | str, *, personal: bool = True) -> list[HistoryEntry]:
        """Every event of the case in order: what, who and in which role, when, tier, why.

        Sealed values read as their plaintext, or `[erased]`; with `personal` False (what an
        auditor is shown) as `[personal]`. The hashes are the stored ones."""
        return self.read_case_file(case_id, personal=personal).history()

    def state_as_of(
        self, case_id: UUID | str, *, at: datetime | None = None, version: int | None = None
    ) -> Case:
        """The case after event `version`, or at moment `at` (read from the file, not the clock)."""
        if (at is None) == (version is None):
            raise ValidationError("give exactly one of at= (a time) or version= (an event number)")
        if version is not None:
            if version < 1:
                raise ValidationError("versions start at 1 (the report)")
            return self.get_case(case_id, version=version)
        assert at is not None
        self.check_as_of(at)
        case_file = self.read_case_file(case_id)
        return case_file.state(self.version_at(case_file, at))

    def check_as_of(self, at: datetime) -> None:
        """Refuse a moment without a timezone, or one in the future of this store's clock."""
        if at.tzinfo is None:
            raise ValidationError("as-of times must carry a timezone, e.g. 2026-11-24T09:30+08:00")
        check_as_of(at, self.clock() + self.max_clock_skew)

    def version_at(self, case_file: CaseFile, at: datetime) -> int:
        """The case's last version at `at`; refused if it did not exist yet."""
        last = case_file.version_at(at)
        if last == 0:
            raise ValidationError(f"case {case_file.case_id} did not exist yet at {at.isoformat()}")
        return last

    def verify(self, case_id: UUID | str, anchor: Anchor | None = None) -> VerifyResult:
        """Walk one case's hash chain; against an anchor, also notice events removed from its end.

        An anchored case with no events left is tampering (all of it was deleted), not "unknown".
        """
        uid = _as_uuid(case_id)
        if anchor is not None:  # written before `casework person migrate` rewrote the head?
            anchor = migrated_anchor(self, uid, anchor)
        stored = list(self.recorder.select_events(uid))
        if not stored:
            if anchor is None:
                raise CaseNotFoundError(f"no case file with id {uid}")
            return VerifyResult(
                uid,
                ok=False,
                events=0,
                head="",
                position=1,
                problem=f"the anchor saw {anchor.version} events; none remain (removed)",
            )
        return verify_events(uid, stored, self.mapper, anchor)

    def case_ids(self, batch: int = 1000) -> Iterator[UUID]:
        """Every case id, in the order cases were first recorded (from the notification log).

        Services' own aggregates kept in the same store (a roster) are not case files: skipped.
        """
        seen: set[UUID] = set()
        start = 1
        while True:
            page = self.recorder.select_notifications(start=start, limit=batch)
            if not page:
                return
            for notification in page:
                if not is_case_topic(notification.topic):
                    continue
                case_id = _as_uuid(notification.originator_id)
                if case_id not in seen:
                    seen.add(case_id)
                    yield case_id
            start = page[-1].id + 1

    def verify_all(self, anchors: Mapping[UUID, Anchor] | None = None) -> Iterator[VerifyResult]:
        """Every case in the store (in the order cases were first recorded), then every
        anchored case the store no longer lists.

        One pass over the log in notification order (`ChainWalk`), not a query per case: each
        event is read and hashed once. A case whose every event was deleted is gone from the
        notification log too, so only the anchors can name it.
        """
        anchors = anchors or {}
        walk = ChainWalk({uid: migrated_anchor(self, uid, a) for uid, a in anchors.items()})
        walk.walk(self.recorder, self.mapper)
        results = walk.results()
        yield from results
        seen = {result.case_id for result in results}
        for case_id, anchor in anchors.items():
            if case_id not in seen:
                yield self.verify(case_id, anchor)

    def anchors(self) -> dict[UUID, Anchor]:
        """Every case's current head, for an auditor to keep and verify against later.

        Refuses when a case does not verify: an anchor vouches for what it saw.
        """
        heads: dict[UUID, Anchor] = {}
        for result in self.verify_all():
            if not result.ok:
                raise TamperedError(result.describe())
            heads[result.case_id] = Anchor(result.events, result.head)
        return heads
