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

Opened plaintexts are kept in memory, per token (`OPENED_KEPT` of them, the oldest dropped
first), because every load of a case opens its tokens again and most loads are of cases just
written or read. A kept plaintext is served only while the key store still answers its key as
live, the very question an uncached open asks first: so it never outlives the key's own cache
(`casework.privacy.sql_keys.CACHE_SECONDS` for an erasure in another process), an erasure in
this process drops the person's kept plaintexts at once (`forget`), and a token read at another
case or field than it was opened for takes the full path (and fails there, as it must).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Mapper,
    StoredEvent,
    find_id_convertor,
    pass_through_convertor,
)
from eventsourcing.utils import resolve_topic

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


OPENED_KEPT = 4096
"""How many opened plaintexts an `Opener` keeps (a few hundred kilobytes at most)."""


@dataclass(frozen=True)
class _Kept:
    """A token opened before: where (case, field), under which key, whose, and its text."""

    case_id: UUID | str
    field: str
    key_id: str
    subject: str
    text: str


class Opener:
    """Opens sealed values with one store's keys."""

    def __init__(self, keys: KeyStore, *, kept: int = OPENED_KEPT) -> None:
        self.keys = keys
        self.kept_max = kept
        self._kept: dict[str, _Kept] = {}
        self._lock = threading.Lock()

    def forget(self, subject: str) -> None:
        """Drop every plaintext kept of `subject` (called when their keys are destroyed)."""
        with self._lock:
            for token, kept in list(self._kept.items()):
                if kept.subject == subject:
                    del self._kept[token]

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
        if text in self._kept:  # a whole personal field opened before: no regex, no AES
            found = self._kept_text(text, case_id, field, allowed)
            if found is not None:
                return found

        def one(match: re.Match[str]) -> str:
            token = match[0]
            found = self._kept_text(token, case_id, field, allowed)
            if found is not None:
                return found
            parsed = parse(token)
            opened = self.token(parsed, case_id=case_id, field=field, allowed=allowed)
            if opened is None:
                return token
            if allowed and not opened.erased:
                self.keep(
                    token,
                    case_id=case_id,
                    field=field,
                    key_id=parsed.key_id,
                    subject=opened.subject,
                    text=opened.text,
                )
            return opened.text

        return TOKEN.sub(one, text)

    def _kept_text(self, token: str, case_id: UUID | str, field: str, allowed: bool) -> str | None:
        """The kept reading of `token` if it was opened at this case and field and its key is
        still live (else None: the full path answers, `[erased]` included)."""
        kept = self._kept.get(token)
        if kept is None or kept.field != field:
            return None
        if kept.case_id != case_id and str(kept.case_id) != str(case_id):
            return None
        if not isinstance(self.keys.key(kept.key_id), DataKey):
            with self._lock:
                self._kept.pop(token, None)
            return None
        return kept.text if allowed else PERSONAL

    def reading(self) -> Reading:
        """This opener for one read of many events (a case file): see `Reading`."""
        return Reading(self)

    def keep(
        self, token: str, *, case_id: UUID | str, field: str, key_id: str, subject: str, text: str
    ) -> None:
        """Remember what `token` (at this case and field, under this key) reads as: told by
        the opener itself, and by the sealer when it seals (`Sealer`'s `sealed`)."""
        kept = _Kept(case_id, field, key_id, subject, text)
        with self._lock:
            if len(self._kept) >= self.kept_max:
                self._kept.pop(next(iter(self._kept)), None)
            self._kept[token] = kept


class Reading:
    """An opener for one read of many events: a text that is a whole token opened before (kept)
    is answered with each key asked of the key store once for the read, not once per token
    (the read is then as of its first question; an erasure after it shows on the next read).
    Any other text takes the opener's own way."""

    def __init__(self, opener: Opener) -> None:
        self.opener = opener
        self.kept = opener._kept
        self.live: dict[str, bool] = {}

    def text(self, text: str, case_id: UUID | str, field: str, allowed: bool) -> str:
        kept = self.kept.get(text)
        if kept is not None and kept.field == field and _same_case(kept.case_id, case_id):
            live = self.live.get(kept.key_id)
            if live is None:
                found = self.opener.keys.key(kept.key_id)
                live = self.live[kept.key_id] = isinstance(found, DataKey)
            if live:
                return kept.text if allowed else PERSONAL
        return self.opener._open_text(text, case_id, field, allowed)


