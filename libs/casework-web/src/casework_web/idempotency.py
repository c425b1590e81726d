"""`Idempotency-Key` on every POST (IETF httpapi draft "The Idempotency-Key HTTP Header Field").

A client that sends a POST with a key it made (a UUID) may send it again, with the same key,
when it got no answer (timeout, dropped connection, 503): the first answer comes back, marked
`Idempotent-Replayed: true`, and nothing happens twice. Keys are scoped per caller (the bearer
token's actor) and path, and kept for a day in the shared store (`casework.idempotency`), so any
replica answers a retry the same way; the body is kept sealed (it may hold personal values), and
after any erasure a replay answers status and headers without it. The same key with a different
request is refused with 422; a retry while the first is still being handled gets 409 and
`Retry-After`. Only answers below 400 are kept: a refused or failed request (4xx, 5xx, 503 while
the store was down) did nothing, and its retry is handled afresh. A 503 from a commit that
reached the server did something, though: a route whose effect must not happen twice gives its
new record the id `keyed_id` derives from the caller and the key (the intake's reports do), so
that retry finds it.

A route whose effect is a save may keep its answer itself, in the transaction of that save
(`install(..., kept_by_routes=...)`; the intake's reports): the middleware then claims nothing
and hands the route a `RouteKey`. The route `look`s (a read: a used key is answered here, as
above), does its work, and commits its record already finished with its answer beside its
events (`RouteKey.keep`, `casework.application.store.CaseStore.together`): one commit instead
of three (claim, effect, answer), one hop to a worker thread instead of three, and no effect is
ever stored without its answer (issue 16). A retry of the same key at the same time is a 409
within a process, as above; on two replicas both run, the second commit meets the first's
record (or its case) and is answered from that record.

A pure ASGI middleware (it must see the whole answer to keep it), inside the request-context
one so replays are logged and counted like any answer.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from casework.idempotency import Answer, Claim, IdempotencyRecords
from casework.side_tables import SideWrite
from eventsourcing.persistence import PersistenceError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casework_web.auth import remember_verified
from casework_web.errors import error, store_unavailable

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_KEY = 255
_KEY = re.compile(r'^"?([\x21\x23-\x7e]{1,255})"?$')
"""Visible ASCII without `"`; the draft's form is a quoted sf-string, a bare one is accepted."""
IN_FLIGHT_RETRY_AFTER = "1"

PARAMETER: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "A key you make for this request (a UUID), sent again unchanged when you retry it: a "
        "retry gets the first answer (marked Idempotent-Replayed: true) and nothing happens "
        "twice. Kept for 24 hours per caller and path. Reusing a key for a different request is "
        "a 422; retrying while the first is still being handled is a 409."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY, "pattern": _KEY.pattern},
}

KEYED_IDS = UUID("0b7f4f5e-2c1d-5a43-9d0e-6b1c3a8f2e71")
"""The namespace of ids derived from an Idempotency-Key (`keyed_id`); fixed forever, or a retry
across an upgrade would open a second case."""

Records = Callable[[Any], IdempotencyRecords | None]
"""Given the ASGI app (the FastAPI instance), the records of its store, None before start."""

log = logging.getLogger("casework_web.idempotency")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _actor(scope: Scope) -> str | None:
    """The caller's actor id from the bearer token, or None (the route answers the 401)."""
    authorization = _header(scope, b"authorization") or ""
    kind, _, token = authorization.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        return None
    standards = getattr(scope["app"].state, "casework_web", None)
    if standards is None:
        return None
    token = token.strip()
    who = standards.tokens.authenticate(token)
    if who is None:
        return None
    remember_verified(scope, token, who)  # the `principal` dependency need not verify it again
    return str(who.actor.id)


def owner(actor_id: str, path: str) -> str:
    """Whose key it is: the caller's actor id and the path (a key is scoped to both)."""
    return f"{actor_id} POST {path}"


