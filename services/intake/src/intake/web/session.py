"""How a browser carries the bearer token: an HttpOnly cookie set by a login form.

The pages are read by people in a browser, which cannot attach an `Authorization` header to a
link. So `/ui/login` takes the same token `casework-token` makes (pasted once), checks it
exactly as the API checks a bearer header — the same `TokenStore`, the same hash — and answers
with a cookie holding it:

- `HttpOnly` (page scripts cannot read it), `SameSite=Strict` (no other site's page or link
  sends it: the pages only read, and no cross-site request carries the session), `Path=/ui`
  (the JSON API never takes it: there the header is the only credential), `Secure` when the
  request came over HTTPS (behind a proxy that sets `X-Forwarded-Proto: https` too), and
  `Max-Age` of 12 hours;
- on every page the cookie is authenticated again against the tokens file, so revoking a token
  (`casework-token revoke`) signs its browser sessions out at once;
- a page also accepts `Authorization: Bearer` (for scripts), which wins over the cookie;
- the login and logout forms refuse a POST whose `Origin` names another site.

The cookie holds the token itself, not a session id: the intake keeps no session state, and the
tokens file stays the one list of who may read what.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from casework_web import Principal, TokenStore
from fastapi import Request, Response

COOKIE = "casework_session"
COOKIE_PATH = "/ui"
MAX_AGE_SECONDS = 12 * 60 * 60
LANDING = "/ui/dashboard"


def tokens_of(request: Request) -> TokenStore:
    tokens: TokenStore = request.app.state.casework_web.tokens
    return tokens


def page_principal(request: Request) -> Principal | None:
    """The reader of a page: the bearer header if sent, else the session cookie; None if neither
    names a known token."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    token = credentials.strip() if scheme.lower() == "bearer" else request.cookies.get(COOKIE)
    if not token:
        return None
    who = tokens_of(request).authenticate(token)
    if who is not None:
        request.state.actor_id = who.actor.id
    return who


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=MAX_AGE_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
    )


def end_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=is_https(request)
    )


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a page of ours, never another site (no open redirect)."""
    if not target:
        return LANDING
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui/") or "\\" in target:
        return LANDING
    return target


def same_origin(request: Request) -> bool:
    """A form POST from our own pages (or from a client that sends no Origin, like curl)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")
