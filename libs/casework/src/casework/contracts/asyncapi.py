"""The AsyncAPI 3 document of the CASEWORK stream, generated from the contract models.

Committed as docs/asyncapi.json (`casework asyncapi --library --out docs/asyncapi.json`: the
library's own kinds; without `--library`, every kind installed); a test fails when
the committed file no longer matches the models, so the document cannot drift from the code.
Header names come from the constants the relay, the consumer toolkit and the dead-letter office
use, so renaming one changes the document (and its test, against what the code really sends).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from eventsourcing.utils import resolve_topic
from pydantic.json_schema import models_json_schema

from casework.contracts.envelope import CaseEvent
from casework.contracts.mapping import MODELS_BY_TOPIC
from casework.contracts.registry import type_name
from casework.kinds.registry import Kind, kind_named, kinds
from casework.messaging.dead_letter import (
    DLQ_HEADERS,
    DLQ_PREFIX,
    DLQ_STREAM,
    ERROR_LIMIT,
    HEADER_DLQ_DELIVERIES,
    HEADER_DLQ_ERROR,
    HEADER_DLQ_REASON,
    HEADER_DLQ_SEQUENCE,
    HEADER_DLQ_SERVICE,
    HEADER_DLQ_STREAM,
    HEADER_DLQ_SUBJECT,
    HEADER_PREFIX,
    HEADER_REPLAY_FOR,
    HEADER_REPLAY_OF,
    Reason,
    dead_letter_subject,
)
from casework.messaging.subjects import (
    HEADER_MSG_ID,
    HEADER_NOTIFICATION_ID,
    HEADER_RELAY_AFTER,
    HEADER_TIER,
)
from casework.privacy.sealing import personal_fields

SCHEMAS = "#/components/schemas/{model}"

CLOUDEVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": (
        "CloudEvents 1.0 attributes in binary mode, plus NATS de-duplication. A dead letter put "
        f"back by `casework dlq replay` also carries {HEADER_REPLAY_FOR} and {HEADER_REPLAY_OF}, "
        f"and no {HEADER_NOTIFICATION_ID}."
    ),
    "required": [
        HEADER_MSG_ID,
        "ce-specversion",
        "ce-id",
        "ce-type",
        "ce-source",
        "ce-subject",
        "ce-time",
        HEADER_TIER,
    ],
    "properties": {
        HEADER_MSG_ID: {
            "type": "string",
            "description": (
                "= ce-id; JetStream drops a re-publish inside the duplicate window. On a replay: "
                "replay:<stream>:<sequence> of the dead letter"
            ),
        },
        "ce-specversion": {"type": "string", "const": "1.0"},
        "ce-id": {"type": "string", "description": "<case_id>:<version>, unique per event"},
        "ce-type": {"type": "string", "description": "contract name and version (= body.type)"},
        "ce-source": {"type": "string", "description": "/casework/<community>/<compound>"},
        "ce-subject": {"type": "string", "description": "the case id"},
        "ce-time": {"type": "string", "format": "date-time"},
        "ce-datacontenttype": {"type": "string", "const": "application/json"},
        HEADER_TIER: {
            "type": "string",
            "enum": ["building", "compound", "community"],
            "description": "the rung the case was at when the event happened",
        },
        HEADER_NOTIFICATION_ID: {
            "type": "string",
            "description": (
                "position in the store's notification log (the relay reads what the stream "
                "holds from it); on every message the relay publishes, never on a replay"
            ),
        },
        HEADER_RELAY_AFTER: {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": (
                "the relay's position when it published the message: every case event up to "
                "this notification id was on the stream then (where a restarted relay goes on "
                "from). Bookkeeping of the relay's; a consumer needs do nothing with it. On "
                "every message the relay publishes; a replay keeps its original's"
            ),
        },
        HEADER_REPLAY_FOR: {
            "type": "string",
            "description": (
                "Optional; only on a dead letter put back by `casework dlq replay`: the one "
                "service meant to handle it (the service whose dead letter it was). Every "
                "service's consumer receives the replay; a consumer handles it only when this "
                "names its own service, and otherwise acks it and does nothing. The named "
                "service meets it at a new stream sequence, so it is handled as a new message: "
                "handlers act on the case's state, not on the message's arrival. Absent: an "
                "ordinary event, for every consumer."
            ),
        },
        HEADER_REPLAY_OF: {
            "type": "string",
            "description": (
                "Optional; only on a replay, with Casework-Replay-For: <stream>#<sequence> of "
                "the dead letter it was put back from, to trace the event to the letter. A "
                "consumer needs do nothing with it; the relay skips such messages when it "
                "looks for its position."
            ),
        },
    },
    "if": {"required": [HEADER_REPLAY_FOR]},
    "then": {
        "required": [HEADER_REPLAY_OF],
        "not": {"required": [HEADER_NOTIFICATION_ID]},
    },
    "else": {"required": [HEADER_NOTIFICATION_ID]},
}
"""The headers of a case event: as the relay publishes it, or as a replay puts it back."""

REASONS = {
    Reason.MALFORMED: "malformed: could not be read (bad JSON, unknown type, wrong schema), "
    "filed at once",
    Reason.FAILED: "failed: the service's handler raised on every one of its attempts",
}

DEAD_LETTER_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": (
        f"The original message's headers as they were (its ce-* attributes, {HEADER_TIER}, "
        f"{HEADER_NOTIFICATION_ID}, but not its Nats-* headers), plus these {HEADER_PREFIX}* "
        "headers saying why the service gave up on it and where it came from."
    ),
    "required": [*DLQ_HEADERS, HEADER_MSG_ID],
    "properties": {
        HEADER_DLQ_SERVICE: {
            "type": "string",
            "description": "the service that gave up on it (= the subject's last token)",
        },
        HEADER_DLQ_REASON: {
            "type": "string",
            "enum": [reason.value for reason in Reason],
            "description": "; ".join(REASONS[reason] for reason in Reason),
        },
        HEADER_DLQ_ERROR: {
            "type": "string",
            "description": f"the error on one line, cut at {ERROR_LIMIT} characters",
        },
        HEADER_DLQ_DELIVERIES: {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "how many times the original was delivered before it was filed",
        },
        HEADER_DLQ_STREAM: {
            "type": "string",
            "description": "the stream the original came from, e.g. CASEWORK",
        },
        HEADER_DLQ_SEQUENCE: {
            "type": "string",
            "pattern": "^[0-9]+$",
            "description": "the original's sequence in that stream",
        },
        HEADER_DLQ_SUBJECT: {
            "type": "string",
            "description": "the original's subject: where `casework dlq replay` puts it back",
        },
        HEADER_MSG_ID: {
            "type": "string",
            "description": (
                "<service>:<stream>:<sequence>: a consumer that files the same message twice "
                "(it died before acking) stores it once"
            ),
        },
    },
    "additionalProperties": {
        "type": "string",
        "description": "a header of the original message, kept as it was",
    },
}

PLACE_PARAMETERS = {
    "community": {"description": "community (社区) slug, e.g. jiayu-xx"},
    "compound": {"description": "compound (小区) slug, e.g. wanxin-intl"},
}


PERSONAL_NOTE = (
    "Personal data: carried sealed (`sealed:v1:<key id>:<nonce>:<ciphertext>`, AES-256-GCM "
    "under the key of the person it is about), never in plaintext; a consumer that needs it "
    "opens it with `casework.privacy` and the store's key table. Reads `[erased]` once the "
    "person was erased (docs/adr/011-personal-data.md)."
)


def mark_personal(schemas: dict[str, Any]) -> None:
    """`x-personal: true` on every payload field its domain event declares personal."""
    for topic, model in MODELS_BY_TOPIC.items():
        if model.__name__ not in schemas:
            continue  # a kind left out of this document
        declared = personal_fields(resolve_topic(topic))
        properties = schemas.get(model.__name__, {}).get("properties", {})
        for name in declared:
            if name in properties:
                properties[name]["x-personal"] = True
                properties[name]["description"] = PERSONAL_NOTE


def _parts(model: type[CaseEvent]) -> tuple[str, str]:
    _, kind, event, _version = type_name(model).split(".")
    return kind, event


def chosen(names: Sequence[str] | None = None) -> tuple[Kind, ...]:
    """The kinds named (KindError for one not registered), or every registered kind."""
    return kinds() if names is None else tuple(kind_named(name) for name in names)


def asyncapi_document(names: Sequence[str] | None = None) -> dict[str, Any]:
    """The document for the kinds named (`casework asyncapi --kind`), or for every registered
    kind. docs/asyncapi.json is the library's own: `--kind repair --kind leak --kind dispute`."""
    documented = chosen(names)
    models = [model for kind in documented for model in kind.contracts]
    described = ", ".join(f"{kind.title} {kind.label}" for kind in documented)
    _, top = models_json_schema([(model, "validation") for model in models], ref_template=SCHEMAS)
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    mark_personal(schemas)
    schemas["CloudEventHeaders"] = CLOUDEVENT_HEADERS
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for model in models:
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
            "summary": (
                "The relay publishes each such event once, in case order; `casework dlq replay` "
                f"may put one back later for one service alone ({HEADER_REPLAY_FOR})."
            ),
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"}],
        }
    schemas["DeadLetterHeaders"] = DEAD_LETTER_HEADERS
    messages["DeadLetter"] = {
        "name": DLQ_PREFIX,
        "title": "DeadLetter",
        "summary": "A message one service gave up on, with why, kept for an operator.",
        "description": (
            "The original message, body untouched and headers kept, plus "
            f"{HEADER_PREFIX}* headers. An operator reads it (`casework dlq list`, `show`), "
            "fixes the cause and puts it back with `casework dlq replay`: the original body "
            "and headers go back on the original subject with "
            f"{HEADER_REPLAY_FOR}: <service> and {HEADER_REPLAY_OF}: <stream>#<sequence> "
            "(see CloudEventHeaders), and the letter is deleted."
        ),
        "headers": {"$ref": SCHEMAS.format(model="DeadLetterHeaders")},
        "payload": {
            "description": (
                "the original message's body, byte for byte: usually a case event's JSON, but "
                "a malformed message is filed as it came, so it may be anything"
            )
        },
    }
    channels["dlq"] = {
        "address": dead_letter_subject("{service}"),
        "title": "dead letters of one consuming service",
        "description": (
            "Messages a service could not handle (malformed, unknown type, or failing after "
            "bounded retries), with the error and the original message. Written by the consumer "
            f"toolkit (casework.messaging.consumer), kept in the stream {DLQ_STREAM} (or "
            "CASEWORK where that stream takes all of casework.>). Services consume case events "
            "only (casework.*.*.*.*), never dead letters."
        ),
        "parameters": {
            "service": {
                "description": "the consuming service, e.g. dispatch",
                "examples": ["intake", "dispatch", "mediation"],
            }
        },
        "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
    }
    operations["file.dlq"] = {
        "action": "send",
        "summary": (
            "A service's consumer files a message it gives up on (malformed: at once; failed: "
            "after its last allowed delivery), then acks the original."
        ),
        "channel": {"$ref": "#/channels/dlq"},
        "messages": [{"$ref": "#/channels/dlq/messages/DeadLetter"}],
    }
    operations["read.dlq"] = {
        "action": "receive",
        "summary": (
            "`casework dlq list|show|replay` read the letters from their stream by sequence "
            "(nothing is consumed); a replay publishes the original back on its case subject, "
            "then deletes the letter."
        ),
        "channel": {"$ref": "#/channels/dlq"},
        "messages": [{"$ref": "#/channels/dlq/messages/DeadLetter"}],
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Casework case events",
            "version": "1.0.0",
            "description": (
                f"Every fact recorded in a case file ({described}), published by the relay "
                "to the JetStream stream CASEWORK (subjects casework.>). Body: the JSON of "
                "the contract model in "
                "casework.contracts; headers: CloudEvents attributes. Subjects: "
                "casework.<kind>.<event>.<community>.<compound> (docs/adr/003-subjects.md); "
                "dead letters: casework.dlq.<service> (docs/adr/004-exactly-once-consumers.md)."
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


def render(names: Sequence[str] | None = None) -> str:
    return json.dumps(asyncapi_document(names), indent=2, ensure_ascii=False) + "\n"
