"""Where a service puts the messages it gave up on: `casework.dlq.<service>`.

A dead letter is the original message, body untouched and headers kept, plus `Casework-Dlq-*`
headers saying why (malformed or failed), the error, how often it was delivered, and where it
came from (stream, sequence, subject), so that someone can read it, fix the cause and re-publish
it as it was. Dead letters are kept in their own JetStream stream, `CASEWORK_DLQ`, or, where
the relay's `CASEWORK` stream (`casework.>`) already captures them, there; either way a service
filters on case-event subjects (`subjects.EVENTS`), so it never consumes a dead letter and a bad
message cannot go round for ever.

Publishing carries `Nats-Msg-Id` = service + stream + sequence, so a consumer that dies between
dead-lettering a message and acking it, and meets it again, does not file it twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from casework.messaging.subjects import DLQ, HEADER_MSG_ID

DLQ_STREAM = "CASEWORK_DLQ"
DLQ_PREFIX = DLQ
HEADER_PREFIX = "Casework-Dlq-"
HEADER_DLQ_SERVICE = f"{HEADER_PREFIX}Service"
"""The service that gave up on the message (also the last token of the letter's subject)."""
HEADER_DLQ_REASON = f"{HEADER_PREFIX}Reason"
"""A `Reason` value: `malformed` or `failed`."""
HEADER_DLQ_ERROR = f"{HEADER_PREFIX}Error"
"""The error on one line (`one_line`), cut at `ERROR_LIMIT` characters."""
HEADER_DLQ_DELIVERIES = f"{HEADER_PREFIX}Deliveries"
"""How many times the original was delivered to the service before it gave up."""
HEADER_DLQ_STREAM = f"{HEADER_PREFIX}Stream"
"""The stream the original came from."""
HEADER_DLQ_SEQUENCE = f"{HEADER_PREFIX}Sequence"
"""The original's sequence in that stream."""
HEADER_DLQ_SUBJECT = f"{HEADER_PREFIX}Subject"
"""The original's subject: where `casework dlq replay` puts it back."""
DLQ_HEADERS = (
    HEADER_DLQ_SERVICE,
    HEADER_DLQ_REASON,
    HEADER_DLQ_ERROR,
    HEADER_DLQ_DELIVERIES,
    HEADER_DLQ_STREAM,
    HEADER_DLQ_SEQUENCE,
    HEADER_DLQ_SUBJECT,
)
"""Every header a dead letter adds to the original's; all of them on every letter."""
HEADER_REPLAY_FOR = "Casework-Replay-For"
"""On a replayed dead letter: the one service meant to handle it (the others ack and skip it)."""
HEADER_REPLAY_OF = "Casework-Replay-Of"
"""On a replayed dead letter: `<stream>#<sequence>` of the letter it was put back from."""
ERROR_LIMIT = 2000
"""Header values are single lines; a long traceback is cut, the first line is what matters."""


class Reason(StrEnum):
    MALFORMED = "malformed"
    """Not a message we can read (bad JSON, unknown type, wrong schema): retrying cannot help."""
    FAILED = "failed"
    """The handler raised on every one of its allowed attempts."""


def dead_letter_subject(service: str) -> str:
    if not service or any(c in service for c in ".*> \t\r\n"):
        raise ValueError(f"service name {service!r} must be one subject token")
    return f"{DLQ_PREFIX}.{service}"


@dataclass(frozen=True)
class DeadLetter:
    """A dead letter as read back from the DLQ stream (for operators and tests)."""

    service: str
    reason: Reason
    error: str
    deliveries: int
    stream: str
    sequence: int
    subject: str
    headers: dict[str, str]
    body: bytes

    @classmethod
    def from_msg(cls, msg: Msg) -> DeadLetter:
        return cls.from_parts(msg.headers, msg.data)

    @classmethod
    def from_parts(cls, headers_in: Mapping[str, str] | None, body: bytes | None) -> DeadLetter:
        """From a stored message's headers and body; KeyError/ValueError if it is no letter."""
        headers = dict(headers_in or {})
        original = {k: v for k, v in headers.items() if not k.startswith(HEADER_PREFIX)}
        original.pop(HEADER_MSG_ID, None)
        return cls(
            service=headers[HEADER_DLQ_SERVICE],
            reason=Reason(headers[HEADER_DLQ_REASON]),
            error=headers[HEADER_DLQ_ERROR],
            deliveries=int(headers[HEADER_DLQ_DELIVERIES]),
            stream=headers[HEADER_DLQ_STREAM],
            sequence=int(headers[HEADER_DLQ_SEQUENCE]),
            subject=headers[HEADER_DLQ_SUBJECT],
            headers=original,
            body=body or b"",
        )


def one_line(text: str, limit: int = ERROR_LIMIT) -> str:
    flat = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


async def ensure_dead_letter_stream(js: JetStreamContext) -> None:
    """Create `CASEWORK_DLQ` (subjects `casework.dlq.>`) unless a stream already stores dead
    letters (the relay's CASEWORK, `casework.>`, does); idempotent.

    Asks which stream stores them first: a service's NATS user may look, not create streams
    (`nats_users`), so where the relay's stream exists this must not try to.
    """
    try:
        await js.find_stream_name_by_subject(f"{DLQ_PREFIX}.probe")
        return
    except NotFoundError:
        pass
    try:
        await js.add_stream(StreamConfig(name=DLQ_STREAM, subjects=[f"{DLQ_PREFIX}.>"]))
    except BadRequestError:
        # Made meanwhile (by the relay, or another replica): it must store them now.
        await js.find_stream_name_by_subject(f"{DLQ_PREFIX}.probe")


async def publish_dead_letter(
    js: JetStreamContext,
    service: str,
    msg: Msg,
    reason: Reason,
    error: str,
    *,
    timeout: float = 5.0,
) -> None:
    """File `msg` under `casework.dlq.<service>`; returns only once JetStream has stored it."""
    meta = msg.metadata
    headers = letter_headers(
        msg.headers or {},
        service=service,
        reason=reason,
        error=error,
        deliveries=meta.num_delivered,
        stream=meta.stream,
        sequence=meta.sequence.stream,
        subject=msg.subject,
    )
    await js.publish(
        dead_letter_subject(service),
        msg.data,
        headers=headers,
        timeout=timeout,
    )


def letter_headers(
    original: Mapping[str, str],
    *,
    service: str,
    reason: Reason,
    error: str,
    deliveries: int,
    stream: str,
    sequence: int,
    subject: str,
) -> dict[str, str]:
    """A dead letter's headers: the original's (but its `Nats-*`), then why and whence.

    Apart from `publish_dead_letter` so that the AsyncAPI document can be checked against what
    a letter really carries.
    """
    headers = {k: v for k, v in original.items() if not k.startswith("Nats-")}
    headers.update(
        {
            HEADER_DLQ_SERVICE: service,
            HEADER_DLQ_REASON: reason.value,
            HEADER_DLQ_ERROR: one_line(error) or "(no message)",
            HEADER_DLQ_DELIVERIES: str(deliveries),
            HEADER_DLQ_STREAM: stream,
            HEADER_DLQ_SEQUENCE: str(sequence),
            HEADER_DLQ_SUBJECT: subject,
            HEADER_MSG_ID: f"{service}:{stream}:{sequence}",
        }
    )
    return headers
