"""What an operator does with dead letters: read them, and put them back once the cause is fixed.

The letters are read straight from the stream that holds `casework.dlq.>` (`CASEWORK_DLQ`, or
`CASEWORK` where the relay's stream takes all of `casework.>`), by stream sequence, so listing
them consumes nothing and changes nothing.

A replay publishes the original message again, on its original subject, with its body and the
headers consumers read (`ce-*`, `Casework-Tier`), and:

- a NEW `Nats-Msg-Id`, `replay:<stream>:<seq>` of the letter: new to the duplicate window, so
  JetStream stores it, but the same for every replay of that one letter, so two operators
  replaying it at once (or a retry after a lost ack) store it once;
- `Casework-Replay-For: <service>`: every service's consumer sees the subject, but only the
  service that gave up on it handles it; the others ack it untouched;
- no `Casework-Notification-Id`: the relay reads its position from that header on the last case
  event of the stream, and an old id there would send it back to re-publish events;
- `Casework-Replay-Of: <stream>#<seq>`, so the case event and the letter can be traced.

The replay lands at a new stream sequence, so to the consumer's exactly-once tracking (one
record per service and sequence) it is a new message: the handler runs again. That is safe
because a dead-lettered message's handler never committed anything (its effects and its tracking
record commit together or not at all), and the services' handlers act on the case's state, not
on the event's arrival (ADR 004, "Replaying dead letters").

Only after JetStream confirmed the publish is the letter deleted from its stream, so a failed
publish leaves it where it was; a letter that is gone cannot be replayed a second time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import APIError, NotFoundError

from casework.domain.errors import CaseworkError
from casework.messaging.dead_letter import (
    DLQ_PREFIX,
    DLQ_STREAM,
    HEADER_PREFIX,
    HEADER_REPLAY_FOR,
    HEADER_REPLAY_OF,
    DeadLetter,
    dead_letter_subject,
)
from casework.messaging.subjects import HEADER_MSG_ID, HEADER_NOTIFICATION_ID

NO_MESSAGE_FOUND = 10057
"""JetStream's error code for deleting a sequence the stream does not hold."""


class NoSuchDeadLetterError(CaseworkError):
    """The sequence names no dead letter (never was one, or already replayed or removed)."""


@dataclass(frozen=True)
class Filed:
    """A dead letter where it is kept: its stream, sequence and when it was filed.

    `letter` is None for a message on a dead-letter subject that lacks the `Casework-Dlq-*`
    headers (published by hand): it is listed, never replayed.
    """

    stream: str
    seq: int
    subject: str
    time: datetime | None
    letter: DeadLetter | None
    headers: dict[str, str]
    body: bytes

    @property
    def service(self) -> str:
        return self.subject.removeprefix(f"{DLQ_PREFIX}.")

    @classmethod
    def from_raw(cls, stream: str, raw: RawStreamMsg) -> Filed:
        headers = {str(k): str(v) for k, v in (raw.headers or {}).items()}
        try:
            letter: DeadLetter | None = DeadLetter.from_parts(headers, raw.data)
        except (KeyError, ValueError):
            letter = None
        return cls(
            stream=stream,
            seq=raw.seq or 0,
            subject=raw.subject or "",
            time=raw.time,
            letter=letter,
            headers=headers,
            body=raw.data or b"",
        )


@dataclass(frozen=True)
class Replayed:
    letter_seq: int
    subject: str
    stream: str
    seq: int
    """Where the replayed message now is (a new sequence, so a new message to the consumers)."""
    duplicate: bool
    """JetStream had it already: this letter was replayed before but not yet removed."""


async def dead_letter_stream(js: JetStreamContext) -> str | None:
    """The stream that keeps dead letters, or None when there is none (so there are none)."""
    try:
        await js.stream_info(DLQ_STREAM)
        return DLQ_STREAM
    except NotFoundError:
        pass
    try:
        return await js.find_stream_name_by_subject(f"{DLQ_PREFIX}.any")
    except NotFoundError:
        return None


async def list_letters(js: JetStreamContext, service: str | None = None) -> list[Filed]:
    """Every dead letter (of `service`), oldest first."""
    stream = await dead_letter_stream(js)
    if stream is None:
        return []
    subject = dead_letter_subject(service) if service else f"{DLQ_PREFIX}.>"
    found: list[Filed] = []
    seq = 1
    while True:
        try:
            raw = await js.get_msg(stream, seq=seq, subject=subject, next=True)
        except NotFoundError:
            return found
        found.append(Filed.from_raw(stream, raw))
        seq = (raw.seq or seq) + 1