def keyed_id(actor_id: str, path: str, given: str | None) -> UUID | None:
    """The id a request's new record takes, derived from who sent it, where, and its key; None
    without a (well-formed) key.

    The kept answer alone cannot make a retry harmless: the effect may be committed while the
    answer fails (the store went down between the two), the claim is then freed and the retry
    handled afresh. Deriving the new record's id from the key makes that retry meet the record
    the first attempt made, in the same transaction as the effect. The scope is the
    middleware's (`where`: the caller's actor id and the path), so the two agree on whose key
    it is: another caller's same key derives another id."""
    if given is None:
        return None
    match = _KEY.match(given.strip())
    if match is None:
        return None
    return uuid5(KEYED_IDS, f"{owner(actor_id, path)}\0{match.group(1)}")


def request_keyed_id(actor_id: str, scope: Scope) -> UUID | None:
    """`keyed_id` of a POST's scope (a Starlette `Request.scope`), None without a key."""
    if scope.get("method") != "POST":
        return None
    return keyed_id(actor_id, str(scope.get("path", "")), _header(scope, HEADER.lower().encode()))


def fingerprint(scope: Scope, body: bytes) -> str:
    """What makes two requests the same request: method, path, query, content type, body."""
    digest = hashlib.sha256()
    for part in (
        scope.get("method", ""),
        scope.get("path", ""),
        scope.get("query_string", b"").decode("latin-1"),
        _header(scope, b"content-type") or "",
    ):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(body)
    return digest.hexdigest()


