"""What the pages show, worked out in Python so the templates only lay it out.

The case file as of an event: the timeline (each event past, current or later), the ladder with
where the case entered, climbed, is and was settled, the state then (readable, `readable.py`),
and the check of the events shown (`shown_check.py`). The labels come from `casework.timeline`,
so the pages say what the terminal says; every time is in UTC+8 with the zone named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from casework import Case, Tier
from casework.audit import HistoryEntry
from casework.timeline import code_of, kind_label, label_of, readings, role_label, tier_label

from intake.web.readable import Line, LinkTo, Segment, detail_lines, lines_of, moment, no_link
from intake.web.shown_check import ShownCheck

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
    details: list[tuple[str, list[Line]]]
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
    state: list[tuple[str, list[Line]]]
    check: ShownCheck


def timeline_rows(
    entries: Sequence[HistoryEntry], version: int, link_to: LinkTo = no_link
) -> list[TimelineRow]:
    return [
        TimelineRow(
            version=e.version,
            at=moment(e.at),
            event=e.event,
            code=code_of(e.event, reading),
            label=label_of(e.event, reading),
            actor_id=e.actor_id,
            role=role_label(e.actor_role),
            tier=tier_label(e.tier),
            reason=e.reason,
            details=detail_lines(e.details, link_to),
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
            at=moment(e.at),
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
    ("reported_at", "上报时间 reported"),
    ("respond_by", "响应时限 respond by"),
    ("settle_by", "解决时限 settle by"),
    ("acknowledged_at", "首次响应 first response"),
    ("resolved_at", "解决时间 resolved at"),
    ("settled_tier", "解决层级 settled at"),
    ("closed_at", "结案时间 closed at"),
    ("satisfaction", "满意度 satisfaction"),
    ("reopen_count", "重开次数 reopened"),
    ("escalations", "升级次数 escalations"),
    ("return_visits", "回访次数 return visits"),
    ("links", "关联案件 linked cases"),
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
    "note_count",
    "chain_head",
}
_KIND_FIELDS = {
    "category": "类别 category",
    "parties": "当事人 parties",
    "lead_mediator": "主持人 lead mediator",
    "meetings": "会议 meetings",
    "rounds_held": "已开轮次 rounds held",
    "failed_rounds_at_tier": "本级未果轮次 failed rounds at this tier",
    "last_tally": "最近表决 last tally",
    "tally_citation": "表决依据 tally cited",
    "terms": "协议条款 terms agreed",
    "commitments": "承诺 commitments (who, what, by when)",
    "work_summary": "完工说明 work done",
    "source_unit": "漏水源 source unit",
    "source_unoccupied": "源户无人 source unoccupied",
    "reaches_other_flat": "波及他户 reaches another flat",
    "contact_attempts": "联系次数 contact attempts",
    "owner_reached_at": "联系上业主 owner reached",
    "water_stopped_at": "止水时间 water stopped",
    "cause": "原因 cause",
    "damage": "损失 damage",
    "damaged_units": "受损户 damaged units",
    "responded_at_tier": "本级响应 responded at this tier",
    "accepted_at": "接单时间 accepted",
    "queued_at": "排队时间 queued",
}


def _shown(name: str, value: Any, link_to: LinkTo) -> list[Line]:
    if name == "satisfaction":
        return [[Segment(f"{value} / 5")]]
    return lines_of(name, value, link_to)


def state_lines(state: Case, link_to: LinkTo = no_link) -> list[tuple[str, list[Line]]]:
    """The case's state as label and readable lines: the shared fields, then the kind's own."""
    snapshot = state.snapshot()
    lines = [
        (label, _shown(name, snapshot[name], link_to))
        for name, label in _STATE_FIELDS
        if snapshot.get(name) not in (None, "", [], {}, 0) or name in ("status", "tier")
    ]
    for name, value in snapshot.items():
        if name in _SHARED or value in (None, "", [], {}, 0, False):
            continue
        label = _KIND_FIELDS.get(name, f"{name} ({kind_label(state.kind)})")
        lines.append((label, lines_of(name, value, link_to)))
    return lines


def case_file(
    state: Case,
    entries: Sequence[HistoryEntry],
    checked: ShownCheck,
    version: int,
    link_to: LinkTo = no_link,
) -> CaseFileView:
    """The case file as of event `version` (the state after it; every event listed)."""
    upto = [e for e in entries if e.version <= version]
    return CaseFileView(
        case_id=str(state.id),
        kind=kind_label(state.kind),
        address=state.address.path,
        version=version,
        events=len(entries),
        as_of_at=moment(upto[-1].at),
        latest=version == len(entries),
        rows=timeline_rows(entries, version, link_to),
        ladder=ladder(state, upto),
        climbs=climbs(upto),
        state=state_lines(state, link_to),
        check=checked,
    )
