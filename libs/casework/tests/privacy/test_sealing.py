"""Sealed events on a real store: the chain covers the ciphertext, so it verifies after erasure.

A small aggregate on the library's `Chained` base stands in for a case file here (the case
kinds declare their own personal fields); it declares a description as its reporter's, a map of
statements per person, and a free note whose phone numbers are the reporter's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest
from casework import Actor, Casework, Role
from casework.audit import verify_events
from casework.domain.chained import Chained, storing
from casework.privacy import (
    ACTOR,
    EACH_KEY,
    ERASED,
    PERSONAL,
    Privacy,
    SealError,
    SqlKeyStore,
    is_sealed,
    seal_pending,
)
from casework.privacy.sealing import is_identifier
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

AT = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
RESIDENT = Actor("resident-0302", Role.RESIDENT)
STAFF = Actor("staff-li", Role.PROPERTY_STAFF)
SAID = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF) | st.sampled_from(
    "0123456789，。 "
)
"""What residents say: Chinese, digits and punctuation (never a field name or an id)."""


def _has_chinese(text: str) -> bool:
    """A secret of digits and spaces alone ("2026") may stand in a timestamp of the same event;
    looking for it in the stored bytes would then fail for no fault of the sealing."""
    return any("\u4e00" <= c <= "\u9fff" for c in text)


class Matter(Chained):
    """A stand-in case file with personal fields of three shapes."""

    @dataclass(frozen=True)
    class Opened(Chained.Created):
        PERSONAL: ClassVar[dict[str, str]] = {"description": ACTOR}
        description: str

        def apply_to(self, aggregate: Any) -> None:
            aggregate.description = self.description
            aggregate.reporter_ids = [self.actor_id]

    @dataclass(frozen=True)
    class Stated(Chained.Event):
        PERSONAL: ClassVar[dict[str, str]] = {"positions": EACH_KEY}
        positions: dict[str, str]
        note: str

        def apply_to(self, aggregate: Any) -> None:
            aggregate.positions.update(self.positions)
            aggregate.note = self.note

    def __init__(self) -> None:
        super().__init__()
        self.description = ""
        self.reporter_ids: list[str] = []
        self.positions: dict[str, str] = {}
        self.note = ""

    @property
    def reporter_id(self) -> str:
        return self.reporter_ids[0]


@pytest.fixture
def app(store_url: str) -> Iterator[Casework]:
    application = Casework(store_url)
    yield application
    application.close()


def privacy_of(app: Casework, **kwargs: Any) -> Privacy:
    """The app's own keys (its master key), through a key store of our own (another process's,
    or one with a clock we turn)."""
    keys = app.privacy.keys
    assert isinstance(keys, SqlKeyStore)
    return Privacy(SqlKeyStore(app.recorder.datastore, keys.master, **kwargs))  # type: ignore[attr-defined]


def state(matter: Matter, position: str, note: str) -> None:
    """The matter's second event: the staff records the positions and a note."""
    matter.record(
        Matter.Stated,
        STAFF,
        AT,
        positions={RESIDENT.id: position, "resident-0402": "ok"},
        note=note,
    )


def record(app: Casework, privacy: Privacy, description: str, position: str, note: str) -> UUID:
    matter = Matter.start(Matter.Opened, uuid4(), RESIDENT, AT, description=description)
    state(matter, position, note)
    seal_pending(matter, privacy.sealer)
    app.save(matter)
    return matter.id


def stored_states(app: Casework, matter_id: UUID) -> list[dict[str, Any]]:
    stored = app.recorder.select_events(matter_id)
    return [app.mapper.transcoder.decode(s.state) for s in stored]


def test_personal_fields_are_stored_sealed_and_open_for_whom_may_read(app: Casework) -> None:
    privacy = privacy_of(app)
    matter_id = record(app, privacy, "漏水很严重", "我不同意", "电话 13812345678 找我")
    opened, stated = stored_states(app, matter_id)
    assert is_sealed(opened["description"])
    assert is_sealed(stated["positions"][RESIDENT.id])
    assert stated["note"].startswith("电话 sealed:v1:")
    assert stated["note"].endswith(" 找我")

    def read(state: dict[str, Any], field: str, allowed: bool = True) -> Any:
        return privacy.opener.open(state[field], case_id=matter_id, field=field, allowed=allowed)

    assert read(opened, "description") == "漏水很严重"
    assert read(stated, "positions") == {RESIDENT.id: "我不同意", "resident-0402": "ok"}
    assert read(stated, "note") == "电话 13812345678 找我"
    assert read(opened, "description", allowed=False) == PERSONAL
    assert read(stated, "note", allowed=False) == f"电话 {PERSONAL} 找我"

    with pytest.raises(SealError, match="moved from another case or field"):
        privacy.opener.open(opened["description"], case_id=matter_id, field="note")
    with pytest.raises(SealError):
        privacy.opener.open(opened["description"], case_id=uuid4(), field="description")

    privacy.keys.destroy(RESIDENT.id, AT)
    assert read(opened, "description") == ERASED
    assert read(stated, "positions") == {RESIDENT.id: ERASED, "resident-0402": "ok"}
    assert read(stated, "note") == f"电话 {ERASED} 找我"
    assert read(opened, "description", allowed=False) == ERASED


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    description=st.text(SAID, min_size=4, max_size=60).filter(_has_chinese),
    position=st.text(SAID, min_size=4, max_size=60).filter(_has_chinese),
)
def test_the_chain_verifies_before_and_after_erasure_and_no_plaintext_is_stored(
    app: Casework, description: str, position: str
) -> None:
    privacy = privacy_of(app)
    matter_id = record(app, privacy, description, position, "回电 13912345678")
    stored = list(app.recorder.select_events(matter_id))
    before = verify_events(matter_id, stored, app.mapper)
    assert before.ok, before.describe()
    for event in stored:
        for secret in (description, position, "13912345678"):
            assert secret.encode() not in event.state
    # What the domain would replay: the head it chains the next event to is the stored one.
    matter = app.repository.get(matter_id)
    assert matter.chain_head == before.head

    privacy.keys.destroy(RESIDENT.id, AT)
    after = verify_events(matter_id, list(app.recorder.select_events(matter_id)), app.mapper)
    assert after.ok
    assert after.head == before.head


