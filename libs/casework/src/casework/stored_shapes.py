"""A flat stored event checked and digested from its text by its shape: one regex, no `json`.

Nearly every stored event is one flat object of text, whole numbers, `true`/`false`/`null` and
typed times (`{"_type_":"datetime_iso","_data_":...}`), and the events of one topic are written
with the same keys in the same order. `verify` reads each of them as `casework.stored_check`'s
general path does (decode, re-encode to compare, the digest over the sorted plain document),
but for such a text the same answers follow from the text itself:

- A *shape* is a topic's keys in their stored order, each with its kind (text, plain, time,
  UUID). Its regex matches exactly the texts the transcoder writes for an event of that shape: each
  value in the only form the transcoder writes it (text with only the escapes the encoder
  makes, whole numbers without a sign on zero or a leading zero, a time exactly as
  `isoformat` writes one that `fromisoformat` reads back). A text the regex matches is
  canonical: decoding and re-encoding it gives it back. The keys are fixed, so no key repeats.
- The digest's document is the same members sorted by key, times and UUIDs as their plain text,
  escaped to ASCII: the shape's fixed pieces and the matched values joined in the order one
  `itemgetter` made once per shape picks them (`Shape.document`). An ASCII text reads alike in
  both encoders; runs of other characters are escaped as the ASCII encoder escapes them.
- A text member (a key first seen holding a string) captures the string without its quotes:
  where the text has no backslash that is the decoded value itself, so the decoded state is
  the keys zipped with the values, times and other plain values converted after
  (`decoded`). A key seen holding a string in one event and a number in another gives its
  topic a second shape, whose member is plain (any value).

A topic's shapes are learnt from the texts themselves (`_learn`: a member regex splits the
text; kept only if the shape made from it matches that text), a few per topic. A text no
shape of its topic matches, and that teaches none, is the next reading's (`stored_check`):
floats, nested values, a time of 29 February, `\\u` escapes of printable characters, a DEL,
anything odd. `read` answers only where it gives the general path's answer; else None.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from json.encoder import encode_basestring_ascii
from operator import itemgetter
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

Checked = tuple[dict[str, Any] | None, str, str]

_TIME = (
    r"(?!0000)[0-9]{4}-"  # years 1 to 9999
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"  # days every month has
    r"|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"  # not 29 February: leap years
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.(?!000000)[0-9]{6})?"  # `isoformat` writes microseconds only when there are some
    r"(?:\+(?:[01][0-9]|2[0-3]):[0-5][0-9]|-(?!00:00)(?:[01][0-9]|2[0-3]):[0-5][0-9])?"
)
"""A time exactly as `datetime.isoformat` writes one `fromisoformat` reads back (offsets in
whole minutes, a zero offset written `+00:00`, none for a naive time)."""

_BODY = (
    r'[^"\\\x00-\x1f\x7f]*'
    r'(?:\\(?:["\\bfnrt]|u00(?:0[0-7bef]|1[0-9a-f]))[^"\\\x00-\x1f\x7f]*)*'
)
"""A JSON string's body as `json`'s encoders write it: `\\"`, `\\\\`, the short escapes and
`\\u00xx` for the other control characters, everything else as itself (a DEL, which only the
ASCII encoder escapes, is left to the general path)."""
_PLAIN = r'("' + _BODY + r'"|0|-?[1-9][0-9]{0,17}|true|false|null)'
_QUICK_BODY = r'[^"]*'
_QUICK_PLAIN = r'("' + _QUICK_BODY + r'"|0|-?[1-9][0-9]{0,17}|true|false|null)'
"""`_BODY` and `_PLAIN` for a text with no backslash and no control character or DEL anywhere
(checked once for the whole text, `_CONTROLS`): then a string is any run without a quote, a
faster regex (a run of one excluded character is a tight loop in `re`, a class of them is not),
and its body is its decoded text."""
_CONTROLS = bytes([*range(0x20), 0x7F])
_TIME_VALUE = r'\{"_type_":"datetime_iso","_data_":"(' + _TIME + r')"\}'
_UUID_VALUE = (
    r'\{"_type_":"uuid_hex","_data_":"'
    r'([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})"\}'
)
_MEMBER = re.compile(
    r'(?="(\w+)":)("\w+":(?:' + _PLAIN + "|" + _TIME_VALUE + "|" + _UUID_VALUE + r"))(?=[,}])",
    re.ASCII,
)
"""Any member of a flat object written canonically: (its key, its text, then the values)."""
_loads = json.JSONDecoder().decode
_NOT_ASCII = re.compile(r"[^\x00-\x7f]+")
_NOT_SHAPED = frozenset({"_type_", "originator_id", "originator_version"})
"""Keys the general path reads otherwise: a typed object, fields the digest leaves out."""

SHAPES_PER_TOPIC = 8
"""Shapes kept per topic; a topic's further texts take the next reading (and learn nothing)."""


