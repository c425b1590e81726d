"""`verify`'s cheapest reading (`casework.stored_shapes`: a flat event checked and digested from
its text by its topic's shape) answers only where the general path (`check_general`, ADR 001
as written) gives the same answer, for any state the transcoder writes and any edit of it.

`test_tamper_evidence` compares the readings on real stored events edited byte by byte; here
the states are drawn (text with any character, whole numbers, floats, times, UUIDs, decimals,
nested values), so the acceptance rule is tried where the stories never go.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from casework import stored_shapes
from casework.stored_check import check_general
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

TIME = re.compile(stored_shapes._TIME)
CASE = UUID("5b0a7f8e-2f43-4c1e-9d52-0f7a8e2b6c11")


def _mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()  # what eventsourcing's Application registers
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


MAPPER = _mapper()


def same_as_general(stored: StoredEvent) -> bool:
    """`stored_shapes.read` answered; assert it answered as the general path does, and that
    the state decoded from the same match is the transcoder's (keys in order, types too)."""
    shaped = stored_shapes.read(stored, stored.state)
    matched = stored_shapes.match(stored.topic, stored.state)
    assert (shaped is None) == (matched is None or stored_shapes.checked(stored, matched) is None)
    if shaped is None:
        return False
    state, digest, problem = check_general(MAPPER, stored)
    assert state is not None
    assert (shaped[1], shaped[2]) == (digest, problem)
    assert shaped[0] == {k: state[k] for k in ("hash", "prev_hash") if k in state}
    assert matched is not None
    read = MAPPER.transcoder.decode(stored.state)
    assert [(k, type(v), v) for k, v in stored_shapes.decoded(matched).items()] == [
        (k, type(v), v) for k, v in read.items()
    ]
    return True


# ------------------------------------------------------------------------------------ times


def test_every_month_and_day_the_shape_takes_is_a_date() -> None:
    for year in (2023, 2024, 1, 9999):
        for month in range(1, 13):
            for day in range(1, 32):
                text = f"{year:04d}-{month:02d}-{day:02d}T09:30:00+08:00"
                if TIME.fullmatch(text):
                    assert datetime.fromisoformat(text).isoformat() == text


@given(
    at=st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    minutes=st.integers(-24 * 60 + 1, 24 * 60 - 1),
    naive=st.booleans(),
)
def test_a_time_isoformat_writes_is_taken_unless_on_29_february(
    at: datetime, minutes: int, naive: bool
) -> None:
    if not naive:
        at = at.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    text = at.isoformat()
    assert bool(TIME.fullmatch(text)) == ((at.month, at.day) != (2, 29))


PIECES = ("00", "29", "30", "31", "02", "13", "24", "60", "000000", "-00:00", "+00:00", "0000")
ISO_PIECES = st.sampled_from([*"0123456789-+:.TZ ", *PIECES])


@example("2026-11-24T09:00:00.000000+08:00")
@example("2026-11-24T09:00:00-00:00")
@example("0000-01-01T00:00:00")
@example("2023-02-29T00:00:00")
@example("2026-04-31T00:00:00")
@example("2026-11-24T09:00:00+24:00")
@example("2026-11-24T09:00:00+08:00:00")
@example("2026-11-24T09:00:00Z")
@example("2026-11-24 09:00:00")
@settings(max_examples=200)
@given(
    text=st.one_of(
        st.lists(ISO_PIECES, max_size=20).map("".join),
        st.builds(
            lambda at, index, piece: (lambda s: s[:index] + piece + s[index + 1 :])(at.isoformat()),
            st.datetimes(timezones=st.just(timezone(timedelta(hours=8)))),
            st.integers(0, 40),
            ISO_PIECES,
        ),
    )
)
def test_a_time_the_shape_takes_reads_back_as_written(text: str) -> None:
    if TIME.fullmatch(text):
        assert datetime.fromisoformat(text).isoformat() == text


# ----------------------------------------------------------------------------- whole states

