"""Sealing an aggregate's new events before they are stored, and re-chaining them over the result.

The domain declares, per event class, which fields are personal and whose (`PERSONAL`, a
mapping of field name to subject, see `subject_of`) and records plain values: it knows nothing
of keys. The application calls `seal_pending` on every aggregate it saves (one place); each new
event then has
- every declared personal field sealed whole under its subject's data key, and
- every phone or ID-card number in any other text (a note, a reason, a summary) sealed in place
  under the key of the aggregate's `data_subject` (a case's reporter; else the event's actor),
and its hash computed again over the sealed state, chained to the (re-computed) hash before it.
So the hash the store keeps covers exactly what the store keeps, ciphertext included, and
`verify` and anchors never need a key: they pass after an erasure as before it.

The aggregate in memory keeps the plain values it was built with (its `chain_head` moves to the
sealed chain's head); only the events leave sealed.

Two ways in, one result. The application hands the domain `Sealer.stored_form` while a command
runs (`casework.domain.chained.storing`): each event is then sealed as it is recorded and hashed
once, over its sealed state, and `seal_pending` at save only checks the chain of those. An event
recorded without the hook (a service's own aggregate, a test) is sealed by `seal_pending` at
save, and it and every event after it in the save hashed again. Sealing is idempotent (a sealed
value is never sealed twice), so an event passing both ways is stored the same.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from uuid import UUID

from casework.audit import RECORD_FIELDS
from casework.domain.personal import ACTOR, EACH_KEY, REPORTER
from casework.privacy.envelope import (
    PREFIX,
    TOKEN,
    SealError,
    binding,
    is_sealed,
    parse,
    seal,
    unseal,
)
from casework.privacy.keys import DataKey, Destroyed, KeyStore
from casework.privacy.numbers import DIGIT_RUN, find_numbers

NOT_SCANNED = RECORD_FIELDS - {"reason"}
"""Fields that are structure, not text anyone typed: never scanned for numbers."""


def personal_fields(event_class: type) -> Mapping[str, str]:
    """What an event class declares personal: field name -> whose (`casework.domain.personal`)."""
    declared: Mapping[str, str] = getattr(event_class, "PERSONAL", {})
    return declared


def subject_of(spec: str, state: Mapping[str, Any], reporter: str | None) -> str:
    """The person a field belongs to: `actor`, `reporter`, or the name of a field holding an id."""
    if spec == ACTOR:
        return str(state["actor_id"])
    if spec == REPORTER:
        return reporter or str(state["actor_id"])
    value = state.get(spec)
    if not isinstance(value, str) or not value:
        raise ValueError(f"personal field's subject {spec!r} is not an id in the event")
    return value


MADE_KEPT = 4096
"""How many events `Sealer.stored_form` remembers having made, for `seal_pending` to trust."""


class Sealer:
    """Seals values for one store's keys; see the module docstring."""

    def __init__(self, keys: KeyStore, *, sealed: Callable[..., None] | None = None) -> None:
        """`sealed(token, case_id=, field=, key_id=, subject=, text=)` is told of every value
        sealed (`Opener.keep`: the writer knows the plaintext, so the first read of a new case
        costs no decryption)."""
        self.keys = keys
        self._sealed = sealed
        self._made: dict[int, Any] = {}
        self._lock = threading.Lock()

    def stored_form(self, aggregate: Any, event: Any) -> Any:
        """The event to store for `event`, just recorded on `aggregate`: its personal values
        sealed and its hash computed over that (a `casework.domain.chained.StoringHook`)."""
        changes = self.seal_state(
            vars(event), personal_fields(type(event)), reporter=data_subject(aggregate)
        )
        stored = event
        if changes:  # a copy, so the aggregate's own record of what was said stays plain
            stored = object.__new__(type(event))
            stored.__dict__.update(vars(event))
            stored.__dict__.update(changes)
        stored = stored.hashed()
        with self._lock:
            if len(self._made) >= MADE_KEPT:
                self._made.pop(next(iter(self._made)), None)
            self._made[id(stored)] = stored
        return stored

    def made(self, event: Any) -> bool:
        """Whether `stored_form` made this very event (it is sealed and hashed already)."""
        return self._made.get(id(event)) is event

    def seal_value(self, subject: str, text: str, *, case_id: UUID | str, field: str) -> str:
        """`text` sealed whole under `subject`'s key, for `field` of `case_id`."""
        key = self.keys.key_for(subject)
        token = seal(key.cipher, key.key_id, text, binding(case_id, field))
        if self._sealed is not None:
            self._sealed(
                token, case_id=case_id, field=field, key_id=key.key_id, subject=subject, text=text
            )
        return token

    def sealed_here(self, token: str, *, case_id: UUID | str, field: str) -> bool:
        """Whether `token` (one whole token) was sealed by this store for `field` of `case_id`:
        its key is one of ours and it opens there (a destroyed key's token is ours, erased).
        Anything else token-shaped is text a person typed, and is sealed like any other."""
        parsed = parse(token)
        found = self.keys.key(parsed.key_id)
        if isinstance(found, Destroyed):
            return True
        if not isinstance(found, DataKey):
            return False
        try:
            unseal(found.cipher, parsed, binding(case_id, field))
        except SealError:
            return False
        return True

    def seal_numbers(self, subject: str, text: str, *, case_id: UUID | str, field: str) -> str:
        """`text` with each phone and ID-card number in it sealed under `subject`'s key."""
        spans = find_numbers(text)
        if not spans:
            return text
        pieces: list[str] = []
        at = 0
        for span in spans:
            pieces.append(text[at : span.start])
            pieces.append(
                self.seal_value(subject, text[span.start : span.end], case_id=case_id, field=field)
            )
            at = span.end
        pieces.append(text[at:])
        return "".join(pieces)

    def seal_state(
        self, state: Mapping[str, Any], personal: Mapping[str, str], *, reporter: str | None
    ) -> dict[str, Any]:
        """The fields of an event's state that change when sealed (field name -> new value)."""
        case_id = state["originator_id"]
        changes: dict[str, Any] = {}
        numbers_of = reporter or str(state["actor_id"])

        def whole(who: str) -> Callable[[str, str], str]:
            def one(text: str, path: str) -> str:
                if is_sealed(text) and self.sealed_here(text, case_id=case_id, field=path):
                    return text  # sealed already (the hook, then `seal_pending`): not twice
                return self.seal_value(who, text, case_id=case_id, field=path)

            return one

        def numbers(text: str, path: str) -> str:
            if is_identifier(path):
                return text  # a meeting's or member's id, not typed text (see `is_identifier`)
            if PREFIX not in text:
                return self.seal_numbers(numbers_of, text, case_id=case_id, field=path)
            # Text with something token-shaped in it: only a token this store sealed for this
            # very place is left as it is; the text between is scanned, and a token a person
            # typed or pasted (made up, or from another case) is sealed whole like a number, so
            # it can neither smuggle plaintext past the scan nor fail to open on every read.
            pieces: list[str] = []
            at = 0
            for match in TOKEN.finditer(text):
                between = text[at : match.start()]
                pieces.append(self.seal_numbers(numbers_of, between, case_id=case_id, field=path))
                token = match[0]
                if not self.sealed_here(token, case_id=case_id, field=path):
                    token = self.seal_value(numbers_of, token, case_id=case_id, field=path)
                pieces.append(token)
                at = match.end()
            pieces.append(self.seal_numbers(numbers_of, text[at:], case_id=case_id, field=path))
            return "".join(pieces)

        for name, value in state.items():
            if name in NOT_SCANNED:
                continue
            spec = personal.get(name) if personal else None
            if spec is None and is_identifier(name):
                continue
            sealed: Any
            if spec is None:
                if type(value) is str:
                    if DIGIT_RUN.search(value) is None and PREFIX not in value:
                        continue  # the common case: a text with no number in it
                elif not _may_hold_numbers(value):
                    continue  # no run of seven digits anywhere in it, or no text at all
                sealed = _map_strings(value, name, numbers)
            elif spec == EACH_KEY:
                if not isinstance(value, Mapping):
                    raise TypeError(f"{name} is declared per key but is not a mapping")
                sealed = {
                    key: _map_strings(item, f"{name}.{key}", whole(str(key)))
                    for key, item in value.items()
                }
            else:
                sealed = _map_strings(value, name, whole(subject_of(spec, state, reporter)))
            if sealed != value:
                changes[name] = sealed
        return changes