async def get_letter(js: JetStreamContext, seq: int) -> Filed:
    """The dead letter at stream sequence `seq`; NoSuchDeadLetterError if there is none."""
    stream = await dead_letter_stream(js)
    if stream is None:
        raise NoSuchDeadLetterError("there are no dead letters (no stream keeps casework.dlq.>)")
    if seq < 1:
        raise NoSuchDeadLetterError(f"no dead letter {seq}: sequences start at 1")
    try:
        raw = await js.get_msg(stream, seq=seq)
    except NotFoundError:
        raise NoSuchDeadLetterError(
            f"no message {seq} in stream {stream} (never was, or replayed and removed); "
            "`casework dlq list` shows the dead letters"
        ) from None
    if not (raw.subject or "").startswith(f"{DLQ_PREFIX}."):
        raise NoSuchDeadLetterError(
            f"message {seq} of stream {stream} is on {raw.subject}, not a dead letter; "
            "`casework dlq list` shows the dead letters"
        )
    return Filed.from_raw(stream, raw)


def replay_headers(filed: Filed) -> dict[str, str]:
    """The original headers consumers read, marked as a replay for the letter's service."""
    assert filed.letter is not None
    headers = {
        k: v
        for k, v in filed.letter.headers.items()
        if not k.startswith(("Nats-", HEADER_PREFIX)) and k != HEADER_NOTIFICATION_ID
    }
    headers[HEADER_REPLAY_FOR] = filed.letter.service
    headers[HEADER_REPLAY_OF] = f"{filed.stream}#{filed.seq}"
    headers[HEADER_MSG_ID] = f"replay:{filed.stream}:{filed.seq}"
    return headers


async def replay(js: JetStreamContext, filed: Filed, *, timeout: float = 5.0) -> Replayed:
    """Publish the letter's original message again, then remove the letter.

    If the publish fails the error propagates and the letter stays. If the removal fails after a
    good publish, the error propagates too (the message IS back): replaying the letter again
    within the duplicate window is then dropped by JetStream, so it is safe to retry at once.
    """
    letter = filed.letter
    if letter is None:
        raise NoSuchDeadLetterError(
            f"message {filed.seq} on {filed.subject} has no {HEADER_PREFIX}* headers: it was not "
            "filed by a consumer, so there is no original to replay"
        )
    ack = await js.publish(
        letter.subject, letter.body, headers=replay_headers(filed), timeout=timeout
    )
    try:
        await js.delete_msg(filed.stream, filed.seq)
    except APIError as error:
        if error.err_code != NO_MESSAGE_FOUND:
            raise
        # replayed by someone else at the same moment; JetStream kept one copy
    return Replayed(
        letter_seq=filed.seq,
        subject=letter.subject,
        stream=ack.stream,
        seq=ack.seq,
        duplicate=bool(ack.duplicate),
    )


def summary(filed: Filed) -> str:
    """One line: seq, service, when, reason (error class), original subject, ce-type, case id."""
    when = filed.time.isoformat(timespec="seconds") if filed.time else "?"
    letter = filed.letter
    if letter is None:
        return f"{filed.seq}\t{filed.service}\t{when}\tunreadable (no {HEADER_PREFIX}* headers)"
    return "\t".join(
        (
            str(filed.seq),
            letter.service,
            when,
            f"{letter.reason.value} ({error_class(letter.error)})",
            letter.subject,
            letter.headers.get("ce-type", "-"),
            letter.headers.get("ce-subject", "-"),
        )
    )


def error_class(error: str) -> str:
    """`ValueError` from `ValueError: unknown type ...`."""
    head = error.split(":", 1)[0].strip()
    return head if head and " " not in head else "error"


def describe(filed: Filed) -> Iterator[str]:
    """The letter for a person: where and why, every header, the original body."""
    yield f"dead letter {filed.seq} of stream {filed.stream}, subject {filed.subject}"
    if filed.time is not None:
        yield f"filed:      {filed.time.isoformat()}"
    letter = filed.letter
    if letter is not None:
        yield f"service:    {letter.service}"
        yield f"reason:     {letter.reason.value} after {letter.deliveries} delivery(ies)"
        yield f"error:      {letter.error}"
        yield f"original:   {letter.subject} (stream {letter.stream}, seq {letter.sequence})"
    yield "headers:"
    for key, value in sorted(filed.headers.items()):
        yield f"  {key}: {value}"
    yield "body:"
    yield filed.body.decode("utf-8", errors="backslashreplace")
