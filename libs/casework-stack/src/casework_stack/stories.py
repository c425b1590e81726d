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
    ) -> str:
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
                "scheduled_for": days_ahead(days),
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


def resident_closes_the_loop(
    scene: Scene, resident: Person, staff: Person, case_id: str, comment: str
) -> None:
    """Confirm, rate 5, the return visit (回访), then staff close the case file (结案)."""
    scene.api.post("intake", f"/cases/{case_id}/confirmation", resident)
    scene.api.post("intake", f"/cases/{case_id}/rating", resident, {"score": 5, "comment": comment})
    scene.say(f"{resident} → intake: confirms the work and rates it 5")
    scene.api.post(
        "intake", f"/cases/{case_id}/return-visits", staff, {"note": "called back: all well"}
    )
    scene.say(f"{staff} → intake: return visit recorded")
    scene.api.post(
        "intake", f"/cases/{case_id}/closure", staff, {"reason": "confirmed and visited back"}
    )
    scene.say(f"{staff} → intake: closes the case file (结案)")


# ------------------------------------------------------------------ (a) the leak


def leak_story(scene: Scene) -> list[str]:
    """嘉庭 building 3: water under the door of 0502, being renovated, nobody living there."""
    neighbour = scene.person("resident-b3-0501", "resident")
    below = scene.person("resident-b3-0402", "resident")
    manager = scene.person("property-manager-jiating", "property_manager", JIATING)
    staff = scene.person("property-staff-liu", "property_staff", JIATING)
    leader = scene.person("building-leader-b3", "building_leader", f"{JIATING}/b3")
    owner = "owner-b3-0502"
    dispatch, mediation = Dispatch(scene), Mediation(scene)
    dispatch.put_on_roster(manager, staff, ["plumbing", "general_repairs"], [JIATING])
    leak = scene.report(
        neighbour,
        {
            "kind": "leak",
            "address": f"{JIATING}/b3/0501",
            "description": "对门0502在装修没人住，水从门缝里渗出来 — water seeping out under the "
            "door of 0502 opposite; it is being renovated and nobody lives there",
            "source_unit": "0502",
            "source_unoccupied": True,
            "channel": "wechat",
        },
    )
    dispatch.wait_assigned(leak)
    dispatch.task(staff, leak, "accept")
    attempts = (
        ("phone", "no_answer", "owner's number on file", "calls the owner of 0502: no answer"),
        ("wechat", "message_left", "sent photos of the water", "WeChat to the owner: a message"),
    )
    for channel, outcome, note, said in attempts:
        body = {"channel": channel, "outcome": outcome, "note": note}
        dispatch.leak(staff, leak, "contact-attempts", body, said)
    dispatch.leak(staff, leak, "arrival", {}, "on site: the door of 0502 is locked")
    dispatch.leak(
        staff,
        leak,
        "contact-attempts",
        {"channel": "phone", "outcome": "reached", "note": "answered the third call; on his way"},
        "calls again: the owner is reached",
    )
    dispatch.leak(
        staff,
        leak,
        "water-stopped",
        {"method": "owner_closed_valve", "note": "the owner opened up and closed the valve"},
        "the owner closes the valve: water stopped",
    )
    dispatch.leak(
        staff,
        leak,
        "cause",
        {
            "cause": "the renovation worker had left the water-supply valve open after work",
            "damage": "water came through the floor: a stained kitchen ceiling in 0402",
            "damaged_units": ["0402"],
        },
        "cause recorded: a valve left open by the renovation worker; 0402 damaged",
    )
    opened = scene.api.post(
        "dispatch",
        f"/leaks/{leak}/damage-dispute",
        staff,
        {
            "address": f"{JIATING}/b3/0402",
            "description": "楼上装修漏水，厨房天花板被泡 — who repaints 0402's kitchen ceiling?",
            "parties": [below.actor_id, owner],
        },
    )
    dispute = str(opened["dispute_id"])
    scene.cases.append(dispute)
    scene.say(f"{staff} → dispatch: opens a damage dispute for 0402, linked to the leak")
    scene.wait_event(dispute, "NoteAdded")
    scene.say("mediation (on the link, over NATS) notes the leak's findings on the dispute")
    dispatch.task(
        staff,
        leak,
        "finish",
        {"summary": "water stopped; the renovation company now shuts the main valve"},
    )
    resident_closes_the_loop(scene, neighbour, staff, leak, "the property office acted at once")

    mediation.wait_on_worklist(leader, dispute)
    talk = mediation.convene(
        leader, dispute, "building_talk", "building 3 lobby", [leader, below, (owner, "resident")]
    )
    mediation.round(
        leader,
        dispute,
        talk,
        "agreed",
        attendees=[leader.actor_id, below.actor_id, owner],
        positions={below.actor_id: "wants the ceiling repainted", owner: "accepts"},
        proposals=["the renovation company repaints the ceiling"],
        note="settled in one evening in the lobby",
    )
    mediation.agree(
        leader,
        dispute,
        talk,
        ["the owner of 0502 has his renovation company repaint the kitchen ceiling of 0402"],
        [{"who": owner, "what": "repaint the kitchen ceiling of 0402", "due": due_in(4)}],
        "both households agreed at the building talk",
    )
    mediation.follow_up(leader, dispute, 0, True, "ceiling repainted; 0402 satisfied")
    mediation.resolve(leader, dispute, "damage repaired as agreed, within the building")
    return [leak, dispute]


