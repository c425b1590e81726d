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

from collections.abc import Callable

from casework.stories import charging_sheds, parking
from casework.stories import steps as library

from casework_stack.scene import (
    COMMUNITY,
    JIATING,
    WANXIN,
    Dispatch,
    Mediation,
    Scene,
    Story,
    due_in,
    resident_closes_the_loop,
)
from casework_stack.teller import HttpTeller

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


def told(story: library.Story) -> Callable[[Scene], list[str]]:
    """A story of `casework.stories`, told to the services by the HTTP teller."""
    return lambda scene: HttpTeller(scene, story).tell()


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
    Story("c", parking.STORY.title, ("intake", "mediation"), told(parking.STORY)),
    Story(
        "d",
        "the blocked main road and the south gate (主干道拥堵·南门只进不出)",
        ("intake", "mediation"),
        gate_story,
    ),
    Story("e", charging_sheds.STORY.title, ("intake", "mediation"), told(charging_sheds.STORY)),
)
