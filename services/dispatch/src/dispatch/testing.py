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


def _casework(app: Casework | Dispatch) -> Casework:
    """The case store's application: `app`, or the one a `Dispatch` holds."""
    return app.casework if isinstance(app, Dispatch) else app


def case_events(app: Casework | Dispatch, case_id: UUID | str) -> list[CaseEvent]:
    """The case's events as the relay publishes them (public contracts)."""
    events = list(_casework(app).events.get(UUID(str(case_id))))
    place = CasePlace.of(events[0])
    return [to_contract(e, place) for e in events]


def event_names(app: Casework | Dispatch, case_id: UUID | str) -> list[str]:
    return [e.event for e in _casework(app).history(case_id)]


def last_event(app: Casework | Dispatch, case_id: UUID | str, name: str) -> Any:
    matching = [e for e in _casework(app).history(case_id) if e.event == name]
    assert matching, f"case {case_id} has no {name} event"
    return matching[-1]


def assignee_of(app: Casework | Dispatch, case_id: UUID | str) -> str | None:
    case: Case = _casework(app).get_case(case_id)
    return case.assignee.id if case.assignee else None


# ------------------------------------------------------------------ the API under a test client


def make_settings(tmp_path: Any, store: str, **extra: Any) -> Any:
    from dispatch.config import Settings

    values: dict[str, Any] = {
        "CASEWORK_STORE": store,
        "CASEWORK_VAR_DIR": tmp_path / "var",
        "CASEWORK_TOKENS_FILE": tmp_path / "var" / "tokens.json",
        **extra,
    }
    return Settings.model_validate(values)


class Desk:
    """The running app (under FastAPI's TestClient), its clock, and bearer headers per actor."""

    def __init__(self, client: Any, clock: Any, settings: Any) -> None:
        self.client = client
        self.clock = clock
        self.settings = settings
        self._tokens: dict[tuple[str, str, str | None], str] = {}

    @property
    def runtime(self) -> Any:
        return self.client.app.state.runtime

    @property
    def app(self) -> Dispatch:
        app: Dispatch = self.runtime.app
        return app

    def auth(
        self, actor: Actor | str, role: str | None = None, place: str | None = None
    ) -> dict[str, str]:
        from casework_web import TokenStore

        actor_id, role_name = (
            (actor.id, actor.role.value)
            if isinstance(actor, Actor)
            else (actor, role or "resident")
        )
        if place is None and role_name not in ("resident", "auditor"):
            place = COMPOUND
        key = (actor_id, role_name, place)
        if key not in self._tokens:
            self._tokens[key] = TokenStore(self.settings.tokens_path).create(
                actor_id, role_name, place
            )
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    def dispatch_case(self, case_id: UUID | str) -> None:
        """What the consumer does with the case's events (without NATS)."""
        for event in case_events(self.app.casework, case_id):
            self.app.on_case_event(event)

    def post(self, path: str, who: dict[str, str], body: Any = None, status: int = 200) -> Any:
        response = self.client.post(path, json=body or {}, headers=who)
        assert response.status_code == status, response.text
        return response.json()

    def get(self, path: str, who: dict[str, str], status: int = 200, **params: Any) -> Any:
        response = self.client.get(path, params=params, headers=who)
        assert response.status_code == status, response.text
        return response.json()