def is_identifier(path: str) -> bool:
    """Whether the field at `path` (`meeting_id`, `commitments[0].meeting_id`, `member_ids[1]`)
    holds an identifier the code made, not text a person typed: never scanned for numbers. A
    meeting id is 12 hex digits, all digits about one time in 280, and some of those read as a
    phone number (`013812345678`): sealed, it would read `[erased]` after the reporter's erasure
    and break every lookup by it."""
    last = path.rsplit(".", 1)[-1].split("[", 1)[0]
    return last == "id" or last.endswith(("_id", "_ids"))


def _may_hold_numbers(value: Any) -> bool:
    """Whether any string in `value` (however nested) has a run of digits as long as a phone
    or ID-card number's (`DIGIT_RUN`): the cheap test before the full scan and rebuild."""
    kind = type(value)
    if kind is str:
        return DIGIT_RUN.search(value) is not None or PREFIX in value
    if kind is dict or isinstance(value, Mapping):
        return any(_may_hold_numbers(item) for item in value.values())
    if kind is list or kind is tuple or isinstance(value, list | tuple):
        return any(_may_hold_numbers(item) for item in value)
    if isinstance(value, str):  # a str subclass (an enum's value)
        return DIGIT_RUN.search(value) is not None or PREFIX in value
    return False  # a time, a number, a flag, None: no text in it


