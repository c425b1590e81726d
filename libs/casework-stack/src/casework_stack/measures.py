"""`casework measures`: the measures in the terminal, from the intake's measures read model.

The same definitions as the intake's `GET /measures` and its dashboard (`intake.measures`), read
from the same read model (the intake's SQLite file under the var dir), so the three can never
disagree. The read model is as fresh as the intake's feed left it: with the stack down, run
`casework rebuild` first to bring it up to date with the store.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

RATES = (
    ("response", "响应率 response rate"),
    ("resolution", "解决率 resolution rate"),
    ("satisfaction", "满意率 satisfaction rate"),
)


def _rate(value: Mapping[str, Any]) -> str:
    share = "n/a" if value.get("value") is None else f"{value['value']:.0%}"
    return f"{share} ({value.get('numerator')}/{value.get('denominator')})"


def _minutes(value: Any) -> str:
    return "n/a" if value is None else "under 1 min" if value < 1 else f"{value:.0f} min"


def measure_lines(measures: Mapping[str, Any]) -> list[str]:
    """The measures document in a few lines; fields this table does not know are listed as
    they come, so a new measure shows up without a change here."""
    shown = {"scope", "compound", "from", "to", "as_of", "open_by_kind_tier"}
    lines = [f"cases {measures.get('cases')}, open {measures.get('open')}"]
    shown |= {"cases", "open"}
    for key, label in RATES:
        if isinstance(measures.get(key), Mapping):
            lines.append(f"{label}: {_rate(measures[key])}")
            shown.add(key)
    tiers = measures.get("settled_by_tier")
    if isinstance(tiers, list):
        parts = [f"{t['tier']} {t['count']}" for t in tiers]
        lines.append("settled at (楼栋/小区/社区): " + ", ".join(parts))
        shown.add("settled_by_tier")
    if "median_minutes_to_first_response" in measures:
        lines.append(
            "median time to first response: "
            f"{_minutes(measures['median_minutes_to_first_response'])}; to settle: "
            f"{_minutes(measures.get('median_minutes_to_settle'))} (wall clock)"
        )
        shown |= {"median_minutes_to_first_response", "median_minutes_to_settle"}
    if "average_rating" in measures:
        lines.append(f"average rating: {measures['average_rating'] or 'n/a'}")
        shown.add("average_rating")
    if isinstance(measures.get("overdue"), list):
        lines.append(f"overdue now: {len(measures['overdue'])}")
        shown.add("overdue")
    if isinstance(measures.get("volunteers"), list):
        for v in measures["volunteers"]:
            board = {"red": "红榜 red", "black": "黑榜 black"}.get(v.get("board") or "", "")
            lines.append(
                f"volunteer {v.get('volunteer_id')}: {v.get('tasks')} task(s), "
                f"{v.get('done_on_time')} done on time, rating {v.get('average_rating') or 'n/a'}"
                + (f"  {board}" if board else "")
            )
        shown.add("volunteers")
    lines += [f"{k}: {v}" for k, v in measures.items() if k not in shown]
    return lines


def run_measures(args: argparse.Namespace) -> int:
    from intake.config import Settings
    from intake.measures.definitions import compute
    from intake.measures.model import MeasuresModel

    path = Settings().db_path
    if not path.exists():
        print(
            f"casework measures: no read model at {path} yet; run `casework up` (or "
            "`casework rebuild`) with this CASEWORK_VAR_DIR first",
            file=sys.stderr,
        )
        return 2
    start, end = _moment(args.from_, "--from"), _moment(args.to, "--to")
    model = MeasuresModel(path)
    try:
        cases, tasks = model.records(compound=args.compound, start=start, end=end)
    finally:
        model.close()
    measures = compute(
        cases, tasks, datetime.now(UTC), compound=args.compound, start=start, end=end
    )
    document = json.loads(measures.model_dump_json(by_alias=True))
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=1))
        return 0
    window = f" from {args.from_}" if args.from_ else ""
    window += f" to {args.to}" if args.to else ""
    print(f"measures of {args.compound or 'every compound'}{window} (read model {path}):")
    for line in measure_lines(document):
        print(f"  {line}")
    return 0


def _moment(text: str | None, flag: str) -> datetime | None:
    if text is None:
        return None
    from casework import ValidationError

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{flag} {text!r} is not a time like 2026-11-01T00:00+08:00"
        ) from None
    if moment.tzinfo is None:
        raise ValidationError(f"{flag} needs a timezone, e.g. 2026-11-01T00:00+08:00")
    return moment
