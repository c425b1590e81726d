"""Bearer tokens and access scopes, shared by every service.

A token is a random secret shown once, when it is made; the tokens file keeps only its SHA-256,
with the actor, role and place it stands for. So the file (and the repository) holds no secret.
One file serves every service (`var/tokens.json`, or `CASEWORK_TOKENS_FILE`): a member of staff
is the same actor at the intake desk and in dispatch, with one token.

A token may carry an expiry (`expires_at`, an ISO time in UTC): from that moment it is refused
with a 401 that names it (by the first 12 characters of its hash, never the secret), says when it
expired and how to get a new one. Expiry is read against the clock the store is given (a
service's injected clock), so tests move time by hand. A token without `expires_at` (every token
made before expiry existed) never expires.

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
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, cast

from casework import Actor, Address, Role, ValidationError
from casework.clock import Clock, system_clock
from casework.files import private_dir, private_file, write_private
from casework.projections.sqlite import Scope
from casework.settings import var_dir
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

PLACE_BOUND_ROLES = frozenset(Role) - {
    Role.RESIDENT,
    Role.AUDITOR,
    Role.DATA_PROTECTION_OFFICER,  # answers for people wherever they live, sees no case
    Role.SYSTEM,
}
TOKENS_ENV = "CASEWORK_TOKENS_FILE"
TOKENS_FILE_NAME = "tokens.json"
HASH_SHOWN = 12
"""How many characters of a token's hash name it in listings and messages (never the token)."""


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


def format_instant(when: datetime) -> str:
    """An instant as the tokens file and the messages write it: ISO 8601, UTC, whole seconds
    where they are whole (`2027-02-23T09:00:00Z`), so a person can read and compare it."""
    text = when.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant; one without a timezone is refused, not guessed (a token's expiry
    read as local time on one host and UTC on another would differ by hours)."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO 8601 time; e.g. 2027-01-31T18:00:00+08:00 or …Z for UTC"
        ) from None
    if when.tzinfo is None:
        raise ValueError(
            f"{text!r} has no timezone; add one, e.g. {text.strip()}Z (UTC) or …+08:00"
        )
    return when


class TokenRefusedError(Exception):
    """Why a bearer token does not authenticate, in words its holder can act on."""


class TokenExpiredError(TokenRefusedError):
    def __init__(self, token_id: str, actor_id: str, expired_at: datetime) -> None:
        self.token_id = token_id
        self.actor_id = actor_id
        self.expired_at = expired_at
        super().__init__(
            f"token {token_id} (of {actor_id}) expired at {format_instant(expired_at)}; "
            "ask for a new one (made by casework-token make)"
        )


UNKNOWN_TOKEN = "this token is not known (mistyped, or revoked); ask for a new one"