# ------------------------------------------------------------------ (b) the volunteer repair


def volunteer_repair_story(scene: Scene) -> list[str]:
    """嘉庭 building 5: a water heater fixed by a party-member volunteer (群众点单、物业接单)."""
    resident = scene.person("resident-b5-0201", "resident")
    manager = scene.person("property-manager-jiating", "property_manager", JIATING)
    staff = scene.person("property-staff-liu", "property_staff", JIATING)
    volunteer = scene.person("volunteer-chen", "volunteer", f"{JIATING}/b5")
    dispatch = Dispatch(scene)
    dispatch.put_on_roster(manager, volunteer, ["appliances", "electrical"], [f"{JIATING}/b5"])
    case = scene.report(
        resident,
        {
            "kind": "repair",
            "category": "appliance",
            "address": f"{JIATING}/b5/0201",
            "description": "热水器显示E4，没有热水 — the water heater shows error E4 "
            "and gives no hot water",
            "channel": "wechat",
        },
    )
    dispatch.wait_assigned(case)
    dispatch.task(volunteer, case, "accept")
    dispatch.task(volunteer, case, "start")
    dispatch.task(
        volunteer,
        case,
        "finish",
        {"summary": "cleaned the clogged igniter, replaced a worn valve seal; hot water again"},
    )
    scene.wait_case(case, lambda c: c["status"] == "resolved", "dispatch settles the done work")
    scene.say("dispatch (on WorkDone) settles the repair for the resident to confirm")
    resident_closes_the_loop(
        scene, resident, staff, case, "came within the hour and showed me how to clean it"
    )
    return [case]


# ------------------------------------------------------------------ (c) the parking dispute


def parking_story(scene: Scene) -> list[str]:
    """万鑫国际 building 12: a neighbour's car in 0302's private space, settled in the building."""
    resident = scene.person("resident-b12-0302", "resident")
    neighbour = scene.person("resident-b12-0501", "resident")
    leader = scene.person("building-leader-b12", "building_leader", f"{WANXIN}/b12")
    mediation = Mediation(scene)
    case = scene.report(
        resident,
        {
            # between two households of one building: not the compound's shared parking
            # (category `parking` always starts at the compound), so it starts in the building
            "kind": "dispute",
            "category": "other",
            "address": f"{WANXIN}/b12/0302",
            "description": "私占车位：楼上0501的车天天停在我家的私家车位上 — the car "
            "of 0501 upstairs is parked in our private parking space every night",
            "parties": [resident.actor_id, neighbour.actor_id],
            "channel": "walk_in",
        },
    )
    mediation.wait_on_worklist(leader, case)
    talk = mediation.convene(
        leader,
        case,
        "building_talk",
        "building 12 ground-floor lobby",
        [leader, resident, neighbour],
    )
    mediation.round(
        leader,
        case,
        talk,
        "agreed",
        attendees=[leader.actor_id, resident.actor_id, neighbour.actor_id],
        positions={
            resident.actor_id: "wants the space back",
            neighbour.actor_id: "had nowhere else to park after 10 pm",
        },
        proposals=["0501 parks in the visitors' row after 10 pm"],
        note="settled in one evening in the lobby",
    )
    mediation.agree(
        leader,
        case,
        talk,
        ["0501 no longer parks in 0302's space", "after 10 pm 0501 uses the visitors' row"],
        [{"who": neighbour.actor_id, "what": "keep out of 0302's space", "due": due_in(7)}],
        "both households agreed at the building talk",
    )
    mediation.resolve(leader, case, "settled within the building")
    scene.api.post("intake", f"/cases/{case}/confirmation", resident)
    scene.api.post("intake", f"/cases/{case}/rating", resident, {"score": 5, "comment": ""})
    scene.say(f"{resident} → intake: confirms the settlement and rates it 5")
    return [case]


