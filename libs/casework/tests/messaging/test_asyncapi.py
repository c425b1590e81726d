"""The committed AsyncAPI document is the one the contract models generate, and its headers are
the ones the code puts on messages."""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from casework import Casework, FakeClock
from casework.cli import main
from casework.contracts import EVENT_MODELS, CasePlace, to_contract, type_name
from casework.contracts.asyncapi import asyncapi_document, render
from casework.domain.case import Case
from casework.kinds.registry import BUILTIN, kind_names, kinds
from casework.messaging.dead_letter import (
    DLQ_HEADERS,
    DLQ_STREAM,
    HEADER_DLQ_REASON,
    HEADER_PREFIX,
    HEADER_REPLAY_FOR,
    HEADER_REPLAY_OF,
    DeadLetter,
    Reason,
    dead_letter_subject,
    letter_headers,
)
from casework.messaging.dead_letter_office import Filed, replay_headers
from casework.messaging.relay import envelope
from casework.messaging.relay_windows import stamped
from casework.messaging.subjects import (
    HEADER_MSG_ID,
    HEADER_NOTIFICATION_ID,
    HEADER_RELAY_AFTER,
    HEADER_TIER,
    STREAM,
)
from casework.testing.stories import repair_story
from hypothesis import given, settings
from hypothesis import strategies as st

COMMITTED = Path(__file__).resolve().parents[4] / "docs" / "asyncapi.json"
START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_the_committed_asyncapi_document_is_up_to_date() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(BUILTIN), (
        "docs/asyncapi.json is stale: run "
        "`uv run casework asyncapi --library --out docs/asyncapi.json`"
    )


def test_the_document_of_every_installed_kind_holds_the_librarys_and_each_kinds_models() -> None:
    document = asyncapi_document()
    library = asyncapi_document(BUILTIN)
    assert library["channels"].items() <= document["channels"].items()
    for kind in kinds():
        for model in kind.contracts:
            assert model.__name__ in document["components"]["messages"]
    assert kind_names()[:3] == BUILTIN


