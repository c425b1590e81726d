"""Issue 11's "done when": for any story, after erasing one of its people, no byte sequence of
that person's personal values is in any file under the var dir (the store, the services' read
models, the NATS server's JetStream files, the logs) nor in any message of the stream, and
every case still verifies against anchors written before the erasure.

Hypothesis picks the story (the article's, told in process and relayed to a real nats-server
whose store dir is under the var dir) and which of its people to erase. On SQLite the store is
in the var dir too; on PostgreSQL (a fresh database per example) the var dir holds the read
models, the JetStream files and the log.
The person's values are what `casework person export` shows of them before the erasure
(their contact, descriptions, comments, notes about them, stated positions, numbers found in
other text); a reporter's contact, as the story gave it, is checked to be among them.
The read models are the intake's case index and measures and mediation's worklist, fed from the
store as the services feed them; the logs are everything the library logs while it runs.

Each value is looked for as UTF-8 and as JSON writes it (`\\uXXXX` escapes), so a copy kept
in either shape is found; `test_the_search_finds_a_value_kept_in_either_shape` shows it does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from casework.application import Casework
from casework.audit import Anchor
from casework.clock import FakeClock
from casework.domain.actors import Actor, Role
from casework.domain.dispute import Dispute
from casework.messaging.nats_server import NatsServer
from casework.messaging.relay import Relay
from casework.privacy.people import erase, export
from casework.stories import EVERY_STORY, Story
from casework.stories.in_process import InProcess
from casework.stories.steps import At
from casework.testing.nats import jetstream, read_stream, require_nats_binary
from casework.testing.postgres import STORE_PARAMS, fresh_database
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from intake.feeds import StoreFeed
from intake.measures.model import MeasuresModel
from intake.read_model import CaseIndex
from mediation.feeds import refresh
from mediation.worklist import Worklist

DPO = Actor("dpo-sun", Role.DATA_PROTECTION_OFFICER)
SHORTEST = 4
"""Values shorter than this (a one-word comment, "ok") are too common to mean anything when
found; every story value of a person is longer."""


def shapes(value: str) -> list[bytes]:
    """The bytes a copy of `value` would be: UTF-8, or JSON's ASCII escapes."""
    escaped = json.dumps(value)[1:-1].encode()
    return list(dict.fromkeys([value.encode(), escaped]))


def found_in(blob: bytes, values: list[str]) -> list[str]:
    return [v for v in values if any(shape in blob for shape in shapes(v))]


def files_under(folder: Path) -> Iterator[Path]:
    yield from (p for p in sorted(folder.rglob("*")) if p.is_file())


def people_of(story: Story) -> list[str]:
    """Everyone a story names as acting or as a party, in first-seen order."""
    seen: dict[str, None] = {}
    for step in story.steps:
        who = getattr(step, "who", None)
        if isinstance(who, Actor):
            seen[who.id] = None
        for party in getattr(step, "parties", ()) or ():
            seen[str(party)] = None
    return list(seen)


def contacts_of(story: Story, person: str) -> set[str]:
    """The contacts the story's report steps give for `person` (theirs, as they reported)."""
    return {
        contact
        for step in story.steps
        if (contact := getattr(step, "contact", ""))
        and isinstance(who := getattr(step, "who", None), Actor)
        and who.id == person
    }


@contextmanager
def logs_into(path: Path) -> Iterator[None]:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def feed_read_models(app: Casework, var: Path) -> None:
    """The intake's and mediation's read models, brought up to date from the store."""
    index, measures = CaseIndex(var / "intake.db"), MeasuresModel(var / "intake.db")
    worklist = Worklist(var / "mediation.db")
    try:
        StoreFeed(app, index, also=[measures]).catch_up()
        for case_id in app.case_ids():
            if isinstance(app.get_case(case_id), Dispute):
                refresh(app, worklist, case_id)
    finally:
        index.close()
        measures.close()
        worklist.close()


async def stream_bodies(url: str) -> list[bytes]:
    async with jetstream(url) as (_, js):
        return [
            (m.data or b"") + (m.subject or "").encode() for m in await read_stream(js, "CASEWORK")
        ]


