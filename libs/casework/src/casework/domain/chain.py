"""The hash chain that makes each case file tamper-evident.

An event's hash covers a canonical encoding of everything stored about it (its topic, case id,
version and state) plus its predecessor's hash. The same function runs when an event is first
made and when `verify` re-reads it from the store, so both must see the same inputs: the state
as the store holds it, before any upcasting.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

GENESIS = ""
"""The `prev_hash` of a case's first event."""

EXCLUDED = frozenset({"hash", "originator_id", "originator_version"})


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot hash a value of type {type(value).__name__}")


def event_digest(topic: str, case_id: UUID | str, version: int, state: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of an event; `state` may include or omit `hash`."""
    body = {k: v for k, v in state.items() if k not in EXCLUDED}
    document = {
        "topic": topic,
        "case_id": str(case_id),
        "version": version,
        "state": _plain(body),
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
