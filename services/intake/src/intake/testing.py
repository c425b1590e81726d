"""Test helpers for the intake: the app under a test client, bearer tokens per actor.

Used by the intake's own tests (and by anyone testing against a real intake in-process). Needs
the test dependencies (the `httpx2` client behind Starlette's TestClient).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from casework.clock import FakeClock
from casework_web import TokenStore
from fastapi.testclient import TestClient

from intake.config import Settings
from intake.places import Places

BEIJING = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=BEIJING)
FLAT = "jiayu-xx/wanxin-intl/b12/0302"
COMPOUND = "jiayu-xx/wanxin-intl"
OTHER_COMPOUND = "jiayu-xx/jiating"


def make_settings(tmp_path: Path, store: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "CASEWORK_STORE": store,
        "CASEWORK_VAR_DIR": tmp_path / "var",
        "feed_poll_seconds": 0.05,
        **extra,
    }
    return Settings.model_validate(values)


@dataclass
class Desk:
    """The running app, its clock, and bearer headers per actor."""

    client: TestClient
    clock: FakeClock
    settings: Settings
    _tokens: dict[tuple[str, str, str | None], str] = field(default_factory=dict)

    def auth(self, actor: str, role: str = "resident", place: str | None = None) -> dict[str, str]:
        key = (actor, role, place)
        if key not in self._tokens:
            store = TokenStore(self.settings.tokens_path)
            places = Places.load(self.settings.places_file)
            self._tokens[key] = store.create(actor, role, place, places.check_scope)
        return {"Authorization": f"Bearer {self._tokens[key]}"}

    def resident(self, actor: str = "r-0302") -> dict[str, str]:
        return self.auth(actor, "resident")

    def staff(self, place: str = COMPOUND, actor: str = "staff-li") -> dict[str, str]:
        return self.auth(actor, "property_staff", place)

    def officer(self, place: str = "jiayu-xx", actor: str = "officer-wang") -> dict[str, str]:
        return self.auth(actor, "community_officer", place)

    def auditor(self) -> dict[str, str]:
        return self.auth("auditor-zhao", "auditor")

    def dpo(self, actor: str = "dpo-sun") -> dict[str, str]:
        """A data protection officer: exports and erases people, sees no case."""
        return self.auth(actor, "data_protection_officer")

    def report(self, headers: dict[str, str], **body: Any) -> Any:
        body.setdefault("address", FLAT)
        body.setdefault("description", "the corridor light on floor 3 is dead")
        response = self.client.post("/cases", json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        return response.json()