def test_the_cli_documents_the_kinds_named_and_refuses_an_unknown_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "asyncapi.json"
    assert main(["asyncapi", "--kind", "leak", "--out", str(out)]) == 0
    channels = json.loads(out.read_text(encoding="utf-8"))["channels"]
    assert {name.split(".")[0] for name in channels} == {"leak", "dlq"}
    assert main(["asyncapi", "--library", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8")
    assert main(["asyncapi", "--kind", "teleport"]) == 2
    assert "kind must be one of repair, leak, dispute" in capsys.readouterr().err


def test_the_document_names_every_message_with_its_subject_and_schema() -> None:
    document = asyncapi_document()
    assert document["asyncapi"].startswith("3.")
    messages = document["components"]["messages"]
    schemas = document["components"]["schemas"]
    for model in EVENT_MODELS:
        _, kind, event, _ = type_name(model).split(".")
        channel = document["channels"][f"{kind}.{event}"]
        assert channel["address"] == f"casework.{kind}.{event}.{{community}}.{{compound}}"
        assert messages[model.__name__]["name"] == type_name(model)
        assert schemas[model.__name__]["properties"]["type"]["const"] == type_name(model)
    assert document["channels"]["dlq"]["address"] == "casework.dlq.{service}"


def test_the_cli_writes_the_document(tmp_path: Path) -> None:
    out = tmp_path / "asyncapi.json"
    assert main(["asyncapi", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == asyncapi_document()


# ------------------------------------------------------------ headers against the code
#
# The header names in the document are checked against the constants and the functions the
# relay, the consumer toolkit and the dead-letter office use, on the committed file (what
# consumers read) and on the generated one: renaming a header in the code fails here.


@functools.cache
def _document(which: str) -> dict[str, Any]:
    if which == "committed":
        committed: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
        return committed
    return asyncapi_document(BUILTIN)


def _headers_schema(document: dict[str, Any], message: str) -> dict[str, Any]:
    ref = document["components"]["messages"][message]["headers"]["$ref"]
    schema: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


@functools.cache
def _relayed_headers() -> dict[str, str]:
    """The headers the relay puts on a real case event (the first of a repair story)."""
    clock = FakeClock(START)
    app = Casework("sqlite:///:memory:", clock=clock)
    repair_story(app, clock)
    notification = app.recorder.select_notifications(start=1, limit=1)[0]
    event = app.mapper.to_domain_event(notification)
    assert isinstance(event, Case.Opened)
    _subject, headers, _body = envelope(to_contract(event, CasePlace.of(event)), notification.id)
    return stamped(headers, after=notification.id - 1)  # as a window sends it


def _letter(service: str, reason: Reason, original: dict[str, str]) -> Filed:
    headers = letter_headers(
        original,
        service=service,
        reason=reason,
        error="RuntimeError: the store was down\n  traceback…",
        deliveries=5,
        stream=STREAM,
        sequence=42,
        subject="casework.repair.reported.jiayu-xx.wanxin-intl",
    )
    letter = DeadLetter.from_parts(headers, b"{}")
    return Filed(DLQ_STREAM, 7, dead_letter_subject(service), None, letter, headers, b"{}")


def _required(schema: dict[str, Any], headers: dict[str, str]) -> set[str]:
    """What the schema requires of these headers, its if/then/else followed."""
    required = set(schema["required"])
    if "if" in schema:
        branch = "then" if set(schema["if"]["required"]) <= set(headers) else "else"
        required |= set(schema[branch].get("required", []))
    return required


@pytest.mark.parametrize("which", ["committed", "generated"])
def test_the_case_event_headers_are_those_the_relay_and_a_replay_put_on_a_message(
    which: str,
) -> None:
    document = _document(which)
    schema = _headers_schema(document, EVENT_MODELS[0].__name__)
    documented = set(schema["properties"])
    for name in (HEADER_MSG_ID, HEADER_TIER, HEADER_NOTIFICATION_ID, HEADER_RELAY_AFTER):
        assert name in documented, name
    relayed = _relayed_headers()
    assert set(relayed) <= documented, sorted(set(relayed) - documented)
    assert _required(schema, relayed) <= set(relayed)
    assert HEADER_REPLAY_FOR not in schema["required"]
    assert HEADER_REPLAY_OF not in schema["required"]

    replayed = replay_headers(_letter("dispatch", Reason.FAILED, relayed))
    assert {HEADER_REPLAY_FOR, HEADER_REPLAY_OF} <= set(replayed) <= documented
    assert _required(schema, replayed) <= set(replayed)
    assert set(schema["then"]["not"]["required"]) == {HEADER_NOTIFICATION_ID}
    assert HEADER_NOTIFICATION_ID not in replayed
    assert "replay" in schema["properties"][HEADER_REPLAY_FOR]["description"]


@pytest.fixture(scope="module", params=["committed", "generated"])
def document(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Made before the examples run: a first example that also built the document (or the
    relayed headers' story) took longer than hypothesis's deadline on a loaded machine."""
    return _document(request.param)


@pytest.fixture(scope="module")
def relayed() -> dict[str, str]:
    return _relayed_headers()


@given(
    service=st.from_regex(r"[a-z][a-z0-9_-]{0,15}", fullmatch=True),
    reason=st.sampled_from(Reason),
)
@settings(max_examples=25)
def test_a_dead_letter_carries_exactly_the_documented_dlq_headers(
    document: dict[str, Any], relayed: dict[str, str], service: str, reason: Reason
) -> None:
    channel = document["channels"]["dlq"]
    assert channel["address"] == dead_letter_subject("{service}")
    assert "service" in channel["parameters"]
    assert set(channel["messages"]) == {"DeadLetter"}
    schema = _headers_schema(document, "DeadLetter")
    ours = {name for name in schema["properties"] if name.startswith(HEADER_PREFIX)}
    assert ours == set(DLQ_HEADERS)
    assert schema["properties"][HEADER_DLQ_REASON]["enum"] == [r.value for r in Reason]

    filed = _letter(service, reason, relayed)
    written = {name for name in filed.headers if name.startswith(HEADER_PREFIX)}
    assert written == ours
    assert _required(schema, filed.headers) <= set(filed.headers)
    for name, value in filed.headers.items():
        rule = schema["properties"].get(name, schema["additionalProperties"])
        assert value in rule.get("enum", [value]), name
        assert re.fullmatch(rule.get("pattern", ".*"), value), name
    assert filed.headers[HEADER_DLQ_REASON] == reason.value
    assert filed.subject == channel["address"].replace("{service}", service)
