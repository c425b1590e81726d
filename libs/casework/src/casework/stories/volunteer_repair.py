"""(党员志愿者上门维修) 嘉庭小区 building 5: a water heater fixed by a party-member volunteer.
Residents order, the property accepts the order (群众点单、物业接单)."""

from __future__ import annotations

from datetime import datetime

from casework.domain.actors import Actor, Role
from casework.stories.steps import (
    Acknowledge,
    Assign,
    At,
    Close,
    Confirm,
    FinishWork,
    Rate,
    ReportRepair,
    Resolve,
    ReturnVisit,
    StartWork,
    Story,
)
from casework.stories.when import CHINA, minutes

RESIDENT = Actor("resident-b5-0201", Role.RESIDENT)
STAFF = Actor("property-staff-liu", Role.PROPERTY_STAFF)
VOLUNTEER = Actor("volunteer-chen", Role.VOLUNTEER)

STORY = Story(
    "a repair done by a party-member volunteer (党员志愿者上门维修)",
    (
        At(datetime(2021, 5, 10, 9, 15, tzinfo=CHINA)),
        ReportRepair(
            "heater",
            RESIDENT,
            "jiayu-xx/jiating/b5/0201",
            "the water heater shows error E4 and gives no hot water",
            "appliance",
            channel="wechat",
        ),
        minutes(5),
        Acknowledge("heater", STAFF, "posted in the property WeChat group for a party member"),
        minutes(6),
        Assign(
            "heater",
            STAFF,
            VOLUNTEER,
            "party-member volunteer on the supply list: electrician, lives in building 5, "
            "free this morning",
        ),
        minutes(39),
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
        Close("heater", STAFF),
    ),
    shows=("heater",),
)
