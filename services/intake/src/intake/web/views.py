"""What the pages show, worked out in Python so the templates only lay it out.

The case file as of an event: the timeline (each event past, current or later), the ladder with
where the case entered, climbed, is and was settled, the state then, and the verify result. The
labels come from `casework.timeline`, so the pages say what the terminal says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from casework import Case, Tier, VerifyResult
from casework.audit import HistoryEntry
from casework.timeline import (
    code_of,
    format_details,
    kind_label,
    label_of,
    readings,
    role_label,
    status_label,
    tier_label,
)

from intake.measures.text import local

LADDER_TOP_DOWN = (Tier.COMMUNITY, Tier.COMPOUND, Tier.BUILDING)
RUNG_DUTIES = {
    Tier.BUILDING: "微事不出楼栋 micro matters stay in the building",
    Tier.COMPOUND: "小事不出小区 small matters stay in the compound",
    Tier.COMMUNITY: "大事不出社区 big matters stay in the community",
}


@dataclass(frozen=True)
class TimelineRow:
    version: int
    at: str
    event: str
    code: str
    """The event's code, with its reading when it has one (`AssignmentDeclined (taken_off)`)."""
    label: str
    actor_id: str
    role: str
    tier: str
    reason: str
    details: str
    hash: str
    when: str
    """'past', 'current' (the event the page is as of) or 'later'."""


@dataclass(frozen=True)
class Rung:
    tier: str
    label: str
    duty: str
    marks: list[str] = field(default_factory=list)
    here: bool = False
    settled: bool = False
    visited: bool = False


@dataclass(frozen=True)
class Climb:
    at: str
    from_tier: str
    to_tier: str
    actor: str
    reason: str
    automatic: bool


@dataclass(frozen=True)
class CaseFileView:
    case_id: str
    kind: str
    address: str
    version: int
    events: int
    as_of_at: str
    latest: bool
    rows: list[TimelineRow]
    ladder: list[Rung]
    climbs: list[Climb]
    state: list[tuple[str, str]]
    verify_ok: bool
    verify_text: str


def timeline_rows(entries: Sequence[HistoryEntry], version: int) -> list[TimelineRow]:
    return [
        TimelineRow(
            version=e.version,
            at=local(e.at),
            event=e.event,
            code=code_of(e.event, reading),
            label=label_of(e.event, reading),
            actor_id=e.actor_id,
            role=role_label(e.actor_role),
            tier=tier_label(e.tier),
            reason=e.reason,
            details=format_details(e.details),
            hash=e.hash[:12],
            when="current" if e.version == version else "past" if e.version < version else "later",
        )
        for e, reading in zip(entries, readings(entries), strict=True)
    ]


def ladder(state: Case, entries: Sequence[HistoryEntry]) -> list[Rung]:
    """The three rungs, top down, marked with where the case entered, passed, is and settled."""
    settled = state.settled_tier
    visited = {state.entry_tier, state.tier} | {
        Tier(e.details["to_tier"]) for e in entries if e.event == "Escalated"
    }
    rungs = []
    for tier in LADDER_TOP_DOWN:
        marks = []
        if tier is state.entry_tier:
            marks.append("起点 entered here")
        if tier is settled:
            marks.append("解决于此 settled here")
        elif tier is state.tier:
            marks.append("当前 the case is here")
        elif tier in visited:
            marks.append("经过 passed through")
        rungs.append(
            Rung(
                tier=tier.value,
                label=tier_label(tier.value),
                duty=RUNG_DUTIES[tier],
                marks=marks,
                here=tier is state.tier and settled is None,
                settled=tier is settled,
                visited=tier in visited,
            )
        )
    return rungs


def climbs(entries: Sequence[HistoryEntry]) -> list[Climb]:
    return [
        Climb(
            at=local(e.at),
            from_tier=tier_label(e.tier),
            to_tier=tier_label(str(e.details["to_tier"])),
            actor=f"{e.actor_id} ({role_label(e.actor_role)})",
            reason=e.reason,
            automatic=bool(e.details.get("automatic")),
        )
        for e in entries
        if e.event == "Escalated"
    ]


_STATE_FIELDS = (
    ("status", "状态 status"),
    ("tier", "层级 tier"),
    ("priority", "紧急程度 priority"),
    ("assignee", "承办 assignee"),
    ("respond_by", "响应时限 respond by"),
    ("settle_by", "解决时限 settle by"),
    ("acknowledged_at", "首次响应 first response"),
    ("resolved_at", "解决时间 resolved at"),
    ("settled_tier", "解决层级 settled at"),
    ("satisfaction", "满意度 satisfaction"),
    ("reopen_count", "重开次数 reopened"),
    ("escalations", "升级次数 escalations"),
    ("return_visits", "回访次数 return visits"),
)
_SHARED = {name for name, _ in _STATE_FIELDS} | {
    "id",
    "kind",
    "version",
    "address",
    "entry_tier",
    "description",
    "channel",
    "reporter_ids",
    "reported_at",
    "closed_at",
    "note_count",
    "links",
    "chain_head",
}


def _shown(name: str, value: Any) -> str:
    if name in ("status",):
        return status_label(str(value))
    if name in ("tier", "settled_tier"):
        return tier_label(str(value))
    if name == "assignee" and isinstance(value, Mapping):
        return f"{value['id']} ({role_label(str(value['role']))})"
    if name == "satisfaction":
        return f"{value} / 5"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        return local(datetime.fromisoformat(value))
    return str(value)


def state_lines(state: Case) -> list[tuple[str, str]]:
    """The case's state as label/value pairs: the shared fields, then the kind's own."""
    snapshot = state.snapshot()
    lines = [
        (label, _shown(name, snapshot[name]))
        for name, label in _STATE_FIELDS
        if snapshot.get(name) not in (None, "", [], {}, 0) or name in ("status", "tier")
    ]
    for name, value in snapshot.items():
        if name in _SHARED or value in (None, "", [], {}, 0, False):
            continue
        shown = format_details({name: value}).partition("=")[2]
        if len(shown) > 160:
            shown = shown[:157] + "…"
        lines.append((f"{name} ({kind_label(state.kind)})", shown))
    return lines


def case_file(
    state: Case, entries: Sequence[HistoryEntry], verified: VerifyResult, version: int
) -> CaseFileView:
    """The case file as of event `version` (the state after it; every event listed)."""
    upto = [e for e in entries if e.version <= version]
    return CaseFileView(
        case_id=str(state.id),
        kind=kind_label(state.kind),
        address=state.address.path,
        version=version,
        events=len(entries),
        as_of_at=local(upto[-1].at),
        latest=version == len(entries),
        rows=timeline_rows(entries, version),
        ladder=ladder(state, upto),
        climbs=climbs(upto),
        state=state_lines(state),
        verify_ok=verified.ok,
        verify_text=(
            f"完整 intact: {verified.events} events, hash chain unbroken (head "
            f"{verified.head[:12]})"
            if verified.ok
            else f"被篡改 TAMPERED at event {verified.position}: {verified.problem}"
        ),
    )
