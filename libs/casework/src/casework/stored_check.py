"""One stored event checked as `verify` checks it: readable, in canonical bytes, and its digest.

ADR 001 defines the hash over the decoded state (`casework.domain.chain.event_digest`) and asks
that the stored bytes be exactly what the transcoder would write for that state. Done literally
(decode through the transcoder's per-object hook, encode again to compare, then walk the values
into plain JSON and encode a third time for the digest), that was most of `verify`'s time.

For the stock `JSONTranscoder` with eventsourcing's own `datetime_iso` and `uuid_hex`
transcodings (what every store here has), the same answers come cheaper, from the stored text:
each typed value, written by the transcoder as `{"_type_":...,"_data_":...}`, is replaced in the
text by what `chain._plain` makes of its decoded value (the ISO text, the dashed UUID), after
checking its text is what the transcoding writes back (`fromisoformat`/`isoformat`; 32 lower
hex digits); then one plain `json.loads` (C); the canonical check is the compact re-encoding of
that compared with the replaced text (equal exactly when the stored bytes are canonical: the
replaced spans were canonical by construction, the rest is unchanged); the digest is one sorted
ASCII encoding of the document (C encoders made once). Anything else (another transcoder or
type, a typed value written otherwise, a cipher's failure, odd JSON) takes the general path
(`check_general`), so verdicts never differ: the fast path only answers where it gives the
general path's answer, else it defers (tests compare both on tampered bytes).

Before that, the cheapest reading: a flat event's text matched against its topic's shape
(`casework.stored_shapes`: one regex, no `json`, the digest's document filled into a format made
once per shape). It too answers only where it gives the general path's answer; where it cannot
vouch, the reading above follows, then the general path.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from json.encoder import (  # type: ignore[attr-defined]
    c_make_encoder,
    encode_basestring,
    encode_basestring_ascii,
)
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from casework.domain.chain import event_digest
from casework.stored_shapes import checked, match

Checked = tuple[dict[str, Any] | None, str, str]
"""(state, digest, problem): the stored state (None if unreadable; its chain fields `hash` and
`prev_hash` are the ones to read: the fast readings leave values in their JSON form, or keep
only those two), the digest recomputed from it ('' if none could be), and why it is bad ('' if
it is readable and canonical)."""

_loads = json.JSONDecoder().decode


def _encoder(*, sort_keys: bool, ascii_only: bool) -> Callable[[Any], str]:
    """`json.JSONEncoder(separators=(",", ":"), ...).encode`, made once (the C encoder when
    CPython has it: `JSONEncoder.encode` builds a new one on every call)."""
    if c_make_encoder is None:  # pragma: no cover - CPython always has it
        return json.JSONEncoder(
            separators=(",", ":"), sort_keys=sort_keys, ensure_ascii=ascii_only
        ).encode
    strings = encode_basestring_ascii if ascii_only else encode_basestring
    made = c_make_encoder(None, None, strings, None, ":", ",", sort_keys, False, True)
    return lambda value: "".join(made(value, 0))


_compact = _encoder(sort_keys=False, ascii_only=False)
"""What `JSONTranscoder` writes, for values without typed objects."""
_canonical = _encoder(sort_keys=True, ascii_only=True)
"""What `chain.event_digest` hashes."""

_TYPED = re.compile(
    r'\{"_type_":"(?:datetime_iso","_data_":"([^"\\]*)|uuid_hex","_data_":"([0-9a-f]{32}))"\}'
)
"""A typed value as `JSONTranscoder` writes it (`_type_` first), with text that needs no
escape: a `{"` cannot start inside a JSON string (its quote would end the string), so in text
that parses every match is an object."""


class _DeferError(Exception):
    """The fast path cannot vouch for this event: take the general path."""


def check_stored(mapper: Mapper[UUID], stored: StoredEvent) -> Checked:
    """`stored` read, checked for canonical bytes, and digested at its own version (a chain
    walk compares that version with the position it expects before it trusts the digest)."""
    return stored_checker(mapper)(stored)


def stored_checker(mapper: Mapper[UUID]) -> Callable[[StoredEvent], Checked]:
    """`check_stored` for many events read through one mapper (it is looked at once)."""
    if not stock_transcoding(mapper):
        return lambda stored: check_general(mapper, stored)

    sealed = mapper.cipher is not None or mapper.compressor is not None

    def check(stored: StoredEvent) -> Checked:
        try:
            matched = match(stored.topic, _opened(mapper, stored.state) if sealed else stored.state)
            shaped = None if matched is None else checked(stored, matched)
        except Exception:  # anything unexpected is the next reading's to judge
            shaped = None
        if shaped is not None:
            return shaped
        try:
            return _check_fast(mapper, stored)
        except _DeferError:
            return check_general(mapper, stored)

    return check


def _opened(mapper: Mapper[UUID], raw: bytes) -> bytes:
    if mapper.cipher:
        raw = mapper.cipher.decrypt(raw)
    if mapper.compressor:
        raw = mapper.compressor.decompress(raw)
    return raw


def check_general(mapper: Mapper[UUID], stored: StoredEvent) -> Checked:
    """Decode through the mapper's transcoder, re-encode, then `event_digest` (ADR 001, as
    written): the reference the fast path must agree with."""
    raw = stored.state
    try:
        if mapper.cipher:
            raw = mapper.cipher.decrypt(raw)
        if mapper.compressor:
            raw = mapper.compressor.decompress(raw)
        state = mapper.transcoder.decode(raw)
    except Exception as error:  # any failure to read stored bytes is evidence, not a crash
        return None, "", f"stored state cannot be decoded ({type(error).__name__})"
    if not isinstance(state, dict):
        return None, "", "stored state is not an event record"
    try:
        canonical = mapper.transcoder.encode(state)
    except Exception as error:
        return None, "", f"stored state cannot be re-encoded ({type(error).__name__})"
    if canonical != raw:
        return None, "", "stored bytes are not in canonical form (edited by hand?)"
    try:
        digest = event_digest(stored.topic, stored.originator_id, stored.originator_version, state)
    except TypeError as error:
        return state, "", str(error)
    return state, digest, ""


def stock_transcoding(mapper: Mapper[UUID]) -> bool:
    """The stock transcoder, reading and writing times and UUIDs as the stock transcodings do
    (a time read as `datetime_iso` but written under another name would not be canonical):
    what the readings from the stored text assume."""
    transcoder = mapper.transcoder
    if type(transcoder) is not JSONTranscoder:
        return False
    names, types = transcoder.names, transcoder.types
    return (
        type(names.get("datetime_iso")) is DatetimeAsISO
        and type(names.get("uuid_hex")) is UUIDAsHex
        and types.get(datetime) is names["datetime_iso"]
        and types.get(UUID) is names["uuid_hex"]
    )


def _check_fast(mapper: Mapper[UUID], stored: StoredEvent) -> Checked:
    raw = stored.state
    try:
        if mapper.cipher:
            raw = mapper.cipher.decrypt(raw)
        if mapper.compressor:
            raw = mapper.compressor.decompress(raw)
        decoded = raw.decode("utf8")
        if '"hash":{' in decoded or '"prev_hash":{' in decoded:
            raise _DeferError  # a typed hash: the general path reads it as no hash at all
        text = _TYPED.sub(_plain_text, decoded)
        if '"_type_"' in text:
            raise _DeferError  # another type, or one written unlike the transcoder writes it
        state = _loads(text)
    except Exception:
        raise _DeferError from None
    # Typed values replaced by their plain text as the transcoder writes them, the rest kept:
    # the stored bytes are canonical exactly when this text is.
    if type(state) is not dict or _compact(state) != text:
        raise _DeferError  # let the general path name what is wrong
    if "originator_id" in state or "originator_version" in state:
        raise _DeferError
    recorded = state.pop("hash", None)
    document = {
        "topic": stored.topic,
        "case_id": str(stored.originator_id),
        "version": stored.originator_version,
        "state": state,
    }
    digest = hashlib.sha256(_canonical(document).encode("ascii")).hexdigest()
    if recorded is not None:
        state["hash"] = recorded
    return state, digest, ""


def _plain_text(match: re.Match[str]) -> str:
    """A typed value's JSON as `chain._plain` makes it once the transcoder has decoded it (the
    ISO text; the dashed UUID), if its text is what the transcoding writes back."""
    moment, hexed = match.groups()
    if hexed is not None:
        return f'"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"'
    if datetime.fromisoformat(moment).isoformat() != moment:  # ValueError: the general path
        raise _DeferError
    return f'"{moment}"'


def chain_problem(checked: Checked, previous: str) -> str:
    """What is wrong with an event (checked by `check_stored`) as the successor of the event
    whose hash is `previous`; '' if nothing. The order and words `verify` has always used."""
    state, digest, problem = checked
    if state is None:
        return problem
    recorded = state.get("hash")
    if not isinstance(recorded, str) or not recorded:
        return "event carries no hash"
    if problem:
        return problem
    if digest != recorded:
        return "content does not match its hash (altered)"
    if state.get("prev_hash") != previous:
        return "prev_hash does not match the event before it (removed, inserted or reordered)"
    return ""
