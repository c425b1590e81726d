"""A case file as people read it: a timeline with Chinese labels beside the English codes.

The auditor's CLI, the demo and (later) the intake service's views render the same case file, so
the labels and the JSON shape live here once. The codes stay beside the labels because they are
what the store, the contracts and the tests speak; the labels are what residents and officers say.
Nothing here reads the store: callers hand in `HistoryEntry`s and a state snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from casework.audit import HistoryEntry
from casework.domain.actors import ROLE_LABELS
from casework.domain.catalogue import event_labels
from casework.domain.places import Tier
from casework.kinds.live import Live
from casework.kinds.registry import kinds

EVENT_LABELS: Mapping[str, str] = Live(event_labels)
"""Every event a case file of a registered kind can hold, by the event's class name; each event
declares its own (`LABEL`, see `casework.domain.catalogue`)."""

TAKEN_OFF = "taken_off"
READING_LABELS: dict[str, str] = {TAKEN_OFF: "已撤回派单"}
"""Events a case file reads differently by who recorded them, by reading code (see `readings`)."""

KIND_LABELS: Mapping[str, str] = Live(lambda: {kind.name: kind.label for kind in kinds()})
"""What people call each registered kind (`Kind.label`): 报修, 漏水应急, 矛盾纠纷, …"""

STATUS_LABELS: dict[str, str] = {
    "reported": "已上报",
    "acknowledged": "已受理",
    "assigned": "已派单",
    "in_progress": "处理中",
    "work_done": "已完工",
    "in_mediation": "调解中",
    "agreed": "已达成协议",
    "resolved": "已解决",
    "confirmed": "居民已确认",
    "closed": "已结案",
}


def _bilingual(labels: Mapping[str, str], code: str) -> str:
    """`label code`, or the bare code when there is no label (an event newer than this table)."""
    label = labels.get(code)
    return f"{label} {code}" if label else code


def readings(entries: Sequence[HistoryEntry]) -> list[str]:
    """Per entry, how to read it beyond its event code: `taken_off` or ''.

    A manager taking work off its holder (`Case.take_off`, dispatch's reassign) records the same
    `AssignmentDeclined` as a worker giving it back (退单), by the manager, with the reason; an
    auditor must still tell a reassignment from a refusal. Who recorded it tells them apart: the
    holder declines, anyone else takes it off. The holder is read from the case file as the
    domain reads it (only `Assigned` sets it, only `AssignmentDeclined` clears it), so hand in
    the case's entries from its first, and old records read right too.
    """
    holder: str | None = None
    found: list[str] = []
    for entry in entries:
        reading = ""
        if entry.event == "Assigned":
            holder = str(entry.details.get("assignee_id", "")) or None
        elif entry.event == "AssignmentDeclined":
            if holder is not None and entry.actor_id != holder:
                reading = TAKEN_OFF
            holder = None
        found.append(reading)
    return found


def label_of(event: str, reading: str = "") -> str:
    """The Chinese label of an event as read (`readings`); '' for an event newer than the table."""
    return READING_LABELS.get(reading) or EVENT_LABELS.get(event, "")


def code_of(event: str, reading: str = "") -> str:
    """The code shown beside the label: the event's, with the reading when there is one."""
    return f"{event} ({reading})" if reading else event


def event_label(event: str, reading: str = "") -> str:
    label = label_of(event, reading)
    code = code_of(event, reading)
    return f"{label} {code}" if label else code


def role_label(role: str) -> str:
    return _bilingual({r.value: label for r, label in ROLE_LABELS.items()}, role)


def tier_label(tier: str) -> str:
    return _bilingual({t.value: t.label for t in Tier}, tier)


def kind_label(kind: str) -> str:
    return _bilingual(KIND_LABELS, kind)


def status_label(status: str) -> str:
    return _bilingual(STATUS_LABELS, status)


# ------------------------------------------------------------------ JSON


def jsonable(value: Any) -> Any:
    """Plain JSON values: times as ISO strings, ids as strings, enums as their codes."""
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def entry_to_json(entry: HistoryEntry, reading: str = "") -> dict[str, Any]:
    """Every field of one event, plus its display label and reading (`readings`)."""
    return {
        "case_id": str(entry.case_id),
        "version": entry.version,
        "event": entry.event,
        "reading": reading,
        "label": label_of(entry.event, reading),
        "topic": entry.topic,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_role": entry.actor_role,
        "tier": entry.tier,
        "reason": entry.reason,
        "details": jsonable(entry.details),
        "hash": entry.hash,
        "prev_hash": entry.prev_hash,
    }


def case_document(
    entries: Sequence[HistoryEntry],
    state: Mapping[str, Any],
    *,
    as_of: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The case file as one JSON document: the events in order and the state after the last."""
    return {
        "case_id": str(state.get("id", entries[0].case_id if entries else "")),
        "kind": state.get("kind", ""),
        "as_of": dict(as_of) if as_of is not None else None,
        "events": [
            entry_to_json(e, reading) for e, reading in zip(entries, readings(entries), strict=True)
        ],
        "state": jsonable(state),
    }


# ------------------------------------------------------------------ text


def _time(at: datetime) -> str:
    return at.isoformat(sep=" ", timespec="seconds")


def _compact(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        plain = value and not any(c.isspace() or c in "=,;[]{}\"'" for c in value)
        return value if plain else json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    return json.dumps(jsonable(value), ensure_ascii=False, separators=(",", ":"))


def format_details(details: Mapping[str, Any]) -> str:
    """`key=value` pairs in the event's own field order, leaving out empty ones."""
    pairs = [
        f"{key}={_compact(value)}"
        for key, value in details.items()
        if value not in ("", None, [], {}) and key != "class_version"
    ]
    return " ".join(pairs)


def render_entry(entry: HistoryEntry, version_width: int = 2, reading: str = "") -> str:
    """One line: version, time, event, actor and role, tier, reason, details, short hash."""
    parts = [
        f"v{entry.version:<{version_width}}",
        _time(entry.at),
        event_label(entry.event, reading),
        f"{entry.actor_id} ({role_label(entry.actor_role)})",
        f"@ {tier_label(entry.tier)}",
    ]
    line = "  ".join(parts)
    if entry.reason:
        line += f"  why: {entry.reason}"
    details = format_details(entry.details)
    if details:
        line += f"  | {details}"
    return f"{line}  #{entry.hash[:12]}"


def render_header(state: Mapping[str, Any]) -> str:
    return (
        f"{kind_label(str(state.get('kind', '')))} case {state.get('id', '')}"
        f"  at {state.get('address', '')}"
    )


def render_timeline(entries: Sequence[HistoryEntry]) -> str:
    width = len(str(entries[-1].version)) if entries else 1
    return "\n".join(
        "  " + render_entry(e, width, reading)
        for e, reading in zip(entries, readings(entries), strict=True)
    )


_STATE_LABELLED = {
    "tier": tier_label,
    "entry_tier": tier_label,
    "settled_tier": tier_label,
    "status": status_label,
    "kind": kind_label,
}


def render_state(state: Mapping[str, Any]) -> str:
    """The snapshot as `key: value` lines; tiers and status carry their labels."""
    lines = []
    for key, value in state.items():
        if value in ("", None, [], {}):
            continue
        labeller = _STATE_LABELLED.get(key)
        shown = labeller(str(value)) if labeller is not None else _compact(value)
        lines.append(f"  {key}: {shown}")
    return "\n".join(lines)


def render_case_file(
    entries: Sequence[HistoryEntry],
    state: Mapping[str, Any],
    *,
    as_of: str | None = None,
) -> str:
    """Header and timeline; with `as_of` (e.g. "version 7") also the state at that moment."""
    blocks = [render_header(state), render_timeline(entries)]
    if as_of is not None:
        blocks.append(f"state as of {as_of}:")
        blocks.append(render_state(state))
    return "\n".join(blocks)
