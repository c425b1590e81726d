"""The HTTP teller: a story of `casework.stories`, told to the running services by its people.

Each step becomes the request its person makes of the service that owns it (a report to the
intake, work to dispatch, a meeting or a round to mediation), narrated as it is made; what a
service does by itself on the events it hears over NATS (`Match`, `AwaitWorklist`) or records
with another request (`MediationFailed`, with a failed round) is waited for or checked, never
done for it. `MEANS` names the means for every kind of step, so a step added to the vocabulary
without one fails a test (libs/casework-stack/tests/test_teller.py) rather than a story.

The services keep real time, so the story's own clock (`At`, `After`) is kept only to turn its
dates into the same distances from now: a meeting the story holds a day after the report is
convened for a day from now, a commitment due in a week is due a week from today.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from casework.domain.actors import Actor
from casework.stories import steps as s

from casework_stack.client import Person, StepFailedError
from casework_stack.scene import Dispatch, Mediation, Scene, due_in

WORKED = ("repair", "leak")
"""The kinds of case dispatch works (and writes in the case files of); disputes are mediation's."""


def reporter(who: Person, contact: str) -> dict[str, Any]:
    """A report's `reporter` with their contact (the reporter reports themself), if any."""
    if not contact:
        return {}
    return {"reporter": {"id": who.actor_id, "role": who.role, "contact": contact}}