def _same_case(kept: UUID | str, read: UUID | str) -> bool:
    """`Opener._kept_text`'s test: the same case, whether either id is a UUID or its text."""
    if type(kept) is UUID and type(read) is UUID:
        return kept.int == read.int  # `UUID.__eq__` is Python; its `int` is a slot
    return kept == read or str(kept) == str(read)


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
        names = sealable(vars(event))
        return self._opened(self._opener(), event, names) if names else event

    def to_domain_events(
        self, read: Iterable[tuple[StoredEvent, dict[str, Any] | None]], *, flat: bool = False
    ) -> list[DomainEventProtocol[UUID]]:
        """`to_domain_event` of each stored event, given its state where it was decoded
        already (else None: decoded here). A decoded state becomes its event's as
        eventsourcing's `Mapper.to_domain_event` makes it after its decoding step (the class
        from the topic, the id converted, the upcasters run); then its tokens are opened, by
        the fields that hold them (found in the state as decoded, or in the event once upcast).
        One opener for them all: a case file's events are read together (`reading`). `flat`:
        the states given hold no containers (`casework.stored_shapes` decodes only texts,
        numbers, flags, times and UUIDs), so only their texts can hold a token."""
        opener, allowed = self._opener(), self.allowed
        reading = opener.reading()
        text = reading.text
        events: list[DomainEventProtocol[UUID]] = []
        append = events.append
        new, set_dict = object.__new__, object.__setattr__
        sealed = bool(self.cipher or self.compressor)
        classes: dict[str, tuple[Any, Callable[[Any], Any], int, type]] = {}
        for stored, state in read:
            if state is None:
                append(self.to_domain_event(stored))
                continue
            if not (sealed or MARK in stored.state):
                names: Iterable[str] = ()
            elif flat:
                names = [
                    k
                    for k, v in state.items()
                    if type(v) is str and PREFIX in v and k not in NOT_OPENED
                ]
            else:
                names = sealable(state)
            originator_id = stored.originator_id
            found = classes.get(stored.topic)
            if found is None or found[3] is not type(originator_id):
                cls = resolve_topic(stored.topic)
                id_type = type(originator_id)
                convert = find_id_convertor(cls, cast("Hashable", id_type))
                found = (cls, convert, getattr(cls, "class_version", 1), id_type)
                classes[stored.topic] = found
            cls, convert, class_version, _ = found
            state["originator_id"] = (
                originator_id if convert is pass_through_convertor else convert(originator_id)
            )
            state["originator_version"] = stored.originator_version
            from_version = state.pop("class_version", 1)
            if from_version < class_version:
                while from_version < class_version:
                    getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
                    from_version += 1
                names = sealable(state)
            event = new(cls)
            set_dict(event, "__dict__", state)
            append(event)
            for name in names:  # `_opened`, inline: most of a case file's events hold one
                if name not in NOT_OPENED:
                    value = state[name]
                    if type(value) is str:
                        opened = text(value, state["originator_id"], name, allowed)
                    else:
                        opened = opener.open(
                            value, case_id=state["originator_id"], field=name, allowed=allowed
                        )
                    if opened != value:
                        state[name] = opened  # the event's own `__dict__`
        return events

    def _opened(
        self, opener: Opener, event: DomainEventProtocol[UUID], names: Iterable[str]
    ) -> DomainEventProtocol[UUID]:
        """`event` with the values of `names` opened (the fields that may hold a token)."""
        state = vars(event)
        case_id = event.originator_id
        for name in names:
            if name in NOT_OPENED:
                continue
            value = state[name]
            if type(value) is str:  # `open` without its dispatch, for the common value
                opened = opener._open_text(value, case_id, name, self.allowed)
            else:
                opened = opener.open(value, case_id=case_id, field=name, allowed=self.allowed)
            if opened != value:
                object.__setattr__(event, name, opened)
        return event


def sealable(state: Mapping[str, Any]) -> list[str]:
    """The fields of an event's `state` that may hold a token: texts with one, and containers
    (`NOT_OPENED` ones too: `_opened` skips them)."""
    return [
        name
        for name, value in state.items()
        if (type(value) is str and PREFIX in value) or type(value) not in TEXT_OR_UNSEALABLE
    ]


MARK = PREFIX.encode("ascii")
NOT_OPENED = frozenset({"originator_id", "originator_version", "timestamp", "hash", "prev_hash"})
UNSEALABLE = frozenset({int, float, bool, type(None), datetime, UUID, Decimal})
"""Types that hold no text, so no token: `Opener.open` gives them back as they are."""
TEXT_OR_UNSEALABLE = UNSEALABLE | {str}
