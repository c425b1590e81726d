"""Reading sealed values back: the plaintext, `[erased]`, or `[personal]`; one function.

Whoever shows a stored value to a person (the history, the timeline, an API, a read model that
follows the stream) opens it here: `Opener.open(value, case_id=..., field=..., allowed=...)`
walks any value (a string, or lists and mappings of them), and replaces each sealed token
- with its plaintext, when the reader may see personal data and the key is there;
- with `[erased]` when the person's key was destroyed (for every reader: that a value was
  erased is not itself personal);
- with `[personal]` when the reader may not see personal data (an auditor checks the chain and
  who did what when, not what residents said).
A token this store never made (a string that only looks like one) is left as it is. A token
whose key is there but which does not open (altered, or copied from another case or field)
raises `SealError`: that is tampering, not a reading.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent

from casework.privacy.envelope import (
    ERASED,
    PERSONAL,
    PREFIX,
    TOKEN,
    Token,
    binding,
    parse,
    unseal,
)
from casework.privacy.keys import DataKey, Destroyed, KeyStore


@dataclass(frozen=True)
class Opened:
    """One token as read: whose it was, and the text (plaintext, `[erased]` or `[personal]`)."""

    subject: str
    text: str
    erased: bool


class Opener:
    """Opens sealed values with one store's keys."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    def open(self, value: Any, *, case_id: UUID | str, field: str, allowed: bool = True) -> Any:
        """`value` with every sealed token in it read for this reader (see the module doc);
        nested values keep their shape, their paths extending `field` as sealing made them."""
        if isinstance(value, str):
            return self._open_text(value, case_id, field, allowed)
        if isinstance(value, Mapping):
            return {
                k: self.open(v, case_id=case_id, field=f"{field}.{k}", allowed=allowed)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [
                self.open(v, case_id=case_id, field=f"{field}[{i}]", allowed=allowed)
                for i, v in enumerate(value)
            ]
        if isinstance(value, tuple):
            return tuple(
                self.open(v, case_id=case_id, field=f"{field}[{i}]", allowed=allowed)
                for i, v in enumerate(value)
            )
        return value

    def open_state(
        self, state: Mapping[str, Any], *, case_id: UUID | str, allowed: bool = True
    ) -> dict[str, Any]:
        """Every field of an event's state opened (field paths start at the field's name)."""
        return {
            name: self.open(value, case_id=case_id, field=name, allowed=allowed)
            for name, value in state.items()
        }

    def token(
        self, token: Token, *, case_id: UUID | str, field: str, allowed: bool
    ) -> Opened | None:
        """One parsed token read for this reader; None if this store never made its key."""
        found = self.keys.key(token.key_id)
        if found is None:
            return None
        if isinstance(found, Destroyed):
            return Opened(found.subject, ERASED, True)
        assert isinstance(found, DataKey)
        if not allowed:
            return Opened(found.subject, PERSONAL, False)
        return Opened(found.subject, unseal(found.cipher, token, binding(case_id, field)), False)

    def _open_text(self, text: str, case_id: UUID | str, field: str, allowed: bool) -> str:
        if PREFIX not in text:
            return text

        def one(match: Any) -> str:
            opened = self.token(parse(match[0]), case_id=case_id, field=field, allowed=allowed)
            return match[0] if opened is None else opened.text

        return TOKEN.sub(one, text)


class OpeningMapper(Mapper[UUID]):
    """The store's mapper, but each event it reads has its sealed values opened for a reader
    (`allowed`): what the application's repository loads aggregates with, so a case in memory
    holds plain values (or `[erased]`, `[personal]`), while the relay, `verify` and the history
    read the stored, sealed state through the plain mapper."""

    def __init__(self, base: Mapper[UUID], opener: Callable[[], Opener], *, allowed: bool) -> None:
        super().__init__(transcoder=base.transcoder, compressor=base.compressor, cipher=base.cipher)
        self._opener = opener
        self.allowed = allowed

    def to_domain_event(self, stored: StoredEvent) -> DomainEventProtocol[UUID]:
        event = super().to_domain_event(stored)
        if self.cipher is None and self.compressor is None and MARK not in stored.state:
            return event  # nothing sealed in it: the common case costs one byte search
        opener = self._opener()
        case_id = event.originator_id
        for name, value in list(vars(event).items()):
            if name in NOT_OPENED:
                continue
            opened = opener.open(value, case_id=case_id, field=name, allowed=self.allowed)
            if opened != value:
                object.__setattr__(event, name, opened)
        return event


MARK = PREFIX.encode("ascii")
NOT_OPENED = frozenset({"originator_id", "originator_version", "timestamp", "hash", "prev_hash"})
