"""An event's state as the store holds it, read and written past the mapper's cipher and
compressor (`CIPHER_TOPIC`, `COMPRESSOR_TOPIC`).

The chain hashes, the export and the chain migration work on the stored state in plain JSON,
not on domain events (no upcasting, no opened seals): they read it here, with the cipher and
compressor undone, and a rewrite writes it back here, with them done again, so a store that
encrypts or compresses its events is read and rewritten as one that does not. One place for
both directions: the export and the migration each undid them (or not) on their own before.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from casework.domain.errors import TamperedError


def decoded_state(mapper: Any, record: StoredEvent, case_id: UUID) -> dict[str, Any]:
    """An event's stored state in plain JSON form: the mapper's cipher and compressor undone,
    as the chain hashed it and the notary read it. Raw bytes that do not decode are damage to
    report (`TamperedError`, naming the event and `casework verify`), not a traceback."""
    raw = record.state
    try:
        if mapper.cipher:
            raw = mapper.cipher.decrypt(raw)
        if mapper.compressor:
            raw = mapper.compressor.decompress(raw)
        state = mapper.transcoder.decode(raw)
    except Exception as error:  # any unreadable stored bytes: say which event, not a traceback
        raise TamperedError(
            f"case {case_id} event {record.originator_version}: the stored state cannot be "
            f"decoded ({type(error).__name__}); run `casework verify {case_id}`"
        ) from None
    if not isinstance(state, dict):
        raise TamperedError(
            f"case {case_id} event {record.originator_version}: the stored state is not an "
            f"event record; run `casework verify {case_id}`"
        )
    return state


def encoded_state(mapper: Any, state: dict[str, Any]) -> bytes:
    """The bytes to store for `state`, as the mapper writes an event's: encoded, then
    compressed, then encrypted (the reverse of `decoded_state`)."""
    raw: bytes = mapper.transcoder.encode(state)
    if mapper.compressor:
        raw = mapper.compressor.compress(raw)
    if mapper.cipher:
        raw = mapper.cipher.encrypt(raw)
    return raw
