"""The article's stories, told to the running services by the people in them.

Every step is an HTTP request by a person with their own token (a resident to the intake, a
volunteer to dispatch, a party secretary to mediation), or a wait for what a service does by
itself when it hears an event over NATS. Nothing here touches the store or the library's
commands: if a service cannot do a step, the story stops there and says which request failed.

Each story narrates what it did, one line per step, in words that are the same on every run
(no ids or times), so the demo's output is deterministic apart from the case files' ids, times
and hashes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from casework.audit import HistoryEntry
from casework.timeline import render_case_file

from casework_stack.client import Api, Cast, Person, StepFailedError, wait_for
from casework_stack.progress import Progress

COMMUNITY = "jiayu-xx"
JIATING = f"{COMMUNITY}/jiating"
WANXIN = f"{COMMUNITY}/wanxin-intl"
AUDITOR = ("auditor-jiayu", "auditor", None)
WAIT = 20.0
"""Seconds to wait for a service to act on an event; far above what it takes (well under 1 s)."""


@dataclass
class Scene:
    """One story being told: the services, the people, the narration, the cases it opened."""

    api: Api
    cast: Cast
    progress: Progress
    letter: str
    lines: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)
        self.progress.step(f"story ({self.letter}): {line}")

    def person(self, actor_id: str, role: str, place: str | None = None) -> Person:
        return self.cast.person(actor_id, role, place)

    # ---------------------------------------------------------------- intake

    def report(self, who: Person, body: Mapping[str, Any]) -> str:
        done = self.api.post("intake", "/cases", who, body)
        self.cases.append(done["case_id"])
        self.say(
            f"{who} reports to the intake: {done['kind']} case {done['outcome']} "
            f"at the {done['tier']} tier"
        )
        return str(done["case_id"])

    def case(self, case_id: str, who: Person | None = None) -> dict[str, Any]:
        state: dict[str, Any] = self.api.get("intake", f"/cases/{case_id}", who or self.auditor)
        return state

    def wait_case(
        self, case_id: str, check: Callable[[dict[str, Any]], bool], what: str
    ) -> dict[str, Any]:
        """Until the case, as the intake shows it, passes `check`; e.g. dispatch assigned it."""
        self.progress.step(f"story ({self.letter}): waiting until {what}")
        return wait_for(lambda: _passing(self.case(case_id), check), what, WAIT)

    def wait_event(self, case_id: str, event: str, count: int = 1) -> list[dict[str, Any]]:
        """Until the case file holds `count` events named `event`; those events."""

        def found() -> list[dict[str, Any]] | None:
            events = self.history(case_id)["events"]
            named = [e for e in events if e["event"] == event]
            return named if len(named) >= count else None

        self.progress.step(f"story ({self.letter}): waiting for {event} on the case file")
        return wait_for(found, f"{event} on case {case_id}", WAIT)

    def history(self, case_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.api.get("intake", f"/cases/{case_id}/history", self.auditor)
        return answer

    @property
    def auditor(self) -> Person:
        return self.cast.person(*AUDITOR)


def _passing(state: dict[str, Any], check: Callable[[dict[str, Any]], bool]) -> Any:
    return state if check(state) else None


@dataclass(frozen=True)
class Story:
    letter: str
    title: str
    needs: tuple[str, ...]
    play: Callable[[Scene], list[str]]


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


def print_measures(api: Api, cast: Cast) -> None:
    auditor = cast.person(*AUDITOR)
    print("=== measures ===")
    for compound in (JIATING, WANXIN):
        try:
            measures = api.get("intake", "/measures", auditor, compound=compound)
        except StepFailedError as error:
            print(f"  {compound}: not available ({error})")
            continue
        print(f"  {compound}:")
        for line in measure_lines(measures):
            print(f"    {line}")
    print()


def measure_lines(measures: Mapping[str, Any]) -> list[str]:
    """The measures document as `name: value` lines (rates with their counts)."""
    lines = []
    for key, value in measures.items():
        if isinstance(value, Mapping) and {"numerator", "denominator"} <= set(value):
            shown = "n/a" if value.get("value") is None else f"{value['value']:.0%}"
            lines.append(f"{key}: {shown} ({value['numerator']}/{value['denominator']})")
        elif isinstance(value, (str, int, float)) or value is None:
            lines.append(f"{key}: {value}")
        else:
            lines.append(f"{key}: {value}")
    return lines


STORIES: tuple[Story, ...] = ()
