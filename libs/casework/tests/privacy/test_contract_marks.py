"""The AsyncAPI document marks exactly the fields the domain declares personal."""

from __future__ import annotations

from casework.contracts.asyncapi import asyncapi_document
from casework.contracts.mapping import MODELS_BY_TOPIC
from casework.privacy.sealing import personal_fields
from eventsourcing.utils import resolve_topic


def test_every_declared_personal_field_and_no_other_is_marked_x_personal() -> None:
    schemas = asyncapi_document()["components"]["schemas"]
    declared = {
        (model.__name__, name)
        for topic, model in MODELS_BY_TOPIC.items()
        for name in personal_fields(resolve_topic(topic))
    }
    marked = {
        (schema_name, name)
        for schema_name, schema in schemas.items()
        for name, field in schema.get("properties", {}).items()
        if field.get("x-personal") is True
    }
    assert declared  # the dispute's stated positions at least
    assert marked == declared