def tell(story: Story, store: str) -> Casework:
    first = next((step.when for step in story.steps if isinstance(step, At)), None)
    clock = FakeClock(first or datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app = Casework(store, clock=clock)
    InProcess(app, clock).tell(story)
    return app


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.parametrize("store_kind", STORE_PARAMS)
@given(story=st.sampled_from(EVERY_STORY), data=st.data())
def test_after_an_erasure_no_copy_of_the_persons_values_is_left_and_every_case_verifies(
    store_kind: str, request: pytest.FixtureRequest, story: Story, data: st.DataObject
) -> None:
    binary = require_nats_binary()
    server = request.getfixturevalue("postgres_server") if store_kind == "postgres" else None
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        var = Path(folder) / "var"
        var.mkdir()
        if server is None:
            store = f"sqlite:///{var / 'casework.db'}"
        else:
            store = stack.enter_context(fresh_database(server))
        with logs_into(var / "casework.log"), NatsServer(var / "nats", binary=binary) as nats:
            app = tell(story, store)
            with app:
                candidates = [p for p in people_of(story) if export(app, app.privacy, p).facts]
                assert candidates, f"{story.title}: nobody's personal data was recorded"
                person = data.draw(st.sampled_from(candidates), label="person")
                values = sorted(
                    {
                        f.value
                        for f in export(app, app.privacy, person).facts
                        if len(f.value) >= SHORTEST
                    }
                )
                assert values
                assert contacts_of(story, person) <= set(values)
                asyncio.run(Relay(app, nats.url).run_once())
                feed_read_models(app, var)
                anchors = {r.case_id: Anchor(r.events, r.head) for r in app.verify_all()}
                assert all(r.ok for r in app.verify_all())

                erase(app, app.privacy, person, DPO, "PIPL art. 47 request")
                asyncio.run(Relay(app, nats.url).run_once())  # the erasure's own file too
                feed_read_models(app, var)

                for case_id, anchor in anchors.items():
                    result = app.verify(case_id, anchor)
                    assert result.ok, result.describe()
                after = export(app, app.privacy, person)
                assert after.erasures
                assert {f.value for f in after.facts} == {"[erased]"}
                messages = asyncio.run(stream_bodies(nats.url))
                assert messages
                leaked = {
                    f"stream message {n}": hit
                    for n, body in enumerate(messages)
                    if (hit := found_in(body, values))
                }
                assert not leaked, leaked
        leaked = {
            str(path.relative_to(var)): hit
            for path in files_under(var)
            if (hit := found_in(path.read_bytes(), values))
        }
        assert not leaked, f"{story.title}, {person}: {leaked}"
        # Not vacuous: the nats files, the read models and the log were there to be searched.
        names = {p.name for p in files_under(var)}
        assert {"intake.db", "mediation.db", "casework.log"} <= names
        assert ("casework.db" in names) is (server is None)
        assert any(p.suffix == ".blk" for p in files_under(var / "nats"))


@pytest.mark.parametrize("story", EVERY_STORY, ids=lambda story: story.title)
def test_every_story_gives_its_reporter_a_contact_the_export_shows(story: Story) -> None:
    """So the property above covers contacts: each story has a reporter with one, recorded."""
    reporters = [p for p in people_of(story) if contacts_of(story, p)]
    assert reporters, f"{story.title}: no report step gives a contact"
    with tell(story, "sqlite:///:memory:") as app:
        for person in reporters:
            shown = {
                f.value for f in export(app, app.privacy, person).facts if f.field == "contact"
            }
            assert shown == contacts_of(story, person)


def test_the_search_finds_a_value_kept_in_either_shape(tmp_path: Path) -> None:
    value = "厨房水龙头一直滴水，打 13812345678"
    (tmp_path / "plain.txt").write_bytes(f"x {value} y".encode())
    (tmp_path / "row.json").write_text(json.dumps({"description": value}), encoding="ascii")
    (tmp_path / "other.txt").write_bytes("厨房".encode())
    hits = {p.name: found_in(p.read_bytes(), [value]) for p in files_under(tmp_path)}
    assert hits == {"other.txt": [], "plain.txt": [value], "row.json": [value]}
