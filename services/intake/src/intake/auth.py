"""Bearer tokens and access scopes.

A token is a random secret shown once, when it is made; the tokens file keeps only its SHA-256,
with the actor, role and place it stands for. So the file (and the repository) holds no secret.

Scopes: a resident sees and acts on the cases they reported or are party to; staff and compound
leaders see their compound (a building leader their building); community officers and county
representatives their community; auditors read everything and change nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casework import Actor, Role, ValidationError

from intake.places import Places

PLACE_BOUND_ROLES = frozenset(Role) - {Role.RESIDENT, Role.AUDITOR, Role.SYSTEM}


@dataclass(frozen=True)
class Principal:
    """Who is asking: the actor recorded on anything they do, and where they may look."""

    actor: Actor
    place: str | None = None

    @property
    def is_auditor(self) -> bool:
        return self.actor.role is Role.AUDITOR

    @property
    def is_resident(self) -> bool:
        return self.actor.role is Role.RESIDENT

    def covers(self, address_path: str) -> bool:
        """Whether a case at this address lies in the place this principal answers for."""
        if self.place is None:
            return False
        mine = self.place.split("/")
        return address_path.split("/")[: len(mine)] == mine

    def may_see(self, address_path: str, people: list[str]) -> str | None:
        """None if this principal may see the case; otherwise the reason why not."""
        if self.is_auditor:
            return None
        if self.is_resident:
            if self.actor.id in people:
                return None
            return "residents see only the cases they reported or are party to"
        if self.covers(address_path):
            return None
        return f"a {self.actor.role.value} of {self.place} does not see cases at {address_path}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """The tokens file: {sha256: {actor_id, role, place}}; reread when it changes on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._tokens: dict[str, dict[str, Any]] = {}

    def create(self, actor_id: str, role: str, place: str | None, places: Places) -> str:
        try:
            actor = Actor(actor_id, Role(role))
        except ValueError:
            roles = ", ".join(r.value for r in Role if r is not Role.SYSTEM)
            raise ValidationError(f"unknown role {role!r}; roles: {roles}") from None
        if actor.role is Role.SYSTEM:
            raise ValidationError("the system role is for the scheduler, not for people")
        if place is not None:
            place = places.check_scope(place)
        elif actor.role in PLACE_BOUND_ROLES:
            raise ValidationError(
                f"a {actor.role.value} answers for a place: give --place "
                "(a community, compound or building path, e.g. jiayu-xx/wanxin-intl)"
            )
        token = secrets.token_urlsafe(32)
        with self._lock:
            tokens = self._read()
            tokens[hash_token(token)] = {"actor_id": actor.id, "role": actor.role.value}
            if place is not None:
                tokens[hash_token(token)]["place"] = place
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps(tokens, indent=1, sort_keys=True), encoding="utf-8")
            os.chmod(temporary, 0o600)
            temporary.replace(self.path)
        return token

    def authenticate(self, token: str) -> Principal | None:
        entry = self._current().get(hash_token(token))
        if entry is None:
            return None
        return Principal(Actor(entry["actor_id"], Role(entry["role"])), entry.get("place"))

    def _current(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime
            except FileNotFoundError:
                return {}
            if mtime != self._mtime:
                self._tokens = self._read()
                self._mtime = mtime
            return self._tokens

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict):
            raise ValueError(f"tokens file {self.path} is not a JSON object")
        return data