# ------------------------------------------------------------------ (d) the main road


def gate_story(scene: Scene) -> list[str]:
    """万鑫国际: the main road blocked by parked cars; the county decides the south gate."""
    resident = scene.person("resident-wanxin-b12-0302", "resident")
    secretary = scene.person("party-secretary-wanxin", "party_secretary", WANXIN)
    committee = scene.person("owners-committee-wanxin", "owners_committee_member", WANXIN)
    manager = scene.person("property-manager-wanxin", "property_manager", WANXIN)
    officer = scene.person("community-officer-jiayu-xx", "community_officer", COMMUNITY)
    leader = scene.person("building-leader-b12", "building_leader", f"{WANXIN}/b12")
    county = [
        ("housing-bureau", "county_department_rep"),
        ("fire-brigade", "county_department_rep"),
        ("development-reform-bureau", "county_department_rep"),
    ]
    mediation = Mediation(scene)
    case = scene.report(
        resident,
        {
            "kind": "dispute",
            "category": "road_and_gates",
            "address": WANXIN,
            "description": "主干道停满了车，擦车擦人，邻里天天吵 — cars parked along the "
            "main road block it; cars get scraped, a child was grazed, neighbours quarrel",
            "parties": ["residents parking on the main road", "residents driving through"],
            "channel": "walk_in",
        },
    )
    mediation.wait_on_worklist(secretary, case)
    mediation.take_lead(
        secretary, case, "the main road is the compound's to keep clear; I chair the committee"
    )
    talk = mediation.convene(
        secretary,
        case,
        "residents_talk_meeting",
        "Wanxin International clubhouse",
        [secretary, committee, manager, resident],
    )
    mediation.invite(
        secretary,
        talk,
        [leader],
        "the cars park outside building 12; its building leader knows the drivers",
    )
    mediation.round(
        secretary,
        case,
        talk,
        "failed",
        attendees=[
            secretary.actor_id,
            committee.actor_id,
            manager.actor_id,
            resident.actor_id,
            leader.actor_id,
        ],
        positions={
            "drivers parking on the road": "not enough spaces",
            "drivers passing through": "the road must be kept clear",
        },
        proposals=["ban parking on the main road", "change how the gates are used"],
        note="no agreement: changing the gates needs the county",
    )
    mediation.escalate(
        secretary,
        case,
        "outside_powers",
        "the gates and the fire lane are beyond the compound's powers",
        "gates_and_traffic",
    )
    mediation.take_lead(
        officer, case, "the gates are the community's to decide; I chair the council"
    )
    council = mediation.convene(
        officer,
        case,
        "deliberation_council",
        "community service centre",
        [officer, secretary, committee, manager, *county],
        days=3,
    )
    options = ["south gate entry-only", "keep every gate two-way"]
    mediation.round(
        officer,
        case,
        council,
        "progress",
        attendees=[
            officer.actor_id,
            secretary.actor_id,
            committee.actor_id,
            manager.actor_id,
            *(c[0] for c in county),
        ],
        positions={
            "housing-bureau": "an entry-only gate needs no building works",
            "fire-brigade": "the main road is a fire lane and must stay clear",
            "development-reform-bureau": "no funds to widen the road this year",
        },
        proposals=["south gate entry-only; everyone leaves by the east and west gates"],
        note="ask the residents before deciding",
    )
    survey = mediation.convene(
        officer,
        case,
        "opinion_collection",
        "door to door and the owners' WeChat group",
        [officer, committee],
        days=4,
    )
    mediation.round(
        officer,
        case,
        survey,
        "progress",
        attendees=[officer.actor_id, committee.actor_id],
        options=options,
        tally={options[0]: 1093, options[1]: 187},
        note="opinions from 1,280 of 1,650 households",
    )
    mediation.round(
        officer,
        case,
        council,
        "agreed",
        attendees=[
            officer.actor_id,
            secretary.actor_id,
            committee.actor_id,
            manager.actor_id,
            *(c[0] for c in county),
        ],
        note="the council decides for the south gate entry-only",
    )
    mediation.agree(
        officer,
        case,
        council,
        [
            "the south gate, by the bus stop and Nanjia middle school, is entry-only",
            "everyone leaves by the east and west gates",
            "no parking on the main road: it is kept clear as a fire lane",
        ],
        [
            {"who": "housing-bureau", "what": "approve the new traffic plan", "due": due_in(5)},
            {
                "who": manager.actor_id,
                "what": "fit an entry-only barrier and signs",
                "due": due_in(9),
            },
        ],
        "opinion collection: 1,093 households for, 187 against",
    )
    mediation.follow_up(officer, case, 0, True, "traffic plan approved")
    mediation.follow_up(officer, case, 1, True, "barrier and signs in place")
    mediation.resolve(
        officer, case, "south gate entry-only; exits by the east and west gates; main road clear"
    )
    return [case]


