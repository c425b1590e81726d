"""The AsyncAPI 3 document of the CASEWORK stream, generated from the contract models.

Committed as docs/asyncapi.json (`casework asyncapi --out docs/asyncapi.json`); a test fails when
the committed file no longer matches the models, so the document cannot drift from the code.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic.json_schema import models_json_schema

from casework.contracts.envelope import CaseEvent
from casework.contracts.events import EVENT_MODELS
from casework.contracts.registry import type_name

SCHEMAS = "#/components/schemas/{model}"

CLOUDEVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes in binary mode, plus NATS de-duplication.",
    "required": [
        "Nats-Msg-Id",
        "ce-specversion",
        "ce-id",
        "ce-type",
        "ce-source",
        "ce-subject",
        "ce-time",
        "Casework-Tier",
        "Casework-Notification-Id",
    ],
    "properties": {
        "Nats-Msg-Id": {
            "type": "string",
            "description": "= ce-id; JetStream drops a re-publish inside the duplicate window",
        },
        "ce-specversion": {"type": "string", "const": "1.0"},
        "ce-id": {"type": "string", "description": "<case_id>:<version>, unique per event"},
        "ce-type": {"type": "string", "description": "contract name and version (= body.type)"},
        "ce-source": {"type": "string", "description": "/casework/<community>/<compound>"},
        "ce-subject": {"type": "string", "description": "the case id"},
        "ce-time": {"type": "string", "format": "date-time"},
        "ce-datacontenttype": {"type": "string", "const": "application/json"},
        "Casework-Tier": {
            "type": "string",
            "enum": ["building", "compound", "community"],
            "description": "the rung the case was at when the event happened",
        },
        "Casework-Notification-Id": {
            "type": "string",
            "description": "position in the store's notification log (the relay resumes here)",
        },
    },
}

PLACE_PARAMETERS = {
    "community": {"description": "community (社区) slug, e.g. jiayu-xx"},
    "compound": {"description": "compound (小区) slug, e.g. wanxin-intl"},
}


def _parts(model: type[CaseEvent]) -> tuple[str, str]:
    _, kind, event, _version = type_name(model).split(".")
    return kind, event


def asyncapi_document() -> dict[str, Any]:
    _, top = models_json_schema(
        [(model, "validation") for model in EVENT_MODELS], ref_template=SCHEMAS
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    schemas["CloudEventHeaders"] = CLOUDEVENT_HEADERS
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for model in EVENT_MODELS:
        kind, event = _parts(model)
        name = model.__name__
        channel_id = f"{kind}.{event}"
        messages[name] = {
            "name": type_name(model),
            "title": name,
            "summary": f"A {kind} case: {event.replace('_', ' ')}.",
            "contentType": "application/json",
            "headers": {"$ref": SCHEMAS.format(model="CloudEventHeaders")},
            "payload": {"$ref": SCHEMAS.format(model=name)},
        }
        channels[channel_id] = {
            "address": f"casework.{kind}.{event}.{{community}}.{{compound}}",
            "title": f"{kind} {event.replace('_', ' ')}",
            "parameters": PLACE_PARAMETERS,
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        operations[f"publish.{channel_id}"] = {
            "action": "send",
            "summary": "The relay publishes each such event once, in case order.",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"}],
        }
    channels["dlq"] = {
        "address": "casework.dlq.{service}",
        "title": "dead letters of one consuming service",
        "description": (
            "Messages a service could not handle (malformed, unknown type, or failing after "
            "bounded retries), with the error and the original message. Written by the consumer "
            "toolkit (casework.messaging.consumer)."
        ),
        "parameters": {"service": {"description": "the consuming service, e.g. dispatch"}},
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Casework case events",
            "version": "1.0.0",
            "description": (
                "Every fact recorded in a case file (repair 报修, leak emergency 漏水应急, "
                "dispute 矛盾纠纷), published by the relay to the JetStream stream CASEWORK "
                "(subjects casework.>). Body: the JSON of the contract model in "
                "casework.contracts; headers: CloudEvents attributes. Subjects: "
                "casework.<kind>.<event>.<community>.<compound> (docs/adr/003-subjects.md)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "NATS_URL, or the embedded nats-server `casework relay` starts",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return json.dumps(asyncapi_document(), indent=2, ensure_ascii=False) + "\n"
