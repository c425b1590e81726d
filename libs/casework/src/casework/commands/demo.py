"""`casework demo`: the three stories of the source article, told through the library.

(a) the leak from the flat under renovation, (b) the blocked main road settled by a deliberation
council, (c) a repair done by a party-member volunteer. A FakeClock moves the minutes and days
between steps, so the output is the same on every run apart from ids and hashes; the default
store is a fresh SQLite file under `var/demo/`, so runs do not pile up. `CASEWORK_STORE` is
ignored on purpose: a demo must never write its invented cases into a real store.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

from casework.application import Casework
from casework.clock import FakeClock
from casework.domain.actors import SYSTEM, Actor, Role
from casework.settings import var_dir
from casework.timeline import render_case_file

CHINA = timezone(timedelta(hours=8), "CST")
EXIT_NOT_INTACT = 3


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the three stories of the source article and verify their case files",
        description="Run the leak, the blocked main road and the volunteer repair through the "
        "library, print each case file and whether it verifies. Ignores CASEWORK_STORE.",
    )
    demo.add_argument(
        "--in-process",
        action="store_true",
        help="run the stories in this process, through the library (always so here; with the "
        "services installed, plain `casework demo` runs them through the services instead)",
    )
    demo.add_argument(
        "--store",
        metavar="URL",
        help="store to write into (default: a fresh sqlite file under var/demo/, "
        "recreated each run; a store given here is never deleted)",
    )
    demo.set_defaults(handler=run_demo)


@dataclass
class Scene:
    """The application, the hand-moved clock, and what the scheduler said along the way."""

    app: Casework
    clock: FakeClock
    notes: list[str] = field(default_factory=list)

    def at(self, when: datetime) -> None:
        self.clock.set(when)

    def after(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))

    def scheduler_tick(self, case_id: UUID) -> None:
        """What the deadline scheduler does every few minutes, shown as it happens."""
        reason = self.app.escalate_if_due(case_id, SYSTEM)
        now = self.clock().strftime("%H:%M")
        self.notes.append(
            f"{now} scheduler: escalated automatically ({reason})"
            if reason
            else f"{now} scheduler: nothing due"
        )


# ---------------------------------------------------------------- story (a)


def leak_story(scene: Scene) -> list[UUID]:
    """嘉庭小区 building 3: water under the door of 0502, being renovated, nobody living there."""
    app, after = scene.app, scene.after
    neighbour = Actor("resident-b3-0501", Role.RESIDENT)
    below = Actor("resident-b3-0402", Role.RESIDENT)
    staff = Actor("property-staff-liu", Role.PROPERTY_STAFF)
    manager = Actor("property-manager-jiating", Role.PROPERTY_MANAGER)
    leader = Actor("building-leader-b3", Role.BUILDING_LEADER)
    owner = "owner-b3-0502"

    scene.at(datetime(2021, 3, 1, 19, 40, tzinfo=CHINA))
    leak = app.report_leak(
        neighbour,
        "jiayu-xx/jiating/b3/0501",
        "water seeping out under the door of 0502 opposite; it is being renovated and nobody "
        "lives there yet, so nobody inside will notice",
        "0502",
        source_unoccupied=True,
        channel="wechat",
    )
    after(minutes=2)
    app.attempt_owner_contact(leak, staff, "phone", "no_answer", "owner's number on file")
    after(minutes=3)
    app.attempt_owner_contact(leak, staff, "wechat", "message_left", "sent photos of the water")
    after(minutes=3)
    app.arrive_on_site(leak, staff)
    app.add_note(leak, staff, "door of 0502 locked; water spreading across the landing")
    after(minutes=4)
    scene.scheduler_tick(leak)
    after(minutes=1)
    app.attempt_owner_contact(leak, staff, "via_agent", "no_answer", "renovation foreman")
    after(minutes=3)
    scene.scheduler_tick(leak)  # 16 minutes and the owner not reached: up to the compound
    after(minutes=2)
    app.attempt_owner_contact(
        leak, manager, "phone", "reached", "owner answered the third call; on his way"
    )
    after(minutes=22)
    app.stop_water(
        leak, staff, "owner_closed_valve", "owner opened the flat and closed the kitchen valve"
    )
    after(minutes=5)
    app.record_cause(
        leak,
        staff,
        "the renovation worker had left the water-supply valve open after work",
        "water came through the floor: stained kitchen ceiling and a soaked cabinet in 0402",
        ["0402"],
    )
    after(minutes=15)
    dispute = app.report_dispute(
        below,
        "jiayu-xx/jiating/b3/0402",
        "water from the renovation in 0502 came through our kitchen ceiling; "
        "who pays for repainting it and for the cabinet?",
        "leak_between_flats",
        [below.id, owner],
    )
    after(minutes=1)
    app.link_cases(leak, dispute, staff, "damage_dispute")
    after(minutes=9)
    app.resolve(
        leak,
        staff,
        "water stopped 40 minutes after the report; the renovation company now shuts the "
        "main valve every evening",
    )
    scene.at(datetime(2021, 3, 2, 8, 30, tzinfo=CHINA))
    app.confirm_resolution(leak, neighbour)
    after(minutes=1)
    app.rate_satisfaction(leak, neighbour, 5, "the property office acted at once")
    after(hours=1, minutes=30)
    app.record_return_visit(leak, staff, "called 0501 and the owner of 0502: no more water")
    after(minutes=5)
    app.close_case(leak, staff)

    # The damage dispute stays in the building: 微事不出楼栋.
    after(minutes=20)
    talk = app.convene_mediation(
        dispute,
        leader,
        "building_talk",
        datetime(2021, 3, 3, 19, 0, tzinfo=CHINA),
        "building 3 ground-floor lobby",
        [
            {"id": leader.id, "role": "building_leader"},
            {"id": below.id, "role": "resident"},
            {"id": owner, "role": "resident"},
            {"id": staff.id, "role": "property_staff"},
        ],
    )
    scene.at(datetime(2021, 3, 3, 19, 0, tzinfo=CHINA))
    app.hold_round(
        dispute,
        leader,
        talk,
        [leader.id, below.id, owner, staff.id],
        "agreed",
        positions={
            below.id: "wants the ceiling repainted and the cabinet replaced",
            owner: "accepts; his renovation company will do the painting",
        },
        proposals=["renovation company repaints the ceiling", "owner pays for the cabinet"],
        note="settled in one evening in the lobby",
    )
    after(minutes=40)
    app.reach_agreement(
        dispute,
        leader,
        talk,
        [
            "the owner of 0502 has his renovation company repaint the kitchen ceiling of 0402",
            "the owner of 0502 pays 800 yuan towards a new cabinet",
        ],
        [
            {"who": owner, "what": "repaint the kitchen ceiling of 0402", "due": "2021-03-07"},
            {"who": owner, "what": "pay 800 yuan for the cabinet", "due": "2021-03-05"},
        ],
        "both households agreed at the building talk",
    )
    scene.at(datetime(2021, 3, 5, 18, 0, tzinfo=CHINA))
    app.record_follow_up(dispute, leader, 1, True, "paid by WeChat transfer")
    scene.at(datetime(2021, 3, 7, 17, 0, tzinfo=CHINA))
    app.record_follow_up(dispute, leader, 0, True, "ceiling repainted; 0402 satisfied")
    after(minutes=10)
    app.resolve(dispute, leader, "damage repaired and paid for as agreed, within the building")
    after(hours=2)
    app.confirm_resolution(dispute, below)
    app.rate_satisfaction(dispute, below, 5)
    scene.at(datetime(2021, 3, 8, 9, 0, tzinfo=CHINA))
    app.record_return_visit(
        dispute, leader, "visited 0402: ceiling dry and repainted, new cabinet in"
    )
    after(minutes=5)
    app.close_case(dispute, leader)
    return [leak, dispute]


# ---------------------------------------------------------------- story (b)


def gate_story(scene: Scene) -> list[UUID]:
    """万鑫国际: the main road blocked by parked cars; the county decides the south gate."""
    app, after = scene.app, scene.after
    resident = Actor("resident-wanxin-b12-0302", Role.RESIDENT)
    secretary = Actor("party-secretary-wanxin", Role.PARTY_SECRETARY)
    committee = Actor("owners-committee-wanxin", Role.OWNERS_COMMITTEE)
    manager = Actor("property-manager-wanxin", Role.PROPERTY_MANAGER)
    officer = Actor("community-officer-jiayu-xx", Role.COMMUNITY_OFFICER)
    housing, fire, drc = "housing-bureau", "fire-brigade", "development-reform-bureau"

    def seat(*people: Actor) -> list[dict[str, str]]:
        return [{"id": p.id, "role": p.role.value} for p in people]

    county = [{"id": d, "role": "county_department_rep"} for d in (housing, fire, drc)]

    scene.at(datetime(2021, 3, 15, 9, 0, tzinfo=CHINA))
    case = app.report_dispute(
        resident,
        "jiayu-xx/wanxin-intl",
        "cars parked along the main road block it; cars get scraped, a child was grazed last "
        "week, neighbours quarrel every morning",
        "road_and_gates",
        ["residents parking on the main road", "residents driving through"],
        channel="walk_in",
    )
    after(hours=1)
    app.acknowledge(case, secretary, "party branch, owners' committee and property take it up")
    after(minutes=5)
    talk = app.convene_mediation(
        case,
        secretary,
        "residents_talk_meeting",
        datetime(2021, 3, 18, 19, 30, tzinfo=CHINA),
        "Wanxin International clubhouse",
        seat(secretary, committee, manager, resident),
    )
    scene.at(datetime(2021, 3, 18, 19, 30, tzinfo=CHINA))
    app.hold_round(
        case,
        secretary,
        talk,
        [secretary.id, committee.id, manager.id, resident.id, "42 residents"],
        "failed",
        positions={
            "drivers parking on the road": "there are not enough spaces; nowhere else to park",
            "drivers passing through": "the road must be kept clear",
        },
        proposals=["ban parking on the main road", "change how the gates are used"],
        note="no agreement: a parking ban alone moves the cars to the gates, and changing the "
        "gates needs the county",
    )
    scene.at(datetime(2021, 3, 19, 9, 0, tzinfo=CHINA))
    app.escalate(
        case,
        secretary,
        "the gates and the fire lane are beyond the compound's powers; county departments needed",
    )
    after(hours=2)
    council = app.convene_mediation(
        case,
        officer,
        "deliberation_council",
        datetime(2021, 3, 24, 9, 30, tzinfo=CHINA),
        "community service centre",
        seat(officer, secretary, committee, manager) + county,
    )
    scene.at(datetime(2021, 3, 24, 9, 30, tzinfo=CHINA))
    app.hold_round(
        case,
        officer,
        council,
        [officer.id, secretary.id, committee.id, manager.id, housing, fire, drc],
        "progress",
        positions={
            housing: "an entry-only gate needs no building works",
            fire: "the main road is a fire lane and must stay clear",
            drc: "no funds to widen the road this year",
        },
        proposals=[
            "south gate by the bus stop and Nanjia middle school entry-only; "
            "everyone leaves by the east and west gates",
            "widen the main road",
        ],
        note="ask the residents before deciding",
    )
    after(hours=2)
    survey = app.convene_mediation(
        case,
        officer,
        "opinion_collection",
        datetime(2021, 3, 25, 9, 0, tzinfo=CHINA),
        "door to door and the owners' WeChat group",
        seat(officer, committee),
    )
    scene.at(datetime(2021, 3, 30, 18, 0, tzinfo=CHINA))
    options = ["south gate entry-only", "keep every gate two-way"]
    app.hold_round(
        case,
        officer,
        survey,
        [officer.id, committee.id],
        "progress",
        options=options,
        tally={options[0]: 1093, options[1]: 187},
        note="opinions from 1,280 of 1,650 households",
    )
    scene.at(datetime(2021, 4, 2, 9, 30, tzinfo=CHINA))
    app.hold_round(
        case,
        officer,
        council,
        [officer.id, secretary.id, committee.id, manager.id, housing, fire, drc],
        "agreed",
        note="the council decides for the south gate entry-only",
    )
    after(hours=1)
    app.reach_agreement(
        case,
        officer,
        council,
        [
            "the south gate, by the bus stop and Nanjia middle school, is entry-only",
            "everyone leaves by the east and west gates",
            "no parking on the main road: it is kept clear as a fire lane",
        ],
        [
            {"who": housing, "what": "approve the new traffic plan", "due": "2021-04-06"},
            {"who": manager.id, "what": "fit an entry-only barrier and signs", "due": "2021-04-10"},
            {"who": fire, "what": "inspect the main road as a fire lane", "due": "2021-04-20"},
        ],
        "opinion collection: 1,093 households for, 187 against",
    )
    scene.at(datetime(2021, 4, 6, 16, 0, tzinfo=CHINA))
    app.record_follow_up(case, officer, 0, True, "traffic plan approved")
    scene.at(datetime(2021, 4, 10, 17, 0, tzinfo=CHINA))
    app.record_follow_up(case, officer, 1, True, "barrier and signs in place")
    after(hours=16)
    app.resolve(
        case, officer, "south gate entry-only; exits by the east and west gates; main road clear"
    )
    scene.at(datetime(2021, 4, 20, 11, 0, tzinfo=CHINA))
    app.record_follow_up(case, officer, 2, True, "fire lane inspected: clear")
    after(hours=3)
    app.confirm_resolution(case, resident)
    after(days=1)
    app.record_return_visit(
        case,
        officer,
        "walked the main road at the morning rush: clear, cars enter by the south gate",
    )
    after(minutes=5)
    app.close_case(case, officer)
    return [case]


# ---------------------------------------------------------------- story (c)


def volunteer_repair_story(scene: Scene) -> list[UUID]:
    """嘉庭小区 building 5: a water heater, fixed by a party-member volunteer.

    Residents order, the property accepts the order (群众点单、物业接单).
    """
    app, after = scene.app, scene.after
    resident = Actor("resident-b5-0201", Role.RESIDENT)
    staff = Actor("property-staff-liu", Role.PROPERTY_STAFF)
    volunteer = Actor("volunteer-chen", Role.VOLUNTEER)

    scene.at(datetime(2021, 5, 10, 9, 15, tzinfo=CHINA))
    case = app.report_repair(
        resident,
        "jiayu-xx/jiating/b5/0201",
        "the water heater shows error E4 and gives no hot water",
        "appliance",
        channel="wechat",
    )
    after(minutes=5)
    app.acknowledge(case, staff, "posted in the property WeChat group for a party member")
    after(minutes=6)
    app.assign(
        case,
        staff,
        volunteer,
        "party-member volunteer on the supply list: electrician, lives in building 5, "
        "free this morning",
    )
    after(minutes=39)
    app.start_work(case, volunteer)
    after(minutes=45)
    app.finish_work(
        case, volunteer, "cleaned the clogged igniter, replaced a worn valve seal; hot water again"
    )
    after(minutes=10)
    app.resolve(case, staff, "fixed by a party-member volunteer, free of charge")
    after(hours=1, minutes=30)
    app.confirm_resolution(case, resident)
    after(minutes=1)
    app.rate_satisfaction(case, resident, 5, "came within the hour and showed me how to clean it")
    scene.at(datetime(2021, 5, 11, 10, 0, tzinfo=CHINA))
    app.record_return_visit(
        case, staff, "called back: hot water fine; hours added to the volunteer service list"
    )
    after(minutes=5)
    app.close_case(case, staff)
    return [case]


STORIES: tuple[tuple[str, str, Callable[[Scene], list[UUID]]], ...] = (
    ("a", "the leak from the flat under renovation (装修房漏水)", leak_story),
    ("b", "the blocked main road and the south gate (主干道拥堵·南门只进不出)", gate_story),
    ("c", "a repair done by a party-member volunteer (党员志愿者上门维修)", volunteer_repair_story),
)


# ---------------------------------------------------------------- running


def fresh_demo_store() -> str:
    """The default store: `var/demo/demo.db`, deleted first so every run starts empty."""
    path = var_dir() / "demo" / "demo.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def run_demo(args: argparse.Namespace) -> int:
    store = args.store or fresh_demo_store()
    clock = FakeClock(datetime(2021, 3, 1, 8, 0, tzinfo=CHINA))
    cases = intact = 0
    with Casework(store, clock=clock) as app:
        for letter, title, story in STORIES:
            scene = Scene(app, clock)
            case_ids = story(scene)
            print(f"=== story ({letter}): {title} ===")
            for note in scene.notes:
                print(f"  {note}")
            for case_id in case_ids:
                print()
                print(render_case_file(app.history(case_id), app.get_case(case_id).snapshot()))
                result = app.verify(case_id)
                print(f"verify: {result.describe()}")
                cases += 1
                intact += result.ok
            print()
    status = "all intact" if intact == cases else f"{cases - intact} NOT intact"
    print(f"demo: {len(STORIES)} stories, {cases} case files, {status} (store {_shown(store)})")
    return 0 if intact == cases else EXIT_NOT_INTACT


def _shown(store: str) -> str:
    """The store URL without a password, fit to print."""
    if "@" in store and "://" in store:
        scheme, rest = store.split("://", 1)
        return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
    return store
