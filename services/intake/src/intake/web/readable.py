"""Values of a case file as people read them: who, what, by when — never raw JSON.

The store keeps meetings, commitments, the lead and the tallies as nested records, and times as
ISO text in UTC; an auditor reading the page (or its print-out) wants "owner-7: remove the cable,
by 2027-01-07 (kept)" and every time in one zone with the zone named. A value becomes lines of
segments; a segment naming another case carries the link to its page when the reader may see it
(`LinkTo`), so the templates lay out text and links and never format anything themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from casework.domain.mediation_rules import MEETING_FORMS
from casework.timeline import role_label, status_label, tier_label

from intake.measures.text import local

ZONE = "UTC+8"
"""The one zone every time on the pages is shown in (China Standard Time), named beside it."""

ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$")
CASE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

LinkTo = Callable[[str], "str | None"]
"""A case id -> the path of its page, or None when the reader may not see that case."""


@dataclass(frozen=True)
class Segment:
    text: str
    href: str | None = None


Line = list[Segment]


def moment(value: datetime | str) -> str:
    """A time in UTC+8 with the zone named: `2026-11-24 09:13 UTC+8`."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{local(at)} {ZONE}"


def no_link(_: str) -> str | None:
    return None


def _plain(value: Any) -> str:
    """One scalar as text: times in UTC+8, enums by their code, yes/no for booleans."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, datetime):
        return moment(value)
    if isinstance(value, str) and ISO_MOMENT.match(value):
        return moment(value)
    return str(value)


def _case(case_id: str, link_to: LinkTo, relation: str = "") -> Line:
    """Another case, as a link to its page when the reader may see it."""
    href = link_to(case_id)
    line = [Segment(f"案件 case {case_id}", href)]
    if relation:
        line.append(Segment(f" · {relation}"))
    if href is None:
        line.append(Segment(" (不在您的查看范围 not among the cases you can see)"))
    return line


def person(raw: Mapping[str, Any]) -> str:
    """`{"id", "role"}` as `r-0302 (居民 resident)`."""
    return f"{raw.get('id', '')} ({role_label(str(raw.get('role', '')))})"


def meeting(meeting_id: str, raw: Mapping[str, Any]) -> str:
    form = str(raw.get("form", ""))
    label = MEETING_FORMS.get(form, ("",))[0]
    parts = [
        f"{label} {form}".strip() + f" @ {tier_label(str(raw.get('tier', '')))}",
        f"{moment(raw['scheduled_for'])}" if raw.get("scheduled_for") else "",
        str(raw.get("place", "")),
        "参加 with " + ", ".join(person(p) for p in raw.get("participants", []))
        if raw.get("participants")
        else "",
        f"召集 convened by {raw['convened_by']}" if raw.get("convened_by") else "",
        f"{raw.get('rounds', 0)} 轮 rounds held",
        "已取消 cancelled" if raw.get("cancelled") else "",
        "待下一轮 awaits a round" if raw.get("awaits_round") and not raw.get("cancelled") else "",
    ]
    return " · ".join(p for p in parts if p) + f" (#{meeting_id[:8]})"


COMMITMENT_STATUS = {
    "pending": "待办 pending",
    "due": "已到期 due",
    "kept": "已履行 kept",
    "broken": "未履行 broken",
}


def commitment(number: int, raw: Mapping[str, Any]) -> str:
    """Who will do what by when, and how it stands: `#0 owner-7: remove the cable — by …`."""
    due = raw.get("due", "")
    status = str(raw.get("status", ""))
    by = f" — 期限 by {_plain(due)}" if due else ""
    standing = f" ({COMMITMENT_STATUS.get(status, status)})" if status else ""
    return f"#{number} {raw.get('who', '')}: {raw.get('what', '')}{by}{standing}"


def lead(raw: Mapping[str, Any]) -> str:
    return (
        f"{person(raw)} 主持 leads at {tier_label(str(raw.get('tier', '')))}, "
        f"named by {raw.get('named_by', '')} since {_plain(raw.get('since', ''))}"
    )


def counts(raw: Mapping[str, Any]) -> str:
    """A tally: `gate 2: 11, car park: 4`."""
    return ", ".join(f"{option}: {count}" for option, count in raw.items())


def lines_of(name: str, value: Any, link_to: LinkTo = no_link) -> list[Line]:
    """A named value (a state field or an event's detail) as the lines a person reads."""
    if name == "links" and _records(value):
        return [_case(str(x.get("case_id")), link_to, str(x.get("relation", ""))) for x in value]
    if name.endswith("case_id") and isinstance(value, (str, UUID)) and CASE_ID.match(str(value)):
        return [_case(str(value), link_to)]
    if name == "meetings" and isinstance(value, Mapping) and _records(list(value.values())):
        return [[Segment(meeting(str(k), v))] for k, v in value.items()]
    if name == "commitments" and _records(value):
        return [[Segment(commitment(i, c))] for i, c in enumerate(value)]
    if name in ("lead_mediator",) and isinstance(value, Mapping):
        return [[Segment(lead(value))]]
    if name in ("tier", "settled_tier", "entry_tier", "to_tier") and isinstance(value, str):
        return [[Segment(tier_label(value))]]
    if name == "status" and isinstance(value, str):
        return [[Segment(status_label(value))]]
    return [[Segment(text)] for text in _texts(value)]


def _records(value: Any) -> bool:
    """A list of records (the shapes the domain writes), not something else under that name."""
    return isinstance(value, list) and all(isinstance(x, Mapping) for x in value)


def _texts(value: Any) -> list[str]:
    """Any other value: one line per item of a list, `key: value` for a record."""
    if isinstance(value, Mapping):
        if {"id", "role"} <= set(value):
            return [person(value)]
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value.values()):
            return [counts(value)]
        return [f"{k}: {'; '.join(_texts(v))}" for k, v in value.items() if _kept(v)]
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [t for v in value for t in _texts(v)]
        if all(len(t) <= 24 for t in items):
            return [", ".join(items)] if items else []
        return items
    return [_plain(value)]


def _kept(value: Any) -> bool:
    return value not in ("", None, [], {})


def detail_lines(
    details: Mapping[str, Any], link_to: LinkTo = no_link
) -> list[tuple[str, list[Line]]]:
    """An event's details, in its own field order, leaving out the empty ones."""
    return [
        (key, lines_of(key, value, link_to))
        for key, value in details.items()
        if _kept(value) and key != "class_version"
    ]


def flat(lines: Sequence[Line]) -> str:
    """The lines as one text (tests, and a title attribute)."""
    return "\n".join("".join(s.text for s in line) for line in lines)
