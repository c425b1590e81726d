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

from casework.stories import charging_sheds, main_road, parking, volunteer_repair
from casework.stories import steps as library

from casework_stack.scene import (
    JIATING,
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
    Story("b", volunteer_repair.STORY.title, ("intake", "dispatch"), told(volunteer_repair.STORY)),
    Story("c", parking.STORY.title, ("intake", "mediation"), told(parking.STORY)),
    Story("d", main_road.STORY.title, ("intake", "mediation"), told(main_road.STORY)),
    Story("e", charging_sheds.STORY.title, ("intake", "mediation"), told(charging_sheds.STORY)),
)
