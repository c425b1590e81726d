"""Test helpers for dispatch: a fixed moment, a small roster, and case events as the stream has
them. Used by dispatch's own tests and by anyone driving a real dispatch in-process."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from casework import Actor, Casework, Role
from casework.contracts import CaseEvent, CasePlace, to_contract
from casework.domain import Case

from dispatch.application import Dispatch

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=CST)
"""10:00 on a Tuesday in Jiayu: office hours."""
NIGHT = datetime(2026, 11, 24, 23, 0, tzinfo=CST)
COMPOUND = "jiayu-xx/wanxin-intl"
B12 = "jiayu-xx/wanxin-intl/b12"
FLAT = "jiayu-xx/wanxin-intl/b12/0302"

MANAGER = Actor("manager-wang", Role.PROPERTY_MANAGER)
RESIDENT = Actor("r-0302", Role.RESIDENT)
STAFF_LI = Actor("staff-li", Role.PROPERTY_STAFF)
STAFF_ZHOU = Actor("staff-zhou", Role.PROPERTY_STAFF)
VOLUNTEER_ZHAO = Actor("vol-zhao", Role.VOLUNTEER)
VOLUNTEER_QIAN = Actor("vol-qian", Role.VOLUNTEER)

OFFICE_HOURS = ["mon-fri 08:00-18:00"]
ALWAYS = ["daily 00:00-24:00"]


def small_roster(app: Dispatch) -> None:
    """Two plumbers on staff (office hours, and on call day and night), a volunteer plumber
    living in building 12, and a volunteer who carries things up for the elderly."""
    app.join(
        MANAGER,
        STAFF_LI,
        name="李师傅",
        skills=["plumbing", "electrical"],
        places=[COMPOUND],
        availability=OFFICE_HOURS,
        max_load=3,
        reason="property office plumber",
    )
    app.join(
        MANAGER,
        STAFF_ZHOU,
        name="周师傅",
        skills=["plumbing"],
        places=[COMPOUND],
        availability=ALWAYS,
        max_load=3,
        reason="on call, nights included",
    )
    app.join(
        MANAGER,
        VOLUNTEER_ZHAO,
        name="赵大姐",
        skills=["plumbing", "visiting"],
        places=[B12],
        availability=["sat-sun 09:00-17:00", "mon-fri 18:00-21:00"],
        max_load=1,
        reason="party member living in building 12",
    )
    app.join(
        MANAGER,
        VOLUNTEER_QIAN,
        name="钱师傅",
        skills=["carrying"],
        places=[COMPOUND],
        availability=ALWAYS,
        max_load=2,
        reason="volunteer with a tricycle",
    )


def case_events(app: Casework, case_id: UUID | str) -> list[CaseEvent]:
    """The case's events as the relay publishes them (public contracts)."""
    events = list(app.events.get(UUID(str(case_id))))
    place = CasePlace.of(events[0])
    return [to_contract(e, place) for e in events]


def event_names(app: Casework, case_id: UUID | str) -> list[str]:
    return [e.event for e in app.history(case_id)]


def last_event(app: Casework, case_id: UUID | str, name: str) -> Any:
    matching = [e for e in app.history(case_id) if e.event == name]
    assert matching, f"case {case_id} has no {name} event"
    return matching[-1]


def assignee_of(app: Casework, case_id: UUID | str) -> str | None:
    case: Case = app.get_case(case_id)
    return case.assignee.id if case.assignee else None
