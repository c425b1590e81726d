"""(党员志愿者上门维修) 嘉庭小区 building 5: a water heater fixed by a party-member volunteer.
Residents order, the property accepts the order (群众点单、物业接单): the volunteer is on the
supply list, the repair is matched to him, he does it, the resident confirms and rates it, and
the property calls back before closing the case file."""

from __future__ import annotations

from datetime import datetime

from casework.domain.actors import Actor, Role
from casework.stories.steps import (
    AcceptTask,
    At,
    Close,
    Confirm,
    FinishWork,
    Match,
    PutOnRoster,
    Rate,
    ReportRepair,
    Resolve,
    ReturnVisit,
    StartWork,
    Story,
)
from casework.stories.when import CHINA, minutes

JIATING = "jiayu-xx/jiating"
RESIDENT = Actor("resident-b5-0201", Role.RESIDENT)
STAFF = Actor("property-staff-liu", Role.PROPERTY_STAFF)
MANAGER = Actor("property-manager-jiating", Role.PROPERTY_MANAGER)
VOLUNTEER = Actor("volunteer-chen", Role.VOLUNTEER)

STORY = Story(
    "a repair done by a party-member volunteer (党员志愿者上门维修)",
    (
        At(datetime(2021, 5, 10, 8, 0, tzinfo=CHINA)),
        PutOnRoster(MANAGER, VOLUNTEER, ("appliances", "electrical"), (f"{JIATING}/b5",)),
        At(datetime(2021, 5, 10, 9, 15, tzinfo=CHINA)),
        ReportRepair(
            "heater",
            RESIDENT,
            f"{JIATING}/b5/0201",
            "热水器显示E4，没有热水 — the water heater shows error E4 and gives no hot water",
            "appliance",
            channel="wechat",
            contact="13605050201",
        ),
        minutes(11),
        Match(
            "heater",
            STAFF,
            VOLUNTEER,
            "party-member volunteer on the supply list: electrician, lives in building 5, "
            "free this morning",
        ),
        minutes(4),
        AcceptTask("heater", VOLUNTEER),
        minutes(35),
        StartWork("heater", VOLUNTEER),
        minutes(45),
        FinishWork(
            "heater",
            VOLUNTEER,
            "cleaned the clogged igniter, replaced a worn valve seal; hot water again",
        ),
        minutes(10),
        Resolve("heater", STAFF, "fixed by a party-member volunteer, free of charge"),
        minutes(90),
        Confirm("heater", RESIDENT),
        minutes(1),
        Rate("heater", RESIDENT, 5, "came within the hour and showed me how to clean it"),
        At(datetime(2021, 5, 11, 10, 0, tzinfo=CHINA)),
        ReturnVisit(
            "heater",
            STAFF,
            "called back: hot water fine; hours added to the volunteer service list",
        ),
        minutes(5),
        Close("heater", STAFF, "confirmed and visited back"),
    ),
    shows=("heater",),
    places={
        MANAGER.id: JIATING,
        STAFF.id: JIATING,
        VOLUNTEER.id: f"{JIATING}/b5",
    },
)