class HttpTeller:
    """One story told in one scene: the ids the services gave its cases and meetings."""

    def __init__(self, scene: Scene, story: s.Story) -> None:
        self.scene, self.story = scene, story
        self.api = scene.api
        self.mediation = Mediation(scene)
        self.dispatch = Dispatch(scene)
        self.clock: datetime | None = None
        self.cases: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.reports: dict[str, dict[str, Any]] = {}
        """What each case's first report said, for a second reporter of the same matter."""
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

    def do(self, step: s.Step) -> None:
        """The step's means; a refusal names the step it stopped at."""
        means = MEANS.get(type(step))
        if means is None:
            raise StepFailedError(f"the HTTP teller has no means for {step!r}")
        try:
            means(self, step)
        except StepFailedError as error:
            name = type(step).__name__
            if str(error).startswith(f"{name}: "):
                raise
            raise StepFailedError(f"{name}: {error}") from error

    # ---------------------------------------------------------------- plumbing

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

    def case_of(self, step: Any, label: str | None = None) -> str:
        label = label if label is not None else getattr(step, "case", None)
        if label not in self.cases:
            raise StepFailedError(f"{type(step).__name__} names case {label!r}, not opened")
        return self.cases[label]

    def kind_of(self, label: str) -> str:
        return self.kinds.get(label, "case")

    def worked(self, step: Any, what: str) -> str:
        """The case of `step`, which dispatch must work for `what` to be told over HTTP."""
        case = self.case_of(step)
        kind = self.kind_of(step.case)
        if kind not in WORKED:
            raise StepFailedError(
                f"no service takes {what} for a {kind}: dispatch writes in the case files of "
                "repairs and leaks, and mediation and the intake have no route for it"
            )
        return case

    # ---------------------------------------------------------------- time

    def at(self, step: s.At) -> None:
        self.clock = step.when

    def after(self, step: s.After) -> None:
        self.clock = self.clock + step.delta if self.clock is not None else None

    def scheduler_tick(self, step: s.SchedulerTick) -> None:
        """The services' schedulers keep real time on their own: in a demo's seconds nothing
        falls due, so there is nothing to ask of them, and nothing to wait for."""
        self.case_of(step)

    # ---------------------------------------------------------------- the intake

    def opened(self, step: Any, kind: str, body: dict[str, Any]) -> None:
        who = self.person(step.who)
        self.cases[step.case] = self.scene.report(who, {**body, **reporter(who, step.contact)})
        self.kinds[step.case] = kind
        self.reports[step.case] = body

    def report_repair(self, step: s.ReportRepair) -> None:
        body = {
            "kind": "repair",
            "category": step.category,
            "address": step.address,
            "description": step.description,
            "channel": step.channel,
        }
        self.opened(step, "repair", body)

    def report_leak(self, step: s.ReportLeak) -> None:
        body = {
            "kind": "leak",
            "address": step.address,
            "description": step.description,
            "source_unit": step.source_unit,
            "source_unoccupied": step.source_unoccupied,
            "channel": step.channel,
        }
        self.opened(step, "leak", body)

    def report_dispute(self, step: s.ReportDispute) -> None:
        body = {
            "kind": "dispute",
            "category": step.category,
            "address": step.address,
            "description": step.description,
            "parties": list(step.parties),
            "channel": step.channel,
        }
        self.opened(step, "dispute", body)

    def add_reporter(self, step: s.AddReporter) -> None:
        """The same matter reported again by someone else: the intake joins them to the open
        case when its rules call it the same matter (a leak from the same flat, a blocked road
        or gate); it has no route to add a reporter to a case named by id."""
        case = self.case_of(step)
        who = self.person(step.who)
        body = {**self.reports[step.case], "channel": step.channel, **reporter(who, step.contact)}
        done = self.api.post("intake", "/cases", who, body)
        if done["case_id"] != case:
            self.scene.cases.append(done["case_id"])
            raise StepFailedError(
                f"the intake opened another case ({done['outcome']}) rather than joining "
                f"{who} to the {self.kind_of(step.case)}: it joins a second reporter only to a "
                "leak from the same flat or a blocked road or gate"
            )
        self.scene.say(
            f"{who} reports the same to the intake: {done['outcome']} to the open "
            f"{done['kind']} case as a second reporter"
        )

    def acknowledge(self, step: s.Acknowledge) -> None:
        who = self.person(step.who)
        case = self.case_of(step)
        done = self.api.post("intake", f"/cases/{case}/acknowledgement", who, {"note": step.note})
        self.scene.say(f"{who} → intake: acknowledges it (受理) at the {done['tier']} tier")

    def reopen(self, step: s.Reopen) -> None:
        who = self.person(step.who)
        case = self.case_of(step)
        self.api.post("intake", f"/cases/{case}/reopening", who, {"reason": step.why})
        self.scene.say(f"{who} → intake: reopens it")

    def resolve(self, step: s.Resolve) -> None:
        case, kind = self.case_of(step), self.kind_of(step.case)
        if kind == "dispute":
            self.mediation.resolve(self.person(step.who), case, step.summary)
        elif kind == "leak":  # a leak's work is its protocol: finishing it settles the leak
            self.dispatch.task(self.person(step.who), case, "finish", {"summary": step.summary})
        else:
            self.scene.wait_case(
                case, lambda c: c["status"] == "resolved", "dispatch settles the done work"
            )
            self.scene.say(f"dispatch (on WorkDone) settles the {kind} for the resident to confirm")

    def confirm(self, step: s.Confirm) -> None:
        who = self.person(step.who)
        self.api.post("intake", f"/cases/{self.case_of(step)}/confirmation", who)
        what = "settlement" if self.kind_of(step.case) == "dispute" else "work"
        self.confirming = (who, what)

    def rate(self, step: s.Rate) -> None:
        who = self.person(step.who)
        body = {"score": step.score, "comment": step.comment}
        self.api.post("intake", f"/cases/{self.case_of(step)}/rating", who, body)
        if self.confirming is not None:
            self.say_confirmed(step.score)
        else:
            self.scene.say(f"{who} → intake: rates it {step.score}")

    def return_visit(self, step: s.ReturnVisit) -> None:
        who = self.person(step.who)
        case = self.case_of(step)
        self.api.post("intake", f"/cases/{case}/return-visits", who, {"note": step.note})
        self.scene.say(f"{who} → intake: return visit recorded")

    def close(self, step: s.Close) -> None:
        who = self.person(step.who)
        case = self.case_of(step)
        self.api.post("intake", f"/cases/{case}/closure", who, {"reason": step.why})
        self.scene.say(f"{who} → intake: closes the case file (结案)")

    # ---------------------------------------------------------------- dispatch

    def put_on_roster(self, step: s.PutOnRoster) -> None:
        self.dispatch.put_on_roster(
            self.person(step.who), self.person(step.member), list(step.skills), list(step.places)
        )

    def match(self, step: s.Match) -> None:
        assigned = self.dispatch.wait_assigned(self.case_of(step))["assignee"]
        if assigned["id"] != step.assignee.id:
            raise StepFailedError(
                f"dispatch assigned {assigned['id']}, the story has {step.assignee.id}"
            )

    def assign(self, step: s.Assign) -> None:
        """By hand, from the queue: someone the rule would not send (dispatch refuses work
        somebody holds; the story must have it declined or waiting first)."""
        self.dispatch.assign_by_hand(
            self.person(step.who), self.case_of(step), self.person(step.assignee), step.why
        )

    def decline(self, step: s.DeclineAssignment) -> None:
        self.dispatch.task(
            self.person(step.who), self.case_of(step), "decline", {"reason": step.why}
        )

    def accept(self, step: s.AcceptTask) -> None:
        self.dispatch.task(self.person(step.who), self.case_of(step), "accept")

    def start(self, step: s.StartWork) -> None:
        self.dispatch.task(self.person(step.who), self.case_of(step), "start")

    def finish(self, step: s.FinishWork) -> None:
        body = {"summary": step.summary}
        self.dispatch.task(self.person(step.who), self.case_of(step), "finish", body)

    def escalate(self, step: s.Escalate) -> None:
        """A repair or a leak up a rung through dispatch; a dispute through mediation, which
        asks for grounds: a plain escalation's are `other`, in the escalator's words."""
        case, who = self.case_of(step), self.person(step.who)
        if self.kind_of(step.case) == "dispute":
            self.mediation.escalate(who, case, "other", step.why)
        else:
            self.dispatch.escalate(who, self.worked(step, "an escalation"), step.why)

    def add_note(self, step: s.AddNote) -> None:
        self.dispatch.note(self.person(step.who), self.worked(step, "a note"), step.text)

    def link(self, step: s.LinkCases) -> None:
        """Through dispatch, on whichever of the two it works: both files record the link."""
        case, other = self.case_of(step), self.case_of(step, step.other)
        kinds = self.kind_of(step.case), self.kind_of(step.other)
        if kinds[0] not in WORKED and kinds[1] in WORKED:
            case, other, kinds = other, case, (kinds[1], kinds[0])
        if kinds[0] not in WORKED:
            raise StepFailedError(
                f"no service links a {kinds[0]} to a {kinds[1]}: dispatch links the repairs "
                "and leaks it works, and mediation and the intake have no route for it"
            )
        self.dispatch.link(self.person(step.who), case, other, step.relation, kinds)

    # ---------------------------------------------------------------- leaks

    def attempt_contact(self, step: s.AttemptContact) -> None:
        body = {"channel": step.channel, "outcome": step.outcome, "note": step.note}
        said = f"contacts the owner ({step.channel}): {step.outcome}".replace("_", " ")
        self.dispatch.leak(
            self.person(step.who), self.case_of(step), "contact-attempts", body, said
        )

    def arrive(self, step: s.ArriveOnSite) -> None:
        self.dispatch.leak(self.person(step.who), self.case_of(step), "arrival", {}, "on site")

    def stop_water(self, step: s.StopWater) -> None:
        body = {"method": step.method, "note": step.note}
        said = f"water stopped ({step.method})".replace("_", " ")
        self.dispatch.leak(self.person(step.who), self.case_of(step), "water-stopped", body, said)

    def record_cause(self, step: s.RecordCause) -> None:
        body = {
            "cause": step.cause,
            "damage": step.damage,
            "damaged_units": list(step.damaged_units),
        }
        said = f"cause recorded; damaged: {', '.join(step.damaged_units)}"
        self.dispatch.leak(self.person(step.who), self.case_of(step), "cause", body, said)

    def open_damage_dispute(self, step: s.OpenDamageDispute) -> None:
        who = self.person(step.who)
        body = {
            "address": step.address,
            "description": step.description,
            "parties": list(step.parties),
        }
        leak_id = self.case_of(step, step.leak)
        opened = self.api.post("dispatch", f"/leaks/{leak_id}/damage-dispute", who, body)
        self.cases[step.case] = dispute_id = str(opened["dispute_id"])
        self.kinds[step.case] = "dispute"
        self.scene.cases.append(dispute_id)
        flat = step.address.rsplit("/", 1)[-1]
        self.scene.say(f"{who} → dispatch: opens a damage dispute for {flat}, linked to the leak")

    def await_findings(self, step: s.AwaitFindings) -> None:
        self.scene.wait_event(self.case_of(step), "NoteAdded")
        self.scene.say(
            "mediation (on the link, over NATS) notes the leak's findings on the dispute"
        )

    # ---------------------------------------------------------------- mediation

    def await_worklist(self, step: s.AwaitWorklist) -> None:
        self.mediation.wait_on_worklist(self.person(step.who), self.case_of(step))

    def take_lead(self, step: s.TakeLead) -> None:
        self.mediation.take_lead(self.person(step.who), self.case_of(step), step.why)

    def convene(self, step: s.Convene) -> None:
        self.meetings[step.meeting] = self.mediation.convene(
            self.person(step.who),
            self.case_of(step),
            step.form,
            step.place,
            [(seat.id, seat.role) for seat in step.seats],
            scheduled_for=self.from_now(step.scheduled_for),
        )

    def invite(self, step: s.Invite) -> None:
        seats: list[Person | tuple[str, str]] = [(t.id, t.role) for t in step.seats]
        self.mediation.invite(self.person(step.who), self.meeting(step), seats, step.why)

    def hold_round(self, step: s.HoldRound) -> None:
        record = {
            "attendees": list(step.attendees),
            "positions": dict(step.positions),
            "proposals": list(step.proposals),
            "options": list(step.options),
            "tally": dict(step.tally),
            "note": step.note,
        }
        self.mediation.round(
            self.person(step.who),
            self.case_of(step),
            self.meeting(step),
            step.outcome,
            **{k: v for k, v in record.items() if v},
        )

    def mediation_failed(self, step: s.MediationFailed) -> None:
        """Mediation records a failed mediation with the failed round that shows it (one
        request, one transaction), so the round's step has asked for it already: the case
        file must hold it for that meeting."""
        meeting = self.meeting(step)
        events = self.scene.history(self.case_of(step))["events"]
        if not any(
            e["event"] == "MediationFailed" and e["details"].get("meeting_id") == meeting
            for e in events
        ):
            raise StepFailedError(
                "mediation records a failed mediation with a failed round only: hold the "
                "meeting's round with outcome 'failed' first"
            )
        self.scene.say("mediation (with the failed round) records the mediation failed (调解未成)")

    def agree(self, step: s.Agree) -> None:
        self.mediation.agree(
            self.person(step.who),
            self.case_of(step),
            self.meeting(step),
            list(step.terms),
            [
                {"who": c.who, "what": c.what, "due": self.due_from_today(c.due)}
                for c in step.commitments
            ],
            step.basis,
        )

    def escalate_on_grounds(self, step: s.EscalateOnGrounds) -> None:
        self.mediation.escalate(
            self.person(step.who), self.case_of(step), step.grounds, step.why, step.matter
        )

    def follow_up(self, step: s.FollowUp) -> None:
        self.mediation.follow_up(
            self.person(step.who), self.case_of(step), step.index, step.kept, step.note
        )

    def meeting(self, step: Any) -> str:
        if step.meeting not in self.meetings:
            raise StepFailedError(
                f"{type(step).__name__} names meeting {step.meeting!r}, not convened"
            )
        return self.meetings[step.meeting]