async def _send_json(send: Send, response: Any) -> None:
    """Send a Starlette response object through `send` (outside the routing machinery)."""
    await response({"type": "http"}, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


class KeyUsed(Exception):  # noqa: N818 - not an error: the route hands the answer back
    """Raised by `RouteKey.look` in a route: the key was used already; the middleware answers
    `claim` (a replay, 422 for another request, 409 while the first still runs)."""

    def __init__(self, claim: Claim) -> None:
        super().__init__(claim.outcome)
        self.claim = claim


@dataclass
class RouteKey:
    """The Idempotency-Key of a request whose route keeps its own answer (`kept_by_routes`).

    The route's part: every answer below 400 is committed with its effect (`keep` as a side
    write of `CaseStore.together`, then `kept`); when that commit fails on a clash, `look`
    (the key's record met: `KeyUsed`). It need not look first: a key used already makes its
    commit fail. A route that cannot keep an answer must `look` before its work."""

    records: IdempotencyRecords
    scope: str
    key: str
    fingerprint: str
    handled: bool = False
    """Set once the answer is kept (`kept`) or the key was found used (`look`): the middleware
    then keeps nothing itself."""

    def look(self) -> None:
        """Before any work: `KeyUsed` if this key was used already (its answer, or a refusal,
        for the middleware to send); None: go ahead."""
        claim = self.records.look(self.scope, self.key, self.fingerprint)
        if claim is not None:
            self.handled = True
            raise KeyUsed(claim)

    def keep(self, response: Response) -> SideWrite:
        """The record of `response` (the route's answer, status below 400, its body rendered)
        as a side write for the transaction of the route's effect; call `kept` once it
        committed. A record already there fails that transaction: `look` again, then."""
        answer = Answer(
            response.status_code,
            [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers],
            bytes(response.body),
        )
        return self.records.kept(self.scope, self.key, self.fingerprint, answer)

    def kept(self) -> None:
        """The transaction holding `keep`'s record committed."""
        self.handled = True


def route_key(request: Request) -> RouteKey | None:
    """The request's `RouteKey`, when its route keeps its own answer and a key was sent."""
    found = request.scope.get("state", {}).get(ROUTE_KEY)
    return found if isinstance(found, RouteKey) else None


ROUTE_KEY = "casework_idempotency_key"
"""Where in the request's state the middleware leaves a `RouteKey`."""


class IdempotencyKeys:
    """Pure ASGI middleware: see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        records: Records,
        store: str = "the case store",
        kept_by_routes: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.records = records
        self.store = store
        self.kept_by_routes = kept_by_routes
        """Paths whose POST route keeps its own answer (`RouteKey`), when the store lets it
        (`IdempotencyRecords.beside_events`)."""
        self.running: set[tuple[str, str]] = set()
        """Keys of route-kept requests being handled in this process (a second is a 409)."""
        self.orphans: set[tuple[str, str]] = set()
        """Claims this process could not free because the store was down (a request failed with
        503 mid-way): freed before the next claim, so their retry is not told "in flight" until
        the lease runs out."""
        self.unkept: dict[tuple[str, str], Answer] = {}
        """Answers this process gave but could not keep (the store went down right after the
        request's effect): kept before the next claim, so their retry is replayed, not redone."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = _header(scope, HEADER.lower().encode()) if scope["type"] == "http" else None
        if given is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        match = _KEY.match(given.strip())
        if match is None:
            await _send_json(
                send,
                error(
                    400,
                    "invalid_idempotency_key",
                    f"{HEADER} must be 1-{MAX_KEY} visible ASCII characters, e.g. a UUID "
                    f"(optionally in double quotes); make one per request and resend it "
                    f"unchanged on retry",
                ),
            )
            return
        key = match.group(1)
        # The body first, then the token: a token revoked while a slow upload came in is
        # refused, not carried through on a check made before it (`principal` trusts ours).
        body = await _read_body(receive)
        actor = _actor(scope)
        records = self.records(scope["app"])
        if actor is None or records is None:  # unauthenticated: the route refuses it
            await self.app(scope, _replaying(body, receive), send)
            return
        path = str(scope.get("path", ""))
        where = owner(actor, path)
        route: RouteKey | None = None
        try:
            await self._catch_up(records)
            if path in self.kept_by_routes and records.beside_events:
                route = RouteKey(records, where, key, fingerprint(scope, body))
            else:
                claim = await run_in_threadpool(records.claim, where, key, fingerprint(scope, body))
        except PersistenceError as down:
            log.warning("idempotency record not reachable: %s", down)
            await _send_json(send, store_unavailable(self.store))
            return
        if route is not None:
            await self._kept_by_route(scope, receive, send, body, route)
            return
        await self._answer(scope, receive, send, body, records, where, key, claim)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        body: bytes,
        records: IdempotencyRecords,
        where: str,
        key: str,
        claim: Claim,
    ) -> None:
        """Answer as `claim` says: refuse, replay, or (started) handle the request first."""
        if claim.outcome == "mismatch":
            await _send_json(
                send,
                error(
                    422,
                    "idempotency_key_reused",
                    f"{HEADER} {key!r} was used for a different request to {scope['path']} "
                    f"(another body or query); use a new key for a new request",
                ),
            )
            return
        if claim.outcome == "in_flight":
            response = error(
                409,
                "request_in_flight",
                f"the request with {HEADER} {key!r} is still being handled; retry in a moment "
                f"to get its answer",
            )
            response.headers["Retry-After"] = IN_FLIGHT_RETRY_AFTER
            await _send_json(send, response)
            return
        if claim.outcome == "replay" and claim.answer is not None:
            await _replay(send, claim.answer)
            return
        await self._first(scope, receive, send, body, records, where, key)

    async def _kept_by_route(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, route: RouteKey
    ) -> None:
        """Hand the route its `RouteKey` and send its answer; answer a used key as a claim.
        An answer below 400 that the route did not keep (a slip: it should, with its effect)
        is kept the classic way, claim then finish, and logged."""
        running = (route.scope, route.key)
        if running in self.running:
            await self._answer(
                scope, receive, send, body, route.records, *running, Claim("in_flight")
            )
            return
        self.running.add(running)
        scope.setdefault("state", {})[ROUTE_KEY] = route
        try:
            held = await self._handled(scope, receive, body)
        except KeyUsed as used:
            await self._answer(scope, receive, send, body, route.records, *running, used.claim)
            return
        finally:
            self.running.discard(running)
        start = next((m for m in held if m["type"] == "http.response.start"), None)
        if start is not None and int(start["status"]) < 400 and not route.handled:
            log.warning(
                "%s keeps its own answers but did not keep this one (%s %s): kept after it",
                scope.get("path"),
                *running,
            )
            try:
                claim = await run_in_threadpool(route.records.claim, *running, route.fingerprint)
            except PersistenceError as down:  # the effect happened: the client gets its answer
                log.warning("could not keep the answer for %s %s: %s", *running, down)
            else:
                if claim.outcome == "started":
                    await self._keep(route.records, *running, _answer_of(start, held))
        for message in held:
            await send(message)

    async def _handled(self, scope: Scope, receive: Receive, body: bytes) -> list[Message]:
        """Run the app on the request (its body read already); the messages it sent."""
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, _replaying(body, receive), hold)
        return held

    async def _keep(
        self, records: IdempotencyRecords, where: str, key: str, answer: Answer
    ) -> None:
        try:
            await run_in_threadpool(records.finish, where, key, answer)
        except PersistenceError as down:
            # The effect happened; the client gets its answer, and it is kept as soon as
            # the store answers again (a retry meanwhile is told "in flight").
            log.warning("could not keep the answer for %s %s yet: %s", where, key, down)
            self.unkept[(where, key)] = answer

    async def _first(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        body: bytes,
        records: IdempotencyRecords,
        where: str,
        key: str,
    ) -> None:
        """Handle the request, keep its answer if it succeeded (else free the key), send it."""
        try:
            held = await self._handled(scope, receive, body)
        except BaseException:
            await self._abandon(records, where, key)
            raise
        start = next((m for m in held if m["type"] == "http.response.start"), None)
        status = int(start["status"]) if start is not None else 500
        if status < 400 and start is not None:
            await self._keep(records, where, key, _answer_of(start, held))
        else:
            await self._abandon(records, where, key)
        for message in held:
            await send(message)

    async def _catch_up(self, records: IdempotencyRecords) -> None:
        """Keep the answers and free the claims the store was down for (see `__init__`)."""
        for claim, answer in list(self.unkept.items()):
            await run_in_threadpool(records.finish, *claim, answer)
            self.unkept.pop(claim, None)
        for orphan in list(self.orphans):
            await run_in_threadpool(records.abandon, *orphan)
            self.orphans.discard(orphan)

    async def _abandon(self, records: IdempotencyRecords, where: str, key: str) -> None:
        try:
            await run_in_threadpool(records.abandon, where, key)
        except PersistenceError as down:  # freed before the next claim, or when its lease ends
            log.warning("could not free %s %s yet: %s", where, key, down)
            self.orphans.add((where, key))


