"""Bearer tokens and access scopes, shared by every service.

A token is a random secret shown once, when it is made; the tokens file keeps only its SHA-256,
with the actor, role and place it stands for. So the file (and the repository) holds no secret.
One file serves every service (`var/tokens.json`, or `CASEWORK_TOKENS_FILE`): a member of staff
is the same actor at the intake desk and in dispatch, with one token.

Scopes: a resident sees and acts on the cases they reported or are party to; staff and compound
leaders see their compound (a building leader their building); community officers and county
representatives their community; auditors read everything and change nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from casework import Actor, Address, Role, ValidationError
from casework.projections.sqlite import Scope
from casework.settings import var_dir
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

PLACE_BOUND_ROLES = frozenset(Role) - {Role.RESIDENT, Role.AUDITOR, Role.SYSTEM}
TOKENS_ENV = "CASEWORK_TOKENS_FILE"
TOKENS_FILE_NAME = "tokens.json"


def default_tokens_path() -> Path:
    """`CASEWORK_TOKENS_FILE`, else `tokens.json` in the var directory (`CASEWORK_VAR_DIR`)."""
    given = os.environ.get(TOKENS_ENV)
    return Path(given) if given else var_dir() / TOKENS_FILE_NAME


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

    def scope(self) -> Scope:
        """What a listing may show this principal: the read-model side of `may_see`."""
        if self.is_auditor:
            return Scope(everything=True)
        if self.is_resident:
            return Scope(person=self.actor.id)
        return Scope(place=self.place)

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


def well_formed_place(path: str) -> str:
    """A community, compound or building path, checked for form only (not against a registry).

    Services that hold a places registry pass their own, stricter check to `TokenStore.create`.
    """
    parts = [p.strip() for p in path.strip().strip("/").split("/")]
    if len(parts) == 1:
        Address(parts[0], "x")  # the community segment must be well formed
        return parts[0]
    return Address.parse(path).path


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenStore:
    """The tokens file: {sha256: {actor_id, role, place}}; reread when it changes on disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._tokens: dict[str, dict[str, Any]] = {}

    def create(
        self,
        actor_id: str,
        role: str,
        place: str | None = None,
        check_place: Callable[[str], str] = well_formed_place,
    ) -> str:
        """Make a token for this actor; `check_place` refuses (and normalises) the place."""
        try:
            actor = Actor(actor_id, Role(role))
        except ValueError:
            roles = ", ".join(r.value for r in Role if r is not Role.SYSTEM)
            raise ValidationError(f"unknown role {role!r}; roles: {roles}") from None
        if actor.role is Role.SYSTEM:
            raise ValidationError("the system role is for the scheduler, not for people")
        if place is not None:
            place = check_place(place)
        elif actor.role in PLACE_BOUND_ROLES:
            raise ValidationError(
                f"a {actor.role.value} answers for a place: give --place "
                "(a community, compound or building path, e.g. jiayu-xx/wanxin-intl)"
            )
        token = secrets.token_urlsafe(32)
        entry: dict[str, Any] = {"actor_id": actor.id, "role": actor.role.value}
        if place is not None:
            entry["place"] = place
        with self._writing():
            tokens = self._read()
            tokens[hash_token(token)] = entry
            self._write(tokens)
        return token

    def revoke(self, actor_id: str) -> int:
        """Forget every token of this actor; how many there were."""
        with self._writing():
            tokens = self._read()
            kept = {h: e for h, e in tokens.items() if e.get("actor_id") != actor_id}
            if len(kept) != len(tokens):
                self._write(kept)
            return len(tokens) - len(kept)

    def entries(self) -> list[dict[str, Any]]:
        """Who holds tokens (actor, role, place, and the first 12 characters of each hash)."""
        return [{**entry, "hash": digest[:12]} for digest, entry in sorted(self._current().items())]

    def authenticate(self, token: str) -> Principal | None:
        entry = self._current().get(hash_token(token))
        if entry is None:
            return None
        return Principal(Actor(entry["actor_id"], Role(entry["role"])), entry.get("place"))

    def _current(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime_ns
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

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer at a time, across threads and processes (the CLI beside a service), so
        two tokens made at once are both kept: read, change and replace under a file lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(f".{self.path.name}.lock")
        with self._lock, open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, tokens: dict[str, dict[str, Any]]) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(tokens, indent=1, sort_keys=True), encoding="utf-8")
        os.chmod(temporary, 0o600)
        temporary.replace(self.path)


bearer = HTTPBearer(
    auto_error=False, description="a token made by `casework-token` (only its hash is kept)"
)


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, from the bearer token, checked against the app's `TokenStore`."""
    if credentials is None:
        raise HTTPException(
            401,
            "send 'Authorization: Bearer <token>'; a token is made by casework-token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    tokens: TokenStore = request.app.state.casework_web.tokens
    who = tokens.authenticate(credentials.credentials)
    if who is None:
        raise HTTPException(
            401,
            "this token is not known (mistyped, or revoked); ask for a new one",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.actor_id = who.actor.id
    return who


Who = Annotated[Principal, Depends(principal)]
