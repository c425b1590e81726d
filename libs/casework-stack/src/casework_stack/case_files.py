"""The case files as the intake gives them to an auditor, and the read models caught up.

After the stories, the demo reads each case file back through the intake's history API (drawn
by `casework.timeline`), its verify result, and the measures once the read models (fed over
NATS) hold every event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from casework.audit import HistoryEntry
from casework.timeline import render_case_file

from casework_stack.client import Api, Cast, StepFailedError, wait_for
from casework_stack.scene import AUDITOR, JIATING, WAIT, WANXIN

# ------------------------------------------------------------------ reading back


def entry_from_json(case_id: str, event: Mapping[str, Any]) -> HistoryEntry:
    return HistoryEntry(
        case_id=UUID(case_id),
        version=int(event["version"]),
        event=str(event["event"]),
        topic="",
        at=datetime.fromisoformat(str(event["at"])),
        actor_id=str(event["actor_id"]),
        actor_role=str(event["actor_role"]),
        tier=str(event["tier"]),
        reason=str(event.get("reason") or ""),
        details=dict(event.get("details") or {}),
        hash=str(event.get("hash") or ""),
        prev_hash=str(event.get("prev_hash") or ""),
    )


def show_case(api: Api, cast: Cast, case_id: str) -> bool:
    """Print the case file as the intake's history API gives it to an auditor; whether intact."""
    auditor = cast.person(*AUDITOR)
    history = api.get("intake", f"/cases/{case_id}/history", auditor)
    entries = [entry_from_json(case_id, e) for e in history["events"]]
    state = dict(history["state"])
    print(render_case_file(entries, state))
    print(f"  now: {_summary(state)}")
    verified = api.get("intake", f"/cases/{case_id}/verify", auditor)
    print(f"verify: {verified['description']}")
    return bool(verified["ok"])


def _summary(state: Mapping[str, Any]) -> str:
    parts = [f"status {state.get('status')}", f"tier {state.get('tier')}"]
    if state.get("settled_tier"):
        parts.append(f"settled at the {state['settled_tier']} tier")
    if state.get("satisfaction"):
        parts.append(f"rated {state['satisfaction']}/5")
    return ", ".join(parts)


def wait_read_models(api: Api, cast: Cast, case_ids: list[str]) -> None:
    """Until the intake's read models (fed over NATS) hold every event of these cases: the
    case index lists each at the version its case file has."""
    auditor = cast.person(*AUDITOR)
    versions = {
        c: len(api.get("intake", f"/cases/{c}/history", auditor)["events"]) for c in case_ids
    }

    def caught_up() -> bool:
        page = api.get("intake", "/cases", auditor, limit=200)
        listed = {row["case_id"]: row["version"] for row in page["items"]}
        return all(listed.get(c) == v for c, v in versions.items())

    wait_for(caught_up, "the intake's read models to catch up with the case files", WAIT)


def print_measures(api: Api, cast: Cast, compounds: tuple[str, ...] = (JIATING, WANXIN)) -> None:
    """The intake's `GET /measures` for each compound of the stories, as an auditor reads it,
    drawn by the intake's own renderer (the same text as `casework measures`)."""
    from intake.measures.definitions import Measures
    from intake.measures.text import render

    auditor = cast.person(*AUDITOR)
    print("=== measures (intake GET /measures) ===")
    for compound in compounds:
        try:
            document = api.get("intake", "/measures", auditor, compound=compound)
        except StepFailedError as error:
            print(f"{compound}: not available ({error})")
            continue
        print(render(Measures.model_validate(document)))
        print()