def test_a_key_destroyed_elsewhere_is_noticed_once_the_cache_expires(app: Casework) -> None:
    now = [1_000.0]
    here = privacy_of(app, now=lambda: now[0], cache_seconds=5.0)
    matter_id = record(app, here, "楼上漏水", "同意", "")
    opened = stored_states(app, matter_id)[0]

    def read() -> Any:
        return here.opener.open(opened["description"], case_id=matter_id, field="description")

    assert read() == "楼上漏水"
    privacy_of(app).keys.destroy(RESIDENT.id, AT)  # another process
    now[0] += 5.0
    assert read() == ERASED


def test_a_reading_asks_for_a_key_once_and_the_next_reading_notices_it_destroyed(
    app: Casework,
) -> None:
    """`Opener.reading` (a case file's events read together) answers a kept plaintext with
    each key asked once for the read; the next read asks again."""
    now = [1_000.0]
    here = privacy_of(app, now=lambda: now[0], cache_seconds=5.0)
    matter_id = record(app, here, "楼上漏水", "同意", "")
    token = stored_states(app, matter_id)[0]["description"]
    reading = here.opener.reading()
    assert reading.text(token, matter_id, "description", True) == "楼上漏水"
    assert reading.text(token, matter_id, "description", False) == PERSONAL
    with pytest.raises(SealError):  # read at another field than it was sealed for
        reading.text(token, matter_id, "reason", True)
    privacy_of(app).keys.destroy(RESIDENT.id, AT)  # another process
    now[0] += 5.0
    assert reading.text(token, matter_id, "description", True) == "楼上漏水"  # as of the read
    assert here.opener.reading().text(token, matter_id, "description", True) == ERASED
    assert here.opener.reading().text(token, matter_id, "description", False) == ERASED


def test_an_erasure_in_this_process_shows_within_a_reading_already_begun(app: Casework) -> None:
    """What `erase` does here (destroy the keys, then `Opener.forget`) reaches a read under
    way: only another process's erasure waits for the next read."""
    here = privacy_of(app)
    matter_id = record(app, here, "楼上漏水", "同意", "")
    token = stored_states(app, matter_id)[0]["description"]
    reading = here.opener.reading()
    assert reading.text(token, matter_id, "description", True) == "楼上漏水"
    here.keys.destroy(RESIDENT.id, AT)
    here.opener.forget(RESIDENT.id)
    assert reading.text(token, matter_id, "description", True) == ERASED
    assert reading.text(token, matter_id, "description", False) == ERASED


def test_new_facts_after_an_erasure_are_sealed_under_a_new_key(app: Casework) -> None:
    privacy = privacy_of(app)
    old = record(app, privacy, "旧的描述", "旧立场", "")
    privacy.keys.destroy(RESIDENT.id, AT)
    new = record(app, privacy, "新的描述", "新立场", "")
    assert (
        privacy.opener.open(
            stored_states(app, new)[0]["description"], case_id=new, field="description"
        )
        == "新的描述"
    )
    assert (
        privacy.opener.open(
            stored_states(app, old)[0]["description"], case_id=old, field="description"
        )
        == ERASED
    )


