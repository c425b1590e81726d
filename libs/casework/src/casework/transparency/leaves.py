"""What one leaf of the transparency log is: one stored case event, named by (case id, version,
event hash), in the store's notification order.

The leaf binds the event's place (which case, which version) and its content (the chain hash,
which covers everything stored about it and its predecessor): a deleted, rewritten, re-hashed or
reordered event changes a leaf, so the root a notary signed no longer comes out. The encoding is
one line of ASCII so that `docs/verify_export.py` rebuilds it in one expression.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, StoredEvent

from casework.audit import _decode as decode_stored
from casework.transparency.merkle import leaf_hash

LEAF_FORMAT = "casework.leaf.v1"


@dataclass(frozen=True)
class Leaf:
    """A case event as the log holds it."""

    case_id: UUID
    version: int
    event_hash: str

    def encode(self) -> bytes:
        return leaf_bytes(str(self.case_id), self.version, self.event_hash)

    def digest(self) -> bytes:
        return leaf_hash(self.encode())

    def names(self) -> str:
        return f"case {self.case_id} event {self.version}"


def leaf_bytes(case_id: str, version: int, event_hash: str) -> bytes:
    return f"{LEAF_FORMAT}\n{case_id}\n{version}\n{event_hash}".encode("ascii")


def leaf_of(mapper: Mapper[UUID], stored: StoredEvent) -> Leaf:
    state, _ = decode_stored(mapper, stored)
    return leaf_from(stored, state)


def leaf_from(stored: StoredEvent, state: Mapping[str, Any] | None) -> Leaf:
    """A stored event's leaf from its decoded state (None: unreadable, so no hash)."""
    case_id = stored.originator_id
    uid = case_id if isinstance(case_id, UUID) else UUID(str(case_id))
    digest = state.get("hash") if state is not None else None
    return Leaf(uid, stored.originator_version, digest if isinstance(digest, str) else "")
