"""Test helpers: the real mediation app under a test client, bearer tokens per actor, the cast.

Used by the service's own tests (and by anyone testing against a real mediation service
in-process). Needs the test dependencies (the `httpx2` client behind Starlette's TestClient).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from casework import Actor, Casework, Role
from casework.clock import FakeClock
from casework.messaging.relay import Relay
from casework.testing.nats import jetstream
from casework.testing.waiting import eventually as eventually
from casework_web import TokenStore
from fastapi.testclient import TestClient

from mediation.config import Settings
from mediation.runtime import Runtime

CHINA = timezone(timedelta(hours=8))
T0 = datetime(2021, 3, 15, 9, 0, tzinfo=CHINA)
COMMUNITY = "jiayu-xx"
COMPOUND = "jiayu-xx/wanxin-intl"
OTHER_COMPOUND = "jiayu-xx/jiating"
FLAT = "jiayu-xx/wanxin-intl/b12/0302"

RESIDENT = Actor("resident-wanxin-b12-0302", Role.RESIDENT)
NEIGHBOUR = Actor("resident-wanxin-b12-0402", Role.RESIDENT)

T = TypeVar("T")


def make_settings(tmp_path: Path, store: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "CASEWORK_STORE": store,
        "CASEWORK_VAR_DIR": tmp_path / "var",
        "feed_poll_seconds": 0.05,
        "scheduler_seconds": 0,  # tests tick the scheduler by hand, on the fake clock
        **extra,
    }
    return Settings.model_validate(values)


@dataclass
class Mediators:
    """The running app, its clock, bearer headers per actor, and the shortcuts tests need."""

    client: TestClient
    clock: FakeClock
    settings: Settings
    _tokens: dict[tuple[str, str, str | None], str] = field(default_factory=dict)

    @property
    def rt(self) -> Runtime:
        rt: Runtime = self.client.app.state.runtime  # type: ignore[attr-defined]
        return rt

    @property
    def app(self) -> Casework:
        return self.rt.app

    def auth(self, actor: str, role: str, place: str | None = None) -> dict[str, str]:
        key = (actor, role, place)
        if key not in self._tokens:
            store = TokenStore(self.settings.tokens_path)
            self._tokens[key] = store.create(actor, role, place)
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    def leader(self, place: str = "jiayu-xx/wanxin-intl/b12") -> dict[str, str]:
        return self.auth("building-leader-b12", "building_leader", place)

    def secretary(self, place: str = COMPOUND) -> dict[str, str]:
        return self.auth("party-secretary-wanxin", "party_secretary", place)

    def officer(self, place: str = COMMUNITY) -> dict[str, str]:
        return self.auth("community-officer-jiayu-xx", "community_officer", place)

    def auditor(self) -> dict[str, str]:
        return self.auth("auditor-qian", "auditor")

    def resident(self, actor: Actor = RESIDENT) -> dict[str, str]:
        return self.auth(actor.id, "resident")

    def catch_up(self) -> None:
        """Without NATS: let the store feed take in what was recorded behind the API's back."""
        if self.rt.store_feed is not None:
            self.rt.store_feed.catch_up()

    def relay(self) -> int:
        """With NATS: publish what the store holds, as the `casework relay` process would."""
        assert self.settings.nats_url is not None
        app = Casework(self.settings.store)
        try:
            return asyncio.run(Relay(app, self.settings.nats_url).run_once())
        finally:
            app.close()

    def drained(self) -> bool:
        """With NATS: whether the durable consumer has handled (and acked) every message."""
        assert self.settings.nats_url is not None
        url, durable = self.settings.nats_url, self.settings.durable

        async def ask() -> bool:
            async with jetstream(url) as (_, js):
                info = await js.consumer_info("CASEWORK", durable)
                return bool(info.num_pending == 0 and info.num_ack_pending == 0)

        return asyncio.run(ask())

    def post(self, path: str, headers: dict[str, str], expect: int, **body: Any) -> Any:
        response = self.client.post(path, json=body, headers=headers)
        assert response.status_code == expect, response.text
        return response.json()

    def get(self, path: str, headers: dict[str, str], **params: Any) -> Any:
        response = self.client.get(path, headers=headers, params=params)
        assert response.status_code == 200, response.text
        return response.json()