def record_storing(
    privacy: Privacy, description: str, position: str, note: str, *, first: bool
) -> tuple[Matter, UUID]:
    """As `record`, but the events recorded with the application's storing hook on (sealed and
    hashed as recorded); `first` False: the first event recorded without it (sealed at save)."""
    hook = privacy.sealer.stored_form
    with storing(hook if first else None):
        matter = Matter.start(Matter.Opened, uuid4(), RESIDENT, AT, description=description)
    with storing(hook):
        state(matter, position, note)
    return matter, matter.id


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    description=st.text(SAID, min_size=4, max_size=60),
    position=st.text(SAID, min_size=4, max_size=60),
    first=st.booleans(),
)
def test_events_sealed_as_recorded_are_stored_as_if_sealed_at_save(
    app: Casework, description: str, position: str, first: bool
) -> None:
    privacy = privacy_of(app)
    note = "回电 13912345678"
    matter, matter_id = record_storing(privacy, description, position, note, first=first)
    # The aggregate keeps what was said; only the events to store are sealed.
    assert (matter.description, matter.positions[RESIDENT.id], matter.note) == (
        description,
        position,
        note,
    )
    made = list(matter.pending_events)
    seal_pending(matter, privacy.sealer)
    if first:  # nothing left to seal or re-chain: the very events made as recorded
        assert all(a is b for a, b in zip(made, matter.pending_events, strict=True))
    app.save(matter)
    stored = list(app.recorder.select_events(matter_id))
    verified = verify_events(matter_id, stored, app.mapper)
    assert verified.ok, verified.describe()
    assert matter.chain_head == verified.head
    for event in stored:
        for secret in (description, position, "13912345678"):
            assert secret.encode() not in event.state
    opened, stated = stored_states(app, matter_id)
    read = privacy.opener.open
    assert read(opened["description"], case_id=matter_id, field="description") == description
    assert read(stated["positions"], case_id=matter_id, field="positions") == {
        RESIDENT.id: position,
        "resident-0402": "ok",
    }
    assert read(stated["note"], case_id=matter_id, field="note") == note


def test_opened_plaintexts_kept_in_memory_go_with_the_key(app: Casework) -> None:
    privacy = privacy_of(app)
    matter_id = record(app, privacy, "漏水很严重", "我不同意", "")
    token = stored_states(app, matter_id)[0]["description"]

    def read(**where: Any) -> Any:
        return privacy.opener.open(token, **{"case_id": matter_id, "field": "description", **where})

    assert read() == read() == "漏水很严重"  # the second from memory
    with pytest.raises(SealError):  # kept for its own place only
        read(field="note")
    with pytest.raises(SealError):
        read(case_id=uuid4())
    assert read(allowed=False) == PERSONAL
    privacy.keys.destroy(RESIDENT.id, AT)
    privacy.opener.forget(RESIDENT.id)
    assert not any("漏水很严重" in repr(kept) for kept in vars(privacy.opener).values())
    assert read() == ERASED


@pytest.mark.parametrize(
    ("path", "identifier"),
    [
        ("meeting_id", True),
        ("terms[0].meeting_id", True),
        ("member_ids[1]", True),
        ("id", True),
        ("note", False),
        ("positions.resident-0302", False),
        ("paid", False),
    ],
)
def test_identifiers_are_told_from_typed_text_by_their_field_name(
    path: str, identifier: bool
) -> None:
    assert is_identifier(path) is identifier


def test_an_all_digit_id_that_reads_as_a_phone_number_stays_as_it_is(app: Casework) -> None:
    """A meeting id is hex; one in ~280 is all digits, and `013812345678` is a valid mobile
    number: sealing it would make the meeting unfindable once the reporter is erased."""
    privacy = privacy_of(app)
    digits_id = "013812345678"
    state = {
        "originator_id": uuid4(),
        "actor_id": STAFF.id,
        "meeting_id": digits_id,
        "commitments": [{"meeting_id": digits_id, "text": "回电 13912345678"}],
        "note": "电话 13812345678",
    }
    changes = privacy.sealer.seal_state(state, {}, reporter=RESIDENT.id)
    assert "meeting_id" not in changes
    assert changes["commitments"][0]["meeting_id"] == digits_id
    assert "13912345678" not in changes["commitments"][0]["text"]
    assert "13812345678" not in changes["note"]


FAKE = "sealed:v1:AAAAAAAAAAAAAAAAAAAAAA:BBBBBBBBBBBBBBBB:CCCCCCCCCCCCCCCCCCCCCC"
"""Something a resident can type that is shaped like a sealed token but was never sealed."""


@pytest.mark.parametrize("made_up", [True, False])
def test_a_token_typed_into_text_does_not_pass_as_sealed(app: Casework, made_up: bool) -> None:
    """A token-shaped text a person typed (made up, or pasted from another case) is no licence
    to store the rest in plain: the number beside it is sealed, and so is the typed token, so
    the case reads back as typed instead of failing to open on every load."""
    privacy = privacy_of(app)
    other = record(app, privacy, "别的案子", "同意", "电话 13700000000")
    pasted = stored_states(app, other)[0]["description"]
    typed = FAKE if made_up else pasted
    assert is_sealed(typed)
    said = f"{typed} call me 13812345678"
    matter_id = record(app, privacy, said, typed, said)
    stored = b"".join(s.state for s in app.recorder.select_events(matter_id))
    assert b"13812345678" not in stored
    opened, stated = stored_states(app, matter_id)
    assert is_sealed(opened["description"])
    assert typed not in stated["note"]
    read = privacy.opener.open
    assert read(opened["description"], case_id=matter_id, field="description") == said
    assert read(stated["positions"], case_id=matter_id, field="positions")[RESIDENT.id] == typed
    assert read(stated["note"], case_id=matter_id, field="note") == said