MEANS: dict[type[Any], Callable[[HttpTeller, Any], None]] = {
    s.At: HttpTeller.at,
    s.After: HttpTeller.after,
    s.SchedulerTick: HttpTeller.scheduler_tick,
    s.ReportRepair: HttpTeller.report_repair,
    s.ReportLeak: HttpTeller.report_leak,
    s.ReportDispute: HttpTeller.report_dispute,
    s.AddReporter: HttpTeller.add_reporter,
    s.Acknowledge: HttpTeller.acknowledge,
    s.Reopen: HttpTeller.reopen,
    s.Resolve: HttpTeller.resolve,
    s.Confirm: HttpTeller.confirm,
    s.Rate: HttpTeller.rate,
    s.ReturnVisit: HttpTeller.return_visit,
    s.Close: HttpTeller.close,
    s.PutOnRoster: HttpTeller.put_on_roster,
    s.Match: HttpTeller.match,
    s.Assign: HttpTeller.assign,
    s.DeclineAssignment: HttpTeller.decline,
    s.AcceptTask: HttpTeller.accept,
    s.StartWork: HttpTeller.start,
    s.FinishWork: HttpTeller.finish,
    s.Escalate: HttpTeller.escalate,
    s.AddNote: HttpTeller.add_note,
    s.LinkCases: HttpTeller.link,
    s.AttemptContact: HttpTeller.attempt_contact,
    s.ArriveOnSite: HttpTeller.arrive,
    s.StopWater: HttpTeller.stop_water,
    s.RecordCause: HttpTeller.record_cause,
    s.OpenDamageDispute: HttpTeller.open_damage_dispute,
    s.AwaitFindings: HttpTeller.await_findings,
    s.AwaitWorklist: HttpTeller.await_worklist,
    s.TakeLead: HttpTeller.take_lead,
    s.Convene: HttpTeller.convene,
    s.Invite: HttpTeller.invite,
    s.HoldRound: HttpTeller.hold_round,
    s.MediationFailed: HttpTeller.mediation_failed,
    s.Agree: HttpTeller.agree,
    s.EscalateOnGrounds: HttpTeller.escalate_on_grounds,
    s.FollowUp: HttpTeller.follow_up,
}
"""Every kind of step, and the teller's means for it (the requests it makes, or the wait)."""
