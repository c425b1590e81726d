"""The measures as a terminal reads them: Chinese labels with the English codes beside them."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta, timezone

from casework.timeline import kind_label, tier_label

from intake.measures.definitions import TIERS, Measures, Rate

CHINA = timezone(timedelta(hours=8))
"""Times are shown in China Standard Time (UTC+8), where the compounds are."""


def local(at: datetime) -> str:
    return at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def percent(rate: Rate) -> str:
    return "—" if rate.value is None else f"{rate.value:.1%}"


def duration(minutes: float | None) -> str:
    """`42 min`, `3 h 5 min`, `2 d 4 h`; a dash when there is nothing to measure."""
    if minutes is None:
        return "—"
    whole = round(minutes)
    if whole < 60:
        return f"{whole} min"
    hours, rest = divmod(whole, 60)
    if hours < 24:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def width(text: str) -> int:
    """Columns on a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def ljust(text: str, columns: int) -> str:
    return text + " " * max(0, columns - width(text))


def rjust(text: str, columns: int) -> str:
    return " " * max(0, columns - width(text)) + text


BOARD_LABELS = {"red": "红榜 red", "black": "黑榜 black", None: "—"}


def render(m: Measures) -> str:
    window = (
        f"{local(m.from_) if m.from_ else 'the start'} → {local(m.to) if m.to else 'now'}"
        if m.from_ or m.to
        else "all time"
    )
    lines = [
        f"指标 measures — you answer for {'every place' if m.scope == 'all' else m.scope}"
        + (f" · compound {m.compound}" if m.compound else "")
        + f" · reported {window} · as of {local(m.as_of)} (UTC+8)",
        f"  上报 cases reported {m.cases}   在办 open {m.open}   逾期 overdue {len(m.overdue)}"
        f"   重开 reopened {m.reopened}",
    ]
    rates = (
        ("响应率 response rate", m.response, "first response by its deadline"),
        ("解决率 resolution rate", m.resolution, "settled now, of all reported"),
        ("满意率 satisfaction rate", m.satisfaction, "rated 4 or 5, of all rated"),
    )
    for label, rate, meaning in rates:
        lines.append(
            f"  {ljust(label, 26)}{percent(rate):>7}  "
            f"({rate.numerator}/{rate.denominator}; {meaning})"
        )
    if m.average_rating is not None:
        lines.append(f"  average rating 平均评分 {m.average_rating:.2f} / 5")
    lines.append(
        "  settled at 解决于: "
        + " · ".join(
            f"{tier_label(s.tier)} {s.count}" + ("" if s.share is None else f" ({s.share:.0%})")
            for s in m.settled_by_tier
        )
    )
    lines.append(
        f"  median time to first response {duration(m.median_minutes_to_first_response)}; "
        f"to settle {duration(m.median_minutes_to_settle)}"
    )
    lines.append("  open by kind and tier 在办（类型 × 层级）:")
    header = "".join(rjust(tier_label(t), 16) for t in TIERS)
    lines.append(f"    {'':<18}{header}")
    for kind in m.open_by_kind_tier:
        counts = m.open_by_kind_tier.get(kind, {})
        cells = "".join(f"{counts.get(t, 0):>16}" for t in TIERS)
        lines.append(f"    {ljust(kind_label(kind), 18)}{cells}")
    if m.overdue:
        lines.append(f"  overdue 逾期 ({len(m.overdue)}):")
        for o in m.overdue:
            lines.append(
                f"    {o.case_id}  {kind_label(o.kind)} @ {tier_label(o.tier)}  "
                f"{'+'.join(o.overdue)} since {local(o.deadline)} "
                f"({duration(o.late_minutes)} late)  {o.address}"
            )
    lines.append("  volunteers' service board 红黑榜:" if m.volunteers else "  no volunteer tasks")
    for v in m.volunteers:
        rating = "—" if v.average_rating is None else f"{v.average_rating:.1f}"
        lines.append(
            f"    {ljust(BOARD_LABELS[v.board], 11)}{v.volunteer_id}: {v.tasks} taken, "
            f"{v.done} done ({v.done_on_time} on time), {v.declined} declined, "
            f"{v.reopened} reopened, rating {rating} ({v.ratings})"
        )
    return "\n".join(lines)
