"""NATS names in one place: the stream, its subjects, the headers the relay sets.

Subjects are lowercase, dot-separated, broad to narrow (docs/adr/003-subjects.md):

    casework.<kind>.<event>.<community>.<compound>   a case event, e.g.
    casework.leak.water_stopped.jiayu-xx.wanxin-intl
    casework.dlq.<service>                            dead letters of one service
    casework-log.checkpoints                          the notary's signed checkpoints

so a consumer filters by kind, event and place on the server (`casework.leak.*.*.*`,
`casework.*.*.jiayu-xx.wanxin-intl`), and `casework.*.*.*.*` is every case event and nothing else.
The tier changes during a case's life, so it travels as a header, not in the subject.
"""

from __future__ import annotations

import re

from casework.contracts import CaseEvent
from casework.transparency.checkpoints import CHECKPOINTS_STREAM as _CHECKPOINTS_STREAM
from casework.transparency.checkpoints import CHECKPOINTS_SUBJECT

STREAM = "CASEWORK"
ROOT = "casework"
STREAM_SUBJECTS = ("casework.>",)
EVENTS = "casework.*.*.*.*"
"""Every case event (five tokens); dead letters have three and never match."""
DLQ = "casework.dlq"
"""Dead letters: `casework.dlq.<service>` (see `dead_letter.dead_letter_subject`)."""
CHECKPOINTS_STREAM = _CHECKPOINTS_STREAM
CHECKPOINTS = CHECKPOINTS_SUBJECT
"""The notary's signed checkpoints, on a stream of their own (docs/adr/014). Not under
`casework.`: the CASEWORK stream takes `casework.>`, and two streams may not share a subject."""
DUPLICATE_WINDOW = 120.0
"""Seconds JetStream remembers a Nats-Msg-Id: a re-publish inside it is dropped."""

CE_SPECVERSION = "1.0"
HEADER_MSG_ID = "Nats-Msg-Id"
HEADER_NOTIFICATION_ID = "Casework-Notification-Id"
"""The store's notification id of the event: how the relay knows what the stream holds."""
HEADER_TIER = "Casework-Tier"
HEADER_RELAY_AFTER = "Casework-Relay-After"
"""The relay's position when it published the message (its window's start): every case event
up to this notification id was on the stream then. Where the relay resumes after a restart
(`casework.messaging.relay_position`); consumers need do nothing with it."""

_TOKEN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _token(value: str, what: str) -> str:
    if value != "*" and not _TOKEN.match(value):
        raise ValueError(f"{what} {value!r} is not a subject token (lowercase, digits, '-', '_')")
    return value


def event_subject(
    kind: str = "*", event: str = "*", community: str = "*", compound: str = "*"
) -> str:
    """A subject or, with `*` for any part left out, a filter: `event_subject(kind="leak")`."""
    parts = (
        _token(kind, "kind"),
        _token(event, "event"),
        _token(community, "community"),
        _token(compound, "compound"),
    )
    return ".".join((ROOT, *parts))


def subject_matches(subject: str, pattern: str) -> bool:
    """Whether a consumer filtered on `pattern` receives a message on `subject`, as NATS
    decides it: `*` stands for one token, a final `>` for one or more."""
    tokens, wanted = subject.split("."), pattern.split(".")
    if wanted[-1] == ">":
        wanted = wanted[:-1]
        if len(tokens) <= len(wanted):
            return False
        tokens = tokens[: len(wanted)]
    return len(tokens) == len(wanted) and all(
        w in ("*", t) for w, t in zip(wanted, tokens, strict=True)
    )


def subject_for(contract: CaseEvent) -> str:
    """`casework.leak.water_stopped.jiayu-xx.wanxin-intl` for a water-stopped contract."""
    _, kind, event, _version = contract.type.split(".")
    return event_subject(kind, event, contract.community, contract.compound)


def source_for(contract: CaseEvent) -> str:
    """CloudEvents `source`: the compound the case belongs to."""
    return f"/casework/{contract.community}/{contract.compound}"
