"""The services as their users reach them: bearer tokens, JSON over HTTP, waiting for effects.

The demo and the end-to-end benchmark speak to the running services only through their HTTP
APIs (and NATS); nothing here touches the store. A call that the service refuses raises
`StepFailedError` naming the request, who made it and the service's own message, so a broken
story says where it broke. Effects that arrive over NATS (dispatch assigning a repair, the
intake's index catching up) are awaited with `wait_for`, a bounded poll.

A call that got no answer (timeout, dropped connection) or a 503 (the store was down) is sent
again, a bounded number of times, after the server's `Retry-After`; every POST carries an
`Idempotency-Key` made for that one logical request and resent unchanged on each retry, so a
retry never reports the same leak twice. Our own loop rather than a retry library: it must
resend the same key and read the server's `Retry-After`, which a generic decorator does not.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx
from casework_web.auth import TokenStore

T = TypeVar("T")

ATTEMPTS = 4
"""Sends of one logical request at most (the first and three retries)."""
LONGEST_PAUSE = 5.0
"""Seconds at most between two sends, whatever `Retry-After` says."""


class StepFailedError(RuntimeError):
    """A service refused a step of a story, or its effect did not arrive in time."""


@dataclass(frozen=True)
class Person:
    """An actor with a bearer token: who the services record as doing what they ask."""

    actor_id: str
    role: str
    place: str | None
    token: str

    def __str__(self) -> str:
        return f"{self.actor_id} ({self.role})"


class Cast:
    """The people of the stories, each given a token in the stack's shared tokens file."""

    def __init__(self, tokens_file: Path) -> None:
        self.tokens = TokenStore(tokens_file)
        self._people: dict[str, Person] = {}

    def person(self, actor_id: str, role: str, place: str | None = None) -> Person:
        known = self._people.get(actor_id)
        if known is not None:
            return known
        token = self.tokens.create(actor_id, role, place)
        made = Person(actor_id, role, place, token)
        self._people[actor_id] = made
        return made


class Api:
    """The running services by name (`intake`, `dispatch`, `mediation`), one HTTP client."""

    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        timeout: float = 15.0,
        attempts: int = ATTEMPTS,
        longest_pause: float = LONGEST_PAUSE,
    ) -> None:
        self.urls = dict(urls)
        self.http = httpx.Client(timeout=timeout)
        self.attempts = attempts
        self.longest_pause = longest_pause
        self.calls = 0
        self.retries = 0

    def close(self) -> None:
        self.http.close()

    def request(
        self,
        method: str,
        service: str,
        path: str,
        who: Person,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        url = self.urls.get(service)
        if url is None:
            raise StepFailedError(f"{method} {path}: the {service} service is not running")
        self.calls += 1
        headers = {"Authorization": f"Bearer {who.token}"}
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())  # one per logical request
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.http.request(
                    method,
                    url + path,
                    json=dict(body) if body is not None else None,
                    params={k: v for k, v in (params or {}).items() if v is not None},
                    headers=headers,
                )
            except httpx.TransportError as error:  # no answer: it may or may not have happened
                if attempt >= self.attempts:
                    raise StepFailedError(
                        f"{method} {service}{path} as {who}: {error} ({attempt} tries)"
                    ) from error
                self._pause(attempt, None)
                continue
            if attempt < self.attempts and _worth_retrying(response):
                self._pause(attempt, response.headers.get("Retry-After"))
                continue
            break
        if response.status_code not in expect:
            raise StepFailedError(
                f"{method} {service}{path} as {who}: {response.status_code} {_message(response)}"
            )
        return response.json() if response.content else None

    def _pause(self, attempt: int, retry_after: str | None) -> None:
        self.retries += 1
        try:
            wait = float(retry_after) if retry_after is not None else 0.0
        except ValueError:  # an HTTP date: not sent by our services; back off instead
            wait = 0.0
        backoff = 0.2 * 2 ** (attempt - 1) * random.uniform(0.5, 1.5)
        time.sleep(min(max(wait, backoff), self.longest_pause))

    def get(self, service: str, path: str, who: Person, **params: Any) -> Any:
        return self.request("GET", service, path, who, params=params)

    def post(
        self,
        service: str,
        path: str,
        who: Person,
        body: Mapping[str, Any] | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> Any:
        return self.request("POST", service, path, who, body=body or {}, expect=expect)


def _worth_retrying(response: httpx.Response) -> bool:
    """503 (the store is down), or 409 because our own first send is still being handled."""
    if response.status_code == 503:
        return True
    if response.status_code != 409:
        return False
    try:
        return bool(response.json().get("code") == "request_in_flight")
    except (ValueError, AttributeError):
        return False


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and "message" in body:
        code = body.get("code", "")
        return f"{code}: {body['message']}" if code else str(body["message"])
    return str(body)[:300]


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    """Poll `probe` until it returns something truthy (returned), or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    pause = 0.02
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise StepFailedError(f"waited {timeout:.0f} s for {what}; it did not happen")
        time.sleep(pause)
        pause = min(pause * 1.5, 0.25)