class TokenStore:
    """The tokens file: {sha256: {actor_id, role, place, expires_at}}, place and expiry optional;
    reread when it changes on disk. `clock` decides whether a token has expired."""

    def __init__(self, path: Path, clock: Clock = system_clock) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._mtime: float | None = None
        self._tokens: dict[str, dict[str, Any]] = {}

    def create(
        self,
        actor_id: str,
        role: str,
        place: str | None = None,
        check_place: Callable[[str], str] = well_formed_place,
        *,
        expires_at: datetime | None = None,
    ) -> str:
        """Make a token for this actor; `check_place` refuses (and normalises) the place.

        `expires_at` None makes a token that never expires: the caller chooses (the CLI defaults
        to an expiry; `casework demo` and test fixtures make tokens for a run, without one)."""
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
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise ValidationError("a token's expiry needs a timezone (e.g. UTC)")
            if expires_at <= self.clock():
                raise ValidationError(
                    f"the expiry {format_instant(expires_at)} has already passed "
                    f"(it is {format_instant(self.clock())}); give a later one"
                )
        token = secrets.token_urlsafe(32)
        entry: dict[str, Any] = {"actor_id": actor.id, "role": actor.role.value}
        if place is not None:
            entry["place"] = place
        if expires_at is not None:
            entry["expires_at"] = format_instant(expires_at)
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
        """Who holds tokens (actor, role, place, the first 12 characters of each hash) and when
        each expires (`expires_at` None: never) and whether it has, by this store's clock."""
        now = self.clock()
        listed = []
        for digest, entry in sorted(self._current().items()):
            expiry = entry.get("expires_at")
            expired = expiry is not None and not _before_expiry(now, expiry)
            listed.append(
                {**entry, "hash": digest[:HASH_SHOWN], "expires_at": expiry, "expired": expired}
            )
        return listed

    def verify(self, token: str) -> Principal:
        """Who this token stands for; else `TokenRefusedError` (`TokenExpiredError`), saying why.

        A token is accepted exactly while the clock reads before its `expires_at`; an expiry the
        file cannot be read for refuses the token (a hand-edited typo must not mean "forever").
        """
        digest = hash_token(token)
        entry = self._current().get(digest)
        if entry is None:
            raise TokenRefusedError(UNKNOWN_TOKEN)
        expiry = entry.get("expires_at")
        if expiry is not None:
            token_id = digest[:HASH_SHOWN]
            try:
                expires_at = _expiry(expiry)
            except ValueError:
                raise TokenRefusedError(
                    f"token {token_id} (of {entry.get('actor_id')}) has an unreadable expiry "
                    f"{expiry!r} in the tokens file; ask for a new one"
                ) from None
            if not self.clock() < expires_at:
                raise TokenExpiredError(token_id, str(entry.get("actor_id")), expires_at)
        return Principal(Actor(entry["actor_id"], Role(entry["role"])), entry.get("place"))

    def authenticate(self, token: str) -> Principal | None:
        """`verify`, with None for a token refused for any reason (unknown, revoked, expired)."""
        try:
            return self.verify(token)
        except TokenRefusedError:
            return None

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
        private_dir(self.path.parent)
        lock_path = self.path.with_name(f".{self.path.name}.lock")
        with self._lock, open(private_file(lock_path), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, tokens: dict[str, dict[str, Any]]) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        write_private(temporary, json.dumps(tokens, indent=1, sort_keys=True))
        temporary.replace(self.path)


def _expiry(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"expires_at must be an ISO time, not {value!r}")
    return parse_instant(value)


def _before_expiry(now: datetime, expiry: Any) -> bool:
    try:
        return now < _expiry(expiry)
    except ValueError:
        return False


bearer = HTTPBearer(
    auto_error=False, description="a token made by `casework-token` (only its hash is kept)"
)


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, from the bearer token, checked against the app's `TokenStore`.

    `async` because it does not block (a hash, a dict and a `stat` of the tokens file, read
    again only when it changed): a plain `def` would cost every request a hop to a worker
    thread and back (issue 16)."""
    if credentials is None:
        raise HTTPException(
            401,
            "send 'Authorization: Bearer <token>'; a token is made by casework-token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    who = verified_before(request.scope, credentials.credentials)
    if who is None:
        tokens: TokenStore = request.app.state.casework_web.tokens
        try:
            who = tokens.verify(credentials.credentials)
        except TokenRefusedError as refused:
            raise HTTPException(401, str(refused), headers={"WWW-Authenticate": "Bearer"}) from None
    request.state.actor_id = who.actor.id
    return who


VERIFIED = "casework_verified_token"
"""Where in a request's state a middleware that verified its bearer token leaves the token and
its `Principal` (`remember_verified`), so the `principal` dependency need not verify it again."""


def remember_verified(scope: MutableMapping[str, Any], token: str, who: Principal) -> None:
    """Note in this request's state that `token` was verified as `who` (issue 16: the
    Idempotency-Key middleware verifies the token to scope its key, and verifying it again in
    the `principal` dependency cost every keyed request a second hash and `stat`). Only an
    accepted token is noted: a refused one is verified again by `principal`, which says why."""
    scope.setdefault("state", {})[VERIFIED] = (token, who)


def verified_before(scope: Mapping[str, Any], token: str) -> Principal | None:
    """The `Principal` this very token was verified as earlier in this request, or None. The
    request is judged once, when its body has arrived: a token expiring while it is handled
    still carries it through (as a token expiring after the dependency ran always did)."""
    state = scope.get("state")
    seen = state.get(VERIFIED) if isinstance(state, dict) else None
    if seen is not None and seen[0] == token:
        return cast(Principal, seen[1])
    return None


Who = Annotated[Principal, Depends(principal)]
