"""The HTTP teller: a story of `casework.stories`, told to the running services by its people.

Each step becomes the request its person makes of the service that owns it (a report to the
intake, a meeting or a round to mediation), narrated as `Mediation` narrates it; what a service
does by itself on the events it hears over NATS (`AwaitWorklist`) is waited for, never done
for it. The services keep real time, so the story's own clock (`At`, `After`) is kept only to
turn its dates into the same distances from now: a meeting the story holds a day after the
report is convened for a day from now, a commitment due in a week is due a week from today.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from casework.domain.actors import Actor
from casework.stories import steps as s

from casework_stack.client import Person, StepFailedError
from casework_stack.scene import Dispatch, Mediation, Scene, due_in


class HttpTeller:
    """One story told in one scene: the ids the services gave its cases and meetings."""

    def __init__(self, scene: Scene, story: s.Story) -> None:
        self.scene, self.story = scene, story
        self.mediation = Mediation(scene)
        self.dispatch = Dispatch(scene)
        self.clock: datetime | None = None
        self.cases: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.meetings: dict[str, str] = {}
        self.confirming: tuple[Person, str] | None = None

    def tell(self) -> list[str]:
        for step in self.story.steps:
            if self.confirming is not None and not isinstance(step, s.Rate | s.At | s.After):
                self.say_confirmed()
            self.do(step)
        if self.confirming is not None:
            self.say_confirmed()
        return [self.cases[label] for label in self.story.shows]

    def say_confirmed(self, rating: int | None = None) -> None:
        """A confirmation is said in one line with the rating that follows it, if one does."""
        assert self.confirming is not None
        who, what = self.confirming
        self.confirming = None
        rated = f" and rates it {rating}" if rating is not None else ""
        self.scene.say(f"{who} → intake: confirms the {what}{rated}")

    def person(self, actor: Actor) -> Person:
        return self.scene.person(actor.id, actor.role.value, self.story.places.get(actor.id))

    def from_now(self, when: datetime | timedelta) -> str:
        """`when`, as far from now as it is from the story's clock (a `timedelta`: from now)."""
        if isinstance(when, timedelta):
            return (datetime.now(UTC) + when).isoformat()
        ahead = when - self.clock if self.clock is not None else timedelta(0)
        return (datetime.now(UTC) + ahead).astimezone(when.tzinfo).isoformat()

    def due_from_today(self, due: str) -> str:
        today = self.clock.date() if self.clock is not None else date.fromisoformat(due)
        return due_in((date.fromisoformat(due) - today).days)

    def do(self, step: s.Step) -> None:
        match step:
            case s.At(when):
                self.clock = when
            case s.After(delta):
                self.clock = self.clock + delta if self.clock is not None else None
            case s.PutOnRoster():
                self.dispatch.put_on_roster(
                    self.person(step.who),
                    self.person(step.member),
                    list(step.skills),
                    list(step.places),
                )
            case s.ReportRepair():
                body: dict[str, Any] = {
                    "kind": "repair",
                    "category": step.category,
                    "address": step.address,
                    "description": step.description,
                    "channel": step.channel,
                }
                self.cases[step.case] = self.scene.report(self.person(step.who), body)
                self.kinds[step.case] = "repair"
            case s.ReportLeak():
                leak: dict[str, Any] = {
                    "kind": "leak",
                    "address": step.address,
                    "description": step.description,
                    "source_unit": step.source_unit,
                    "source_unoccupied": step.source_unoccupied,
                    "channel": step.channel,
                }
                self.cases[step.case] = self.scene.report(self.person(step.who), leak)
                self.kinds[step.case] = "leak"
            case s.OpenDamageDispute():
                who = self.person(step.who)
                body = {
                    "address": step.address,
                    "description": step.description,
                    "parties": list(step.parties),
                }
                leak_id = self.cases[step.leak]
                opened = self.scene.api.post(
                    "dispatch", f"/leaks/{leak_id}/damage-dispute", who, body
                )
                self.cases[step.case] = dispute_id = str(opened["dispute_id"])
                self.kinds[step.case] = "dispute"
                self.scene.cases.append(dispute_id)
                flat = step.address.rsplit("/", 1)[-1]
                self.scene.say(
                    f"{who} → dispatch: opens a damage dispute for {flat}, linked to the leak"
                )
            case s.ReportDispute():
                dispute: dict[str, Any] = {
                    "kind": "dispute",
                    "category": step.category,
                    "address": step.address,
                    "description": step.description,
                    "parties": list(step.parties),
                    "channel": step.channel,
                }
                self.cases[step.case] = self.scene.report(self.person(step.who), dispute)
                self.kinds[step.case] = "dispute"
            case _:
                self.act(step, self.case_of(step))

    def case_of(self, step: s.Step) -> str:
        label = getattr(step, "case", None)
        if label not in self.cases:
            raise StepFailedError(f"{type(step).__name__} names case {label!r}, not opened")
        return self.cases[label]

    def act(self, step: s.Step, case: str) -> None:
        """A step on a case the story has opened: the request of the service that owns it."""
        mediation, dispatch, api = self.mediation, self.dispatch, self.scene.api
        match step:
            case s.SchedulerTick():
                pass  # dispatch's scheduler keeps real time: in a demo's seconds nothing is due
            case s.AwaitFindings():
                self.scene.wait_event(case, "NoteAdded")
                self.scene.say(
                    "mediation (on the link, over NATS) notes the leak's findings on the dispute"
                )
            case s.AttemptContact():
                body: dict[str, Any] = {
                    "channel": step.channel,
                    "outcome": step.outcome,
                    "note": step.note,
                }
                said = f"contacts the owner ({step.channel}): {step.outcome}".replace("_", " ")
                dispatch.leak(self.person(step.who), case, "contact-attempts", body, said)
            case s.ArriveOnSite():
                dispatch.leak(self.person(step.who), case, "arrival", {}, "on site")
            case s.StopWater():
                body = {"method": step.method, "note": step.note}
                said = f"water stopped ({step.method})".replace("_", " ")
                dispatch.leak(self.person(step.who), case, "water-stopped", body, said)
            case s.RecordCause():
                body = {
                    "cause": step.cause,
                    "damage": step.damage,
                    "damaged_units": list(step.damaged_units),
                }
                said = f"cause recorded; damaged: {', '.join(step.damaged_units)}"
                dispatch.leak(self.person(step.who), case, "cause", body, said)
            case s.Resolve() if self.kinds.get(step.case) == "leak":
                # a leak's work is its protocol: finishing it settles the leak
                dispatch.task(self.person(step.who), case, "finish", {"summary": step.summary})
            case s.Match():
                assigned = dispatch.wait_assigned(case)["assignee"]
                if assigned["id"] != step.assignee.id:
                    raise StepFailedError(
                        f"dispatch assigned {assigned['id']}, the story has {step.assignee.id}"
                    )
            case s.AcceptTask():
                dispatch.task(self.person(step.who), case, "accept")
            case s.StartWork():
                dispatch.task(self.person(step.who), case, "start")
            case s.FinishWork():
                dispatch.task(self.person(step.who), case, "finish", {"summary": step.summary})
            case s.AwaitWorklist():
                mediation.wait_on_worklist(self.person(step.who), case)
            case s.Convene():
                self.meetings[step.meeting] = mediation.convene(
                    self.person(step.who),
                    case,
                    step.form,
                    step.place,
                    [(seat.id, seat.role) for seat in step.seats],
                    scheduled_for=self.from_now(step.scheduled_for),
                )
            case s.HoldRound():
                record = {
                    "attendees": list(step.attendees),
                    "positions": dict(step.positions),
                    "proposals": list(step.proposals),
                    "options": list(step.options),
                    "tally": dict(step.tally),
                    "note": step.note,
                }
                mediation.round(
                    self.person(step.who),
                    case,
                    self.meetings[step.meeting],
                    step.outcome,
                    **{k: v for k, v in record.items() if v},
                )
            case s.Agree():
                mediation.agree(
                    self.person(step.who),
                    case,
                    self.meetings[step.meeting],
                    list(step.terms),
                    [
                        {"who": c.who, "what": c.what, "due": self.due_from_today(c.due)}
                        for c in step.commitments
                    ],
                    step.basis,
                )
            case s.TakeLead():
                mediation.take_lead(self.person(step.who), case, step.why)
            case s.Invite():
                seats: list[Person | tuple[str, str]] = [(t.id, t.role) for t in step.seats]
                mediation.invite(
                    self.person(step.who), self.meetings[step.meeting], seats, step.why
                )
            case s.EscalateOnGrounds():
                mediation.escalate(self.person(step.who), case, step.grounds, step.why, step.matter)
            case s.FollowUp():
                mediation.follow_up(self.person(step.who), case, step.index, step.kept, step.note)
            case s.Resolve() if self.kinds.get(step.case) == "dispute":
                mediation.resolve(self.person(step.who), case, step.summary)
            case s.Resolve():
                kind = self.kinds.get(step.case, "case")
                self.scene.wait_case(
                    case, lambda c: c["status"] == "resolved", "dispatch settles the done work"
                )
                self.scene.say(
                    f"dispatch (on WorkDone) settles the {kind} for the resident to confirm"
                )
            case s.Confirm():
                who = self.person(step.who)
                api.post("intake", f"/cases/{case}/confirmation", who)
                what = "settlement" if self.kinds.get(step.case) == "dispute" else "work"
                self.confirming = (who, what)
            case s.Rate():
                who = self.person(step.who)
                body = {"score": step.score, "comment": step.comment}
                api.post("intake", f"/cases/{case}/rating", who, body)
                if self.confirming is not None:
                    self.say_confirmed(step.score)
                else:
                    self.scene.say(f"{who} → intake: rates it {step.score}")
            case s.ReturnVisit():
                who = self.person(step.who)
                api.post("intake", f"/cases/{case}/return-visits", who, {"note": step.note})
                self.scene.say(f"{who} → intake: return visit recorded")
            case s.Close():
                who = self.person(step.who)
                api.post("intake", f"/cases/{case}/closure", who, {"reason": step.why})
                self.scene.say(f"{who} → intake: closes the case file (结案)")
            case _:
                raise StepFailedError(f"the HTTP teller has no means yet for {step!r}")