class Shape:
    """One topic's keys in order, each of a kind: the regexes for its texts, the pieces of its
    digest document, and what its decoded state takes from the values."""

    __slots__ = (
        "document",
        "fields",
        "hash",
        "keys",
        "pattern",
        "pieces",
        "plains",
        "prev",
        "quick",
        "texts",
        "times",
    )

    def __init__(self, topic: str, members: list[tuple[str, str]]) -> None:
        """`members`: each key with its kind, 'text', 'plain', 'time' or 'uuid'."""
        parts: list[str] = []
        quick: list[str] = []
        slots: list[tuple[str, list[str | int]]] = []
        self.hash: int | None = None
        self.prev: int | None = None
        fields: list[tuple[str, str, int]] = []
        index = 0
        for key, kind in members:
            fields.append((key, kind, index))
            slot: list[str | int]
            if kind == "time":
                parts.append(f'"{key}":{_TIME_VALUE}')
                quick.append(parts[-1])
                slot, taken = ['"', index, '"'], 1
            elif kind == "uuid":
                parts.append(f'"{key}":{_UUID_VALUE}')
                quick.append(parts[-1])
                slot = ['"', index, "-", index + 1, "-", index + 2, "-", index + 3, "-"]
                slot += [index + 4, '"']
                taken = 5
            elif kind == "text":
                parts.append(f'"{key}":"({_BODY})"')
                quick.append(f'"{key}":"({_QUICK_BODY})"')
                slot, taken = ['"', index, '"'], 1
            else:
                parts.append(f'"{key}":{_PLAIN}')
                quick.append(f'"{key}":{_QUICK_PLAIN}')
                slot, taken = [index], 1
            if key == "hash":
                self.hash = index
            elif key == "prev_hash":
                self.prev = index
            index += taken
            if key != "hash":  # the digest covers everything but the hash itself
                slots.append((key, [f'"{key}":', *slot]))
        self.fields = tuple(fields)
        """Each key, its kind, and where its value starts among the regex's groups."""
        self.pattern = re.compile(r"\{" + ",".join(parts) + r"\}")
        self.quick = re.compile(r"\{" + ",".join(quick) + r"\}")
        """`pattern` without escapes (`_QUICK_PLAIN`), tried first."""
        slots.sort(key=lambda slot: slot[0])
        body: list[str | int] = []
        for n, (_, slot) in enumerate(slots):
            body += [","] if n else []
            body += slot
        written = encode_basestring_ascii(topic)
        # The values, then the case id and version: `checked` appends them to the groups.
        case_at, version_at = index, index + 1
        pieces: list[str | int] = ['{"case_id":', case_at, ',"state":{', *body, '},"topic":']
        pieces += [written + ',"version":', version_at, "}"]
        self.pieces, self.document = _joining(pieces, index + 2)
        """`event_digest`'s document is `"".join(document(pieces + values + (case, version)))`
        (its keys sorted: case_id, state, topic, version; the state's sorted in `body`): one
        join of the fixed pieces and the matched values (`itemgetter`, made once: C), faster
        than a format, which reads its template on every call."""
        self.keys = None if index != len(fields) else tuple(key for key, _, _ in fields)
        """The keys, where each value is one group (no UUID): the decoded state starts as
        the keys zipped with the values."""
        self.times = tuple(key for key, kind, _ in fields if kind == "time")
        self.plains = tuple(key for key, kind, _ in fields if kind == "plain")
        self.texts = tuple(key for key, kind, _ in fields if kind == "text")


def _joining(pieces: list[str | int], values: int) -> tuple[tuple[str, ...], Any]:
    """`pieces` (texts, and the indices of values) as the fixed texts and an `itemgetter`
    that picks texts and values in order from `values` values followed by those texts."""
    merged: list[str | int] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    texts = tuple(piece for piece in merged if isinstance(piece, str))
    order: list[int] = []
    text_at = values
    for piece in merged:
        if isinstance(piece, str):
            order.append(text_at)
            text_at += 1
        else:
            order.append(piece)
    return texts, itemgetter(*order)


_shapes: dict[str, list[Shape]] = {}
_named: dict[int, str] = {}
"""Case ids as the digest's document writes them (`str` of a UUID is Python, a lookup is not);
a case's events are read close together."""


Matched = tuple[Shape, tuple[str, ...], bool]
"""A text's shape, its values as the shape's regex captured them, and whether its quick regex
took it (its text bodies are then their decoded texts)."""


def read(stored: StoredEvent, raw: bytes) -> Checked | None:
    """`stored` (its state `raw`, deciphered) checked and digested from its text, or None where
    this reading cannot vouch for the general path's answer."""
    matched = match(stored.topic, raw)
    return None if matched is None else checked(stored, matched)


def match(topic: str, raw: bytes) -> Matched | None:
    """The shape of `raw` (known for its topic, or learnt from it) and its values; None if it
    has none this module reads."""
    try:
        text = raw.decode("utf8")
    except UnicodeDecodeError:
        return None
    quick = "\\" not in text and len(raw.translate(None, _CONTROLS)) == len(raw)
    for shape in _shapes.get(topic, ()):
        found = (shape.quick if quick else shape.pattern).fullmatch(text)
        if found is not None:
            return shape, found.groups(), quick
    learnt = _learn(topic, text)
    if learnt is None:
        return None
    found = learnt.pattern.fullmatch(text)
    return None if found is None else (learnt, found.groups(), False)


