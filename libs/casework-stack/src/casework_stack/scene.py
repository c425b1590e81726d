"""The scene a story is told in over HTTP, and what people do through each service.

A `Scene` is one story being told: the services, the people with their tokens, the narration
(one line per step, the same words on every run) and the cases it opened. `Dispatch` and
`Mediation` are the requests people make of those services, each narrated as it is made; a
wait is for what a service does by itself on the events it hears over NATS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from casework_stack.client import Api, Cast, Person, wait_for
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


# ------------------------------------------------------------------ the services' verbs


def days_ahead(days: int, hour: int = 19, minute: int = 30) -> str:
    """A meeting time `days` from now, local (UTC+8) evening: meetings are planned ahead."""
    from datetime import UTC, timedelta, timezone

    local = datetime.now(UTC).astimezone(timezone(timedelta(hours=8)))
    when = (local + timedelta(days=days)).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return when.isoformat()


def due_in(days: int) -> str:
    from datetime import UTC, timedelta

    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


class Dispatch:
    """What people do through dispatch: the roster, their tasks, the leak protocol."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.api = scene.api

    def put_on_roster(
        self, manager: Person, member: Person, skills: list[str], places: list[str]
    ) -> None:
        self.api.post(
            "dispatch",
            "/roster/members",
            manager,
            {"actor_id": member.actor_id, "role": member.role, "skills": skills, "places": places},
        )
        self.scene.say(f"{manager} puts {member} on dispatch's roster: {', '.join(skills)}")

    def wait_assigned(self, case_id: str) -> dict[str, Any]:
        state = self.scene.wait_case(
            case_id, lambda c: c.get("assignee") is not None, "dispatch assigns the case"
        )
        who = state["assignee"]
        self.scene.say(
            f"dispatch (on the Reported event, over NATS) assigns {who['id']} ({who['role']})"
        )
        return state

    def task(
        self, who: Person, case_id: str, action: str, body: Mapping[str, Any] | None = None
    ) -> None:
        self.api.post("dispatch", f"/tasks/{case_id}/{action}", who, body or {})
        self.scene.say(f"{who} → dispatch: {action}")

    def leak(
        self, who: Person, case_id: str, action: str, body: Mapping[str, Any], said: str
    ) -> None:
        self.api.post("dispatch", f"/leaks/{case_id}/{action}", who, body)
        self.scene.say(f"{who} → dispatch: {said}")

    def assign_by_hand(self, who: Person, case_id: str, member: Person, why: str) -> None:
        """The property office sends someone from the queue by hand, with why."""
        body = {"member": member.actor_id, "why": why}
        self.api.post("dispatch", f"/queue/{case_id}/assignment", who, body)
        self.scene.say(f"{who} → dispatch: sends {member} by hand")

    def escalate(self, who: Person, case_id: str, reason: str) -> None:
        done = self.api.post("dispatch", f"/tasks/{case_id}/escalation", who, {"reason": reason})
        self.scene.say(f"{who} → dispatch: escalates it to the {done['tier']} tier")

    def note(self, who: Person, case_id: str, text: str) -> None:
        self.api.post("dispatch", f"/tasks/{case_id}/notes", who, {"text": text})
        self.scene.say(f"{who} → dispatch: a note in the case file")

    def link(
        self, who: Person, case_id: str, other: str, relation: str, kinds: tuple[str, str]
    ) -> None:
        body = {"case_id": other, "relation": relation}
        self.api.post("dispatch", f"/tasks/{case_id}/links", who, body)
        self.scene.say(f"{who} → dispatch: links the {kinds[0]} to the {kinds[1]} ({relation})")