# ------------------------------------------------------------------ (e) the charging sheds


def charging_shed_story(scene: Scene) -> list[str]:
    """万鑫国际: trailing cables (飞线); three charging sheds, sites chosen over rounds."""
    resident = scene.person("resident-wanxin-b7-0601", "resident")
    secretary = scene.person("party-secretary-wanxin", "party_secretary", WANXIN)
    committee = scene.person("owners-committee-wanxin", "owners_committee_member", WANXIN)
    manager = scene.person("property-manager-wanxin", "property_manager", WANXIN)
    mediation = Mediation(scene)
    case = scene.report(
        resident,
        {
            "kind": "dispute",
            "category": "ev_charging",
            "address": WANXIN,
            "description": "楼道里私拉乱接的飞线给电动车充电，既难看又不安全 — "
            "trailing cables from the flats to charge e-bikes: ugly and unsafe",
            "parties": ["e-bike owners", "ground-floor households"],
            "channel": "talk_meeting",
        },
    )
    sites = [
        f"site {n}"
        for n in (
            "A by the main gate",
            "B behind building 9",
            "C by the east wall",
            "D in the old bike park",
            "E by the clubhouse",
            "F under building 30",
        )
    ]
    rounds = (
        (
            "evening_courtyard_talk",
            "the courtyard by building 9",
            {sites[0]: 212, sites[1]: 180, sites[2]: 95, sites[3]: 160, sites[4]: 41, sites[5]: 58},
            sites,
        ),
        (
            "door_to_door",
            "door to door in buildings 1-62",
            {sites[0]: 402, sites[1]: 366, sites[3]: 311, sites[2]: 120},
            [sites[0], sites[1], sites[2], sites[3]],
        ),
        (
            "opinion_collection",
            "the owners' WeChat group",
            {sites[0]: 689, sites[1]: 602, sites[3]: 571},
            [sites[0], sites[1], sites[3]],
        ),
    )
    chosen: list[str] = []
    for number, (form, place, tally, options) in enumerate(rounds, 1):
        meeting = mediation.convene(
            secretary, case, form, place, [secretary, committee, manager], days=number
        )
        outcome = "agreed" if number == len(rounds) else "progress"
        mediation.round(
            secretary,
            case,
            meeting,
            outcome,
            attendees=[secretary.actor_id, committee.actor_id, manager.actor_id],
            options=list(options),
            tally=dict(tally),
            note=f"round {number} of the consultation",
        )
        chosen = list(tally)
        last = meeting
    mediation.agree(
        secretary,
        case,
        last,
        [f"charging sheds at {', '.join(chosen)}", "no more cables from the flats"],
        [
            {
                "who": manager.actor_id,
                "what": "have the developer build the three sheds",
                "due": due_in(30),
            }
        ],
        "chosen over three rounds; the last tally is in the case file",
    )
    mediation.resolve(secretary, case, "three sites chosen; the developer pays for the sheds")
    return [case]


STORIES: tuple[Story, ...] = (
    Story(
        "a",
        "the leak from the flat under renovation (装修房漏水)",
        ("intake", "dispatch"),
        leak_story,
    ),
    Story(
        "b",
        "a repair done by a party-member volunteer (党员志愿者上门维修)",
        ("intake", "dispatch"),
        volunteer_repair_story,
    ),
    Story(
        "c",
        "a parking dispute settled in the building (私占车位·微事不出楼栋)",
        ("intake", "mediation"),
        parking_story,
    ),
    Story(
        "d",
        "the blocked main road and the south gate (主干道拥堵·南门只进不出)",
        ("intake", "mediation"),
        gate_story,
    ),
    Story(
        "e",
        "the charging-shed consultation (集中充电棚选址·三四个回合)",
        ("intake", "mediation"),
        charging_shed_story,
    ),
)
