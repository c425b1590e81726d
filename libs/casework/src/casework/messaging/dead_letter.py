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

DLQ_STREAM = "CASEWORK_DLQ"
DLQ_PREFIX = "casework.dlq"
HEADER_PREFIX = "Casework-Dlq-"
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
        meta = {
            k.removeprefix(HEADER_PREFIX): v
            for k, v in headers.items()
            if k.startswith(HEADER_PREFIX)
        }
        original = {k: v for k, v in headers.items() if not k.startswith(HEADER_PREFIX)}
        original.pop("Nats-Msg-Id", None)
        return cls(
            service=meta["Service"],
            reason=Reason(meta["Reason"]),
            error=meta["Error"],
            deliveries=int(meta["Deliveries"]),
            stream=meta["Stream"],
            sequence=int(meta["Sequence"]),
            subject=meta["Subject"],
            headers=original,
            body=body or b"",
        )


def one_line(text: str, limit: int = ERROR_LIMIT) -> str:
    flat = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


async def ensure_dead_letter_stream(js: JetStreamContext) -> None:
    """Create `CASEWORK_DLQ` (subjects `casework.dlq.>`) unless it exists; idempotent."""
    try:
        await js.stream_info(DLQ_STREAM)
    except NotFoundError:
        try:
            await js.add_stream(StreamConfig(name=DLQ_STREAM, subjects=[f"{DLQ_PREFIX}.>"]))
        except BadRequestError:
            # The relay's CASEWORK stream (`casework.>`) already captures `casework.dlq.>`:
            # dead letters are stored there. Anything else is a real error.
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
    headers = {k: v for k, v in (msg.headers or {}).items() if not k.startswith("Nats-")}
    headers.update(
        {
            f"{HEADER_PREFIX}Service": service,
            f"{HEADER_PREFIX}Reason": reason.value,
            f"{HEADER_PREFIX}Error": one_line(error) or "(no message)",
            f"{HEADER_PREFIX}Deliveries": str(meta.num_delivered),
            f"{HEADER_PREFIX}Stream": meta.stream,
            f"{HEADER_PREFIX}Sequence": str(meta.sequence.stream),
            f"{HEADER_PREFIX}Subject": msg.subject,
            "Nats-Msg-Id": f"{service}:{meta.stream}:{meta.sequence.stream}",
        }
    )
    await js.publish(
        dead_letter_subject(service),
        msg.data,
        headers=headers,
        timeout=timeout,
    )