def checked(stored: StoredEvent, matched: Matched) -> Checked | None:
    """`stored`, whose state matched, checked and digested as the general path would (its text
    is canonical: the shape's regex takes no other), or None where that is not sure."""
    shape, values, _ = matched
    state: dict[str, Any] = {}
    if shape.hash is not None:
        recorded = values[shape.hash]
        if "\\" in recorded:
            return None  # a hash with an escape: the general path words it
        state["hash"] = recorded
    if shape.prev is not None:
        previous = values[shape.prev]
        if "\\" in previous:
            return None
        state["prev_hash"] = previous
    found = digest(stored, matched)
    return None if found is None else (state, found, "")


def digest(stored: StoredEvent, matched: Matched) -> str | None:
    """The digest `checked` gives `stored` (its text matched), without the chain fields read
    out; None where that is not sure."""
    shape, values, _ = matched
    case_id, version = stored.originator_id, stored.originator_version
    if type(version) is not int:
        return None
    if type(case_id) is UUID:
        named = _named.get(case_id.int) or _name(case_id)
    else:
        named = encode_basestring_ascii(str(case_id))
    document = "".join(shape.document((*values, named, str(version), *shape.pieces)))
    if not document.isascii():
        document = _NOT_ASCII.sub(_ascii, document)
    return hashlib.sha256(document.encode("ascii")).hexdigest()


def decoded(matched: Matched) -> dict[str, Any]:
    """The state the stock transcoder decodes from the matched text (`JSONTranscoder.decode`:
    texts, whole numbers, `true`/`false`/`null`, times and UUIDs through their transcodings),
    without decoding it again."""
    shape, values, quick = matched
    keys = shape.keys
    if keys is None:
        return _decoded(shape, values)
    state: dict[str, Any] = dict(zip(keys, values, strict=True))
    for key in shape.times:
        state[key] = _fromisoformat(state[key])
    for key in shape.plains:
        state[key] = _plain(state[key])
    if not quick:
        for key in shape.texts:
            if "\\" in state[key]:
                state[key] = _loads('"' + state[key] + '"')
    return state


def _decoded(shape: Shape, values: tuple[str, ...]) -> dict[str, Any]:
    """`decoded`, a member at a time (a shape with a UUID: five groups make one value)."""
    state: dict[str, Any] = {}
    for key, kind, index in shape.fields:
        value = values[index]
        if kind == "text":
            state[key] = value if "\\" not in value else _loads('"' + value + '"')
        elif kind == "plain":
            state[key] = _plain(value)
        elif kind == "time":
            state[key] = _fromisoformat(value)
        else:
            state[key] = UUID("".join(values[index : index + 5]))
    return state


_fromisoformat = datetime.fromisoformat


def _plain(value: str) -> Any:
    """A plain value's JSON text (a string, a whole number, `true`, `false`, `null`) decoded."""
    first = value[0]
    if first == '"':
        return value[1:-1] if "\\" not in value else _loads(value)
    if first == "t":
        return True
    if first == "f":
        return False
    if first == "n":
        return None
    return int(value)


def _learn(topic: str, text: str) -> Shape | None:
    """The shape of `text`, kept for its topic, if it is a flat object this module reads."""
    known = _shapes.get(topic)
    if type(topic) is not str or (known is not None and len(known) >= SHAPES_PER_TOPIC):
        return None
    members = _MEMBER.findall(text)
    keys = [member[0] for member in members]
    if len(set(keys)) != len(keys) or not _NOT_SHAPED.isdisjoint(keys):
        return None
    if "{" + ",".join(member[1] for member in members) + "}" != text:
        return None
    kinds = [(member[0], _kind(member[1])) for member in members]
    if any(kind != "text" for key, kind in kinds if key in ("hash", "prev_hash")):
        return None  # a chain field that is no text: the general path words it
    shape = Shape(topic, kinds)
    if shape.pattern.fullmatch(text) is None:
        return None
    if len(_shapes) >= 1000:  # topics are few; a store with more is odd: start over
        _shapes.clear()
    _shapes.setdefault(topic, []).append(shape)
    return shape


def _kind(member: str) -> str:
    value = member[member.index(":") + 1 :]
    if value.startswith('{"_type_":"datetime_iso"'):
        return "time"
    if value.startswith('{"_type_":"uuid_hex"'):
        return "uuid"
    return "text" if value.startswith('"') else "plain"


def _ascii(match: re.Match[str]) -> str:
    escaped: str = encode_basestring_ascii(match[0])
    return escaped[1:-1]


def _name(case_id: UUID) -> str:
    if len(_named) >= 10_000:
        _named.clear()
    named = _named[case_id.int] = f'"{case_id}"'
    return named