def _map_strings(value: Any, path: str, change: Callable[[str, str], str]) -> Any:
    """`value` with every non-empty string in it (however nested) replaced by `change(s, path)`
    (`change` leaves alone what this store sealed already: sealing twice makes an onion)."""
    if isinstance(value, str):
        if not value:
            return value
        return change(value, path)
    if isinstance(value, Mapping):
        return {k: _map_strings(v, f"{path}.{k}", change) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, f"{path}[{i}]", change) for i, v in enumerate(value)]
    if isinstance(value, tuple):
        return tuple(_map_strings(v, f"{path}[{i}]", change) for i, v in enumerate(value))
    return value


def walk_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in `value` with its field path, in the path grammar sealing binds to."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from walk_strings(v, f"{path}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from walk_strings(v, f"{path}[{i}]")


def seal_pending(aggregate: Any, sealer: Sealer) -> None:
    """Seal `aggregate`'s pending events in place and re-chain them (see the module docstring).

    Events are frozen: each is replaced by a copy with sealed fields, its predecessor's new
    hash, and its own hash computed afresh by its class (`Chained.Event.compute_hash`).
    """
    pending: list[Any] = aggregate._pending_events
    if not pending:
        return
    reporter = data_subject(aggregate)
    previous: str | None = None
    for index, event in enumerate(pending):
        state = vars(event)
        if sealer.made(event) and (previous is None or state["prev_hash"] == previous):
            previous = event.hash
            continue  # sealed and hashed as it was recorded, chained to the one before
        changes = sealer.seal_state(state, personal_fields(type(event)), reporter=reporter)
        if previous is not None and state["prev_hash"] != previous:
            changes["prev_hash"] = previous
        if changes:
            event = dataclasses.replace(event, **changes, hash="")
            pending[index] = event
        previous = event.hash
    aggregate.chain_head = previous


def data_subject(aggregate: Any) -> str | None:
    """Whose numbers found in an aggregate's free text are: a case's first reporter, or the
    person of a person's own file (`casework.domain.people`); None for other aggregates (the
    event's actor is then taken)."""
    reporters = getattr(aggregate, "reporter_ids", None)
    if reporters:
        return str(reporters[0])
    person = getattr(aggregate, "person_id", None)
    return str(person) if person else None