def _answer_of(start: Message, held: list[Message]) -> Answer:
    """The answer the app sent, from its held messages."""
    return Answer(
        int(start["status"]),
        [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])],
        b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body"),
    )


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` for the app once the body was read here: the body, then what `receive` says
    (a disconnect)."""
    delivered = False

    async def replayed_body() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed_body


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _replay(send: Send, answer: Answer) -> None:
    """Send the kept answer again; its body is gone once an erasure destroyed the key it was
    sealed under (it may hold the erased person's values): then status and headers only."""
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
    if answer.body is None:
        gone = {b"content-length", b"content-type"}
        headers = [(k, v) for k, v in headers if k.lower() not in gone]
        headers.append((b"content-length", b"0"))
    headers.append((REPLAYED.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body or b"", "more_body": False})


def document(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add the header, and the 400/409/422 it may cause, to every POST of an OpenAPI document."""
    for operations in openapi.get("paths", {}).values():
        operation = operations.get("post")
        if operation is None:
            continue
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == HEADER for p in parameters):
            parameters.append(dict(PARAMETER))
        responses = operation.setdefault("responses", {})
        body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        for status, words, also in (
            ("400", "the body is not valid JSON", "or the Idempotency-Key is malformed"),
            (
                "409",
                "refused as in conflict",
                "or this Idempotency-Key is in flight",
            ),
            ("422", "the request is malformed", "or its Idempotency-Key was used for another"),
        ):
            if status not in responses:
                responses[status] = {"description": f"{words}, {also}", "content": body}
            elif HEADER not in responses[status].get("description", ""):
                described = responses[status].get("description") or words
                responses[status]["description"] = f"{described}, {also}"
    return openapi
