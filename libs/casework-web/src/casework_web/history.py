"""One line of a case file (or of a service aggregate's record) as every service shows it.

`casework.audit.HistoryEntry` is what the library reads back from the store; this is its public
shape, so that a case file from intake and a member's record from dispatch read alike and a
client parses them with one model.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from casework.audit import HistoryEntry
from pydantic import BaseModel, Field


class HistoryEntryPublic(BaseModel):
    version: int = Field(description="the event's position in its file, from 1")
    event: str = Field(description="what happened, as the domain names it (WaterStopped)")
    at: datetime
    actor_id: str = Field(description="who recorded it")
    actor_role: str
    tier: str = Field(description="the rung the case was at ('' outside a case file)")
    reason: str = Field(description="why, where the event changes course")
    details: dict[str, Any] = Field(description="what the event records beside who, when, why")
    hash: str = Field(description="SHA-256 of this event in the file's hash chain")
    prev_hash: str = Field(description="hash of the event before it ('' for the first)")


def history_public(entries: Iterable[HistoryEntry]) -> list[HistoryEntryPublic]:
    """The entries, in order, as their public model."""
    return [HistoryEntryPublic.model_validate(entry, from_attributes=True) for entry in entries]
