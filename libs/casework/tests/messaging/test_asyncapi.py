"""The committed AsyncAPI document is the one the contract models generate."""

from __future__ import annotations

import json
from pathlib import Path

from casework.cli import main
from casework.contracts import EVENT_MODELS, type_name
from casework.contracts.asyncapi import asyncapi_document, render

COMMITTED = Path(__file__).resolve().parents[4] / "docs" / "asyncapi.json"


def test_the_committed_asyncapi_document_is_up_to_date() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "docs/asyncapi.json is stale: run `uv run casework asyncapi --out docs/asyncapi.json`"
    )


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