class Mediation:
    """What mediators do through mediation: meetings, rounds, agreements, escalations."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.api = scene.api

    def convene(
        self,
        who: Person,
        case_id: str,
        form: str,
        place: str,
        participants: list[Person | tuple[str, str]],
        days: int = 1,
        scheduled_for: str | None = None,
    ) -> str:
        """A meeting `days` ahead in the evening, or at `scheduled_for` (ISO) when given."""
        seats = [
            {"id": p.actor_id, "role": p.role}
            if isinstance(p, Person)
            else {"id": p[0], "role": p[1]}
            for p in participants
        ]
        done = self.api.post(
            "mediation",
            f"/disputes/{case_id}/meetings",
            who,
            {
                "form": form,
                "scheduled_for": scheduled_for or days_ahead(days),
                "place": place,
                "participants": seats,
            },
        )
        label = done.get("label") or ""
        self.scene.say(
            f"{who} → mediation: convenes {label} {form} at {place} ({len(seats)} seats)"
        )
        return str(done["meeting_id"])

    def wait_on_worklist(self, who: Person, case_id: str) -> dict[str, Any]:
        """Until the dispute is on this mediator's worklist: mediation heard of it over NATS."""

        def listed() -> dict[str, Any] | None:
            page = self.api.get("mediation", "/disputes", who, limit=200)
            return next((i for i in page["items"] if i["case_id"] == case_id), None)

        self.scene.progress.step(f"story ({self.scene.letter}): waiting for {who}'s worklist")
        item: dict[str, Any] = wait_for(listed, f"case {case_id} on {who}'s worklist", WAIT)
        self.scene.say(
            f"mediation (on the Reported event, over NATS) puts it on {who.actor_id}'s worklist "
            f"at the {item['tier']} tier"
        )
        return item

    def take_lead(self, who: Person, case_id: str, reason: str) -> None:
        """The mediator answers for the dispute at its tier from now (until it climbs)."""
        done = self.api.post("mediation", f"/disputes/{case_id}/lead", who, {"reason": reason})
        self.scene.say(f"{who} → mediation: takes the lead at the {done['tier']} tier")

    def invite(
        self, who: Person, meeting_id: str, invitees: list[Person | tuple[str, str]], reason: str
    ) -> None:
        """More people asked to the meeting before its round, with the reason."""
        seats = [
            {"id": p.actor_id, "role": p.role}
            if isinstance(p, Person)
            else {"id": p[0], "role": p[1]}
            for p in invitees
        ]
        self.api.post(
            "mediation",
            f"/meetings/{meeting_id}/invitations",
            who,
            {"participants": seats, "reason": reason},
        )
        names = ", ".join(seat["id"] for seat in seats)
        self.scene.say(f"{who} → mediation: invites {names} before the round")

    def round(
        self, who: Person, case_id: str, meeting_id: str, outcome: str, **record: Any
    ) -> None:
        body = {"outcome": outcome, **record}
        self.api.post("mediation", f"/meetings/{meeting_id}/rounds", who, body)
        tally = record.get("tally")
        counted = f"; tally {tally}" if tally else ""
        self.scene.say(f"{who} → mediation: a round, {outcome}{counted}")

    def agree(
        self,
        who: Person,
        case_id: str,
        meeting_id: str,
        terms: list[str],
        commitments: list[dict[str, str]],
        basis: str = "",
    ) -> None:
        self.api.post(
            "mediation",
            f"/disputes/{case_id}/agreement",
            who,
            {"meeting_id": meeting_id, "terms": terms, "commitments": commitments, "basis": basis},
        )
        self.scene.say(
            f"{who} → mediation: agreement, {_count(len(terms), 'term')}, "
            f"{_count(len(commitments), 'commitment')}"
        )

    def escalate(
        self, who: Person, case_id: str, grounds: str, reason: str, matter: str | None = None
    ) -> None:
        body = {"grounds": grounds, "reason": reason}
        if matter:
            body["matter"] = matter
        self.api.post("mediation", f"/disputes/{case_id}/escalate", who, body)
        self.scene.say(f"{who} → mediation: escalate ({grounds})")

    def follow_up(self, who: Person, case_id: str, index: int, kept: bool, note: str) -> None:
        self.api.post(
            "mediation",
            f"/disputes/{case_id}/follow-ups",
            who,
            {"commitment_index": index, "kept": kept, "note": note},
        )
        self.scene.say(f"{who} → mediation: commitment {index + 1} {'kept' if kept else 'broken'}")

    def resolve(self, who: Person, case_id: str, summary: str) -> None:
        self.api.post("mediation", f"/disputes/{case_id}/resolution", who, {"summary": summary})
        self.scene.say(f"{who} → mediation: resolved")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
