"""The in-process teller: each step of a story is one command of the `Casework` application,
on a hand-moved clock, so a story tells the same on every run apart from ids and hashes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from casework.application import Casework
from casework.clock import FakeClock
from casework.domain.actors import SYSTEM
from casework.stories import steps as s


@dataclass
class Told:
    """What telling a story left: its cases and meetings by label, and the scheduler's notes."""

    cases: dict[str, UUID] = field(default_factory=dict)
    meetings: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class InProcess:
    app: Casework
    clock: FakeClock

    def tell(self, story: s.Story) -> Told:
        told = Told()
        for step in story.steps:
            self.do(step, told)
        return told

    def do(self, step: s.Step, told: Told) -> None:
        app, case = self.app, told.cases.get(getattr(step, "case", ""))
        match step:
            case s.At(when):
                self.clock.set(when)
            case s.After(delta):
                self.clock.advance(delta)
            case s.ReportRepair():
                told.cases[step.case] = app.report_repair(
                    step.who,
                    step.address,
                    step.description,
                    step.category,
                    channel=step.channel,
                    contact=step.contact,
                )
            case s.ReportLeak():
                told.cases[step.case] = app.report_leak(
                    step.who,
                    step.address,
                    step.description,
                    step.source_unit,
                    source_unoccupied=step.source_unoccupied,
                    channel=step.channel,
                    contact=step.contact,
                )
            case s.ReportDispute():
                told.cases[step.case] = app.report_dispute(
                    step.who,
                    step.address,
                    step.description,
                    step.category,
                    list(step.parties),
                    channel=step.channel,
                    contact=step.contact,
                )
            case s.Convene():
                scheduled = step.scheduled_for
                told.meetings[step.meeting] = app.convene_mediation(
                    _known(case, step),
                    step.who,
                    step.form,
                    self.clock() + scheduled if isinstance(scheduled, timedelta) else scheduled,
                    step.place,
                    [{"id": seat.id, "role": seat.role} for seat in step.seats],
                )
            case s.OpenDamageDispute():
                leak = told.cases[step.leak]
                told.cases[step.case] = damage = app.report_dispute(
                    step.who,
                    step.address,
                    step.description,
                    "leak_between_flats",
                    list(step.parties),
                )
                app.link_cases(leak, damage, step.who, "damage_dispute")
            case s.PutOnRoster():
                pass  # the roster is dispatch's; the library keeps none
            case s.SchedulerTick():
                reason = app.escalate_if_due(_known(case, step), SYSTEM)
                now = self.clock().strftime("%H:%M")
                told.notes.append(
                    f"{now} scheduler: escalated automatically ({reason})"
                    if reason
                    else f"{now} scheduler: nothing due"
                )
            case _:
                self.act(step, _known(case, step), told)

    def act(self, step: s.Step, case: UUID, told: Told) -> None:
        """A step on a case the story has already opened."""
        app = self.app
        match step:
            case s.Acknowledge():
                app.acknowledge(case, step.who, step.note)
            case s.Escalate():
                app.escalate(case, step.who, step.why)
            case s.AddNote():
                app.add_note(case, step.who, step.text)
            case s.LinkCases():
                app.link_cases(case, told.cases[step.other], step.who, step.relation)
            case s.Resolve():
                app.resolve(case, step.who, step.summary)
            case s.Confirm():
                app.confirm_resolution(case, step.who)
            case s.Rate():
                app.rate_satisfaction(case, step.who, step.score, step.comment)
            case s.ReturnVisit():
                app.record_return_visit(case, step.who, step.note)
            case s.Close():
                app.close_case(case, step.who, step.why)
            case s.Assign():
                app.assign(case, step.who, step.assignee, step.why)
            case s.Match():
                app.assign(case, step.who, step.assignee, step.why)
            case s.AcceptTask():
                app.accept_assignment(case, step.who)
            case s.StartWork():
                app.start_work(case, step.who)
            case s.FinishWork():
                app.finish_work(case, step.who, step.summary)
            case s.AttemptContact():
                app.attempt_owner_contact(case, step.who, step.channel, step.outcome, step.note)
            case s.ArriveOnSite():
                app.arrive_on_site(case, step.who)
            case s.StopWater():
                app.stop_water(case, step.who, step.method, step.note)
            case s.RecordCause():
                app.record_cause(case, step.who, step.cause, step.damage, list(step.damaged_units))
            case s.HoldRound():
                app.hold_round(
                    case,
                    step.who,
                    told.meetings[step.meeting],
                    list(step.attendees),
                    step.outcome,
                    positions=dict(step.positions) or None,
                    proposals=list(step.proposals) or None,
                    options=list(step.options) or None,
                    tally=dict(step.tally) or None,
                    note=step.note,
                )
            case s.Agree():
                app.reach_agreement(
                    case,
                    step.who,
                    told.meetings[step.meeting],
                    list(step.terms),
                    [{"who": c.who, "what": c.what, "due": c.due} for c in step.commitments],
                    step.basis,
                )
            case s.FollowUp():
                app.record_follow_up(case, step.who, step.index, step.kept, step.note)
            case s.AddReporter():
                app.add_reporter(case, step.who, step.channel, step.contact)
            case s.Reopen():
                app.reopen(case, step.who, step.why)
            case s.DeclineAssignment():
                app.decline_assignment(case, step.who, step.why)
            case s.MediationFailed():
                app.record_mediation_failed(case, step.who, told.meetings[step.meeting], step.why)
            case s.AwaitFindings():
                pass  # mediation, a service, notes the findings; the library alone has no one
            case s.AwaitWorklist():
                pass  # no worklist in process: the case is on the record already
            case s.TakeLead():
                app.name_lead_mediator(case, step.who, step.who, step.why)
            case s.Invite():
                app.invite_participants(
                    case,
                    step.who,
                    told.meetings[step.meeting],
                    [{"id": seat.id, "role": seat.role} for seat in step.seats],
                    step.why,
                )
            case s.EscalateOnGrounds():
                app.escalate_dispute(case, step.who, step.grounds, step.why, step.matter)
            case _:
                raise TypeError(f"the in-process teller has no means for {step!r}")


def _known(case: UUID | None, step: s.Step) -> UUID:
    if case is None:
        raise KeyError(f"{step!r} names a case the story has not opened")
    return case