KEYS = st.sampled_from(
    [
        *("actor_id", "reason", "tier", "text", "hash", "prev_hash", "at", "n", "_type_"),
        *("_data_", "originator_id", "originator_version", "a", "b1", "x_y"),
    ]
) | st.text(min_size=0, max_size=4)
SCALARS = st.one_of(
    st.text(max_size=12),
    st.text(alphabet='abc"\\}{,:\x00\x1f\x7f\u00e9\u4e2d\U0001f600\u2028', max_size=8),
    st.integers(-(10**20), 10**20),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.datetimes(
        min_value=datetime(1, 1, 2),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=8))]),
    ),
    st.datetimes(),
    st.uuids(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.just("sealed:v1:gUWgKMAnZzkWh9Kox4I87A:pCLWc9ZxSHXxWcb9:bOnhF0Y6f98WcsfY"),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=2), max_leaves=3)
HASHES = st.sampled_from(["", "0" * 64, "ab" * 32]) | st.text(max_size=3)


@st.composite
def states(draw: st.DrawFn) -> dict[str, Any]:
    state = draw(st.dictionaries(KEYS, VALUES, max_size=6))
    if draw(st.booleans()):
        state["prev_hash"] = draw(HASHES)
        state["hash"] = draw(HASHES)
    return state


EDITS = st.one_of(
    st.none(),
    st.tuples(st.integers(0, 400), st.integers(0, 255), st.sampled_from(["set", "insert"])),
    st.tuples(st.integers(0, 400), st.just(0), st.just("delete")),
)


def edited(raw: bytes, edit: tuple[int, int, str] | None) -> bytes:
    if edit is None or not raw:
        return raw
    index, byte, how = edit
    index %= len(raw)
    if how == "set":
        return raw[:index] + bytes([byte]) + raw[index + 1 :]
    if how == "insert":
        return raw[:index] + bytes([byte]) + raw[index:]
    return raw[:index] + raw[index + 1 :]


@example(
    state={"at": datetime(2024, 2, 29, tzinfo=UTC), "hash": "x", "prev_hash": ""},
    other=None,
    edit=None,
    topic="t",
)
@example(state={"n": Decimal("1.50"), "hash": "x"}, other=None, edit=None, topic="t")
@example(state={"_type_": "uuid_hex", "_data_": "00" * 16}, other=None, edit=None, topic="t")
@settings(max_examples=250, deadline=None)
@given(
    state=states(),
    other=st.none() | states(),
    edit=EDITS,
    topic=st.sampled_from(["casework.domain.repair:Repair.NoteAdded", "t", '\u4e2d"']),
)
def test_a_drawn_state_reads_as_the_general_path_reads_it(
    state: dict[str, Any],
    other: dict[str, Any] | None,
    edit: tuple[int, int, str] | None,
    topic: str,
) -> None:
    """Each state is read as written and once edited; `other` first, under the same topic, so
    a shape learnt from one text is also tried on texts it was not learnt from."""
    for drawn in (other, state):
        if drawn is not None:
            raw = MAPPER.transcoder.encode(drawn)
            same_as_general(StoredEvent(CASE, 3, topic, raw))
            same_as_general(StoredEvent(CASE, 3, topic, edited(raw, edit)))


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"\\'))
        | st.text(st.characters(min_codepoint=0xA0, exclude_categories=("Cs",)), max_size=4),
        min_size=1,
        max_size=4,
    ),
    whole=st.integers(-(10**17), 10**17),
    at=st.datetimes(
        min_value=datetime(2000, 1, 1), timezones=st.just(timezone(timedelta(hours=-5)))
    ).filter(lambda at: (at.month, at.day) != (2, 29)),
    uid=st.uuids(),
)
def test_a_flat_event_as_written_takes_the_shape_reading(
    texts: list[str], whole: int, at: datetime, uid: UUID
) -> None:
    """Not only sound but used: what events hold (texts, whole numbers, times, ids, flags)."""
    state: dict[str, Any] = {"timestamp": at, "prev_hash": "ab" * 32, "hash": "cd" * 32}
    state.update({f"t{n}": text for n, text in enumerate(texts)})
    state.update({"count": whole, "flag": True, "none": None, "linked": uid})
    raw = MAPPER.transcoder.encode(state)
    assert same_as_general(StoredEvent(CASE, 7, "casework.domain.leak:Leak.Noted", raw))


NOTE = {
    "timestamp": datetime(2026, 11, 24, 9, 30, 5, 120, tzinfo=timezone(timedelta(hours=8))),
    "actor_id": "staff-li",
    "reason": 'said "ok", {then} left',
    "prev_hash": "ab" * 32,
    "hash": "cd" * 32,
    "tier": "building",
    "text": "灯 a/b",
}


@settings(max_examples=60, deadline=None)
@given(
    edit=st.sampled_from(
        [
            ('"tier":', '"tier":"x","tier":'),  # a key twice
            ('"tier":', '"hash":"x","tier":'),
            ('"reason":', '"reason":"a","reason":'),
            ("a/b", "a\\/b"),
            ("a/b", "a\x7fb"),  # DEL: written as itself, escaped in the digest
            ("a/b", "a\x01b"),  # a raw control character: JSON has none
            ("灯", "\\u706f"),
            ('\\"ok\\"', "\\u0022ok\\u0022"),
            ('"tier":', ' "tier":'),
            (":05.000120+08:00", ":05.000120+08:00:00"),
            ('"building"', "1.0"),
            ('"building"', "01"),
            ('"building"', "-0"),
            ('"building"', "1E2"),
            ('"building"', "[]"),
            ('"building"', "NaN"),
        ]
    ),
    topic=st.sampled_from(["casework.domain.repair:Repair.Noted", "other.topic"]),
)
def test_hand_edits_read_as_the_general_path_reads_them(edit: tuple[str, str], topic: str) -> None:
    raw = MAPPER.transcoder.encode(NOTE)
    assert same_as_general(StoredEvent(CASE, 2, topic, raw))  # its shape learnt (no other
    # test draws these topics: a topic keeps `SHAPES_PER_TOPIC` shapes, then learns no more)
    old, new = edit
    assert old.encode() in raw
    same_as_general(StoredEvent(CASE, 2, topic, raw.replace(old.encode(), new.encode(), 1)))


@settings(max_examples=60, deadline=None)
@given(
    plain=st.text(
        st.characters(min_codepoint=0x20, exclude_characters='"\\\x7f', exclude_categories=("Cs",)),
        max_size=6,
    ),
    escaped=st.text(alphabet='ab"\\\n\x00\x1f\u00e9\u4e2d', min_size=1, max_size=6),
    number=st.integers(-(10**17), 10**17) | st.none() | st.booleans(),
    n=st.integers(0, 10**6),
)
def test_a_shape_learnt_from_plain_texts_reads_escaped_ones_and_other_kinds_alike(
    plain: str, escaped: str, number: int | bool | None, n: int
) -> None:
    """A shape is learnt from a text without escapes (its text members quick); the same keys
    holding escapes take its full regex, and a number or `null` where a text was makes the
    topic's next shape (its member plain): each read as the general path reads it."""
    topic = f"casework.domain.repair:Repair.Kinds{n}"  # a topic of its own: shapes from nothing
    first = {"timestamp": NOTE["timestamp"], "prev_hash": "ab" * 32, "hash": "cd" * 32}
    raw = MAPPER.transcoder.encode({**first, "text": plain, "tier": "building"})
    assert same_as_general(StoredEvent(CASE, 2, topic, raw))
    learnt = stored_shapes.match(topic, raw)
    assert learnt is not None
    assert learnt[2]
    raw = MAPPER.transcoder.encode({**first, "text": escaped, "tier": "building"})
    if "\\" in raw.decode():  # an escape the encoder writes: the same shape, its full regex
        matched = stored_shapes.match(topic, raw)
        assert matched is not None
        assert matched[0] is learnt[0]
        assert not matched[2]
    assert same_as_general(StoredEvent(CASE, 2, topic, raw))
    raw = MAPPER.transcoder.encode({**first, "text": number, "tier": "building"})
    assert same_as_general(StoredEvent(CASE, 2, topic, raw))
    again = stored_shapes.match(topic, raw)
    assert again is not None
    assert again[0] is not learnt[0]
    raw = MAPPER.transcoder.encode({**first, "text": plain + "x", "tier": "building"})
    assert same_as_general(StoredEvent(CASE, 3, topic, raw))
