"""The intake's web pages: the compound dashboard and the case file, rendered on the server.

Read-only pages for people (staff, leaders, officers, auditors, and residents for their own
cases), with the API's access rules: the same tokens (carried by a cookie, `session.py`), the
same scopes (`Intake.case`, `MeasuresDesk`). A page a reader may not see answers like the API,
404 for a case outside their scope, 403 with the reason for measures. Little JavaScript: the
"as of" slider submits itself when moved; every control also works as a plain link or form.
Times are shown in China Standard Time (UTC+8); the dashboard's dates are days there.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from casework import CaseworkError
from casework.timeline import kind_label, status_label, tier_label
from casework.transparency.exports import read_public_key
from casework_web import Principal, TokenRefusedError
from casework_web.errors import STATUS_OF
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from intake.api.deps import Rt
from intake.measures.definitions import TIERS, Measures
from intake.measures.text import CHINA, duration, percent
from intake.runtime import Runtime
from intake.service import lines_for
from intake.web import session
from intake.web.readable import LinkTo, moment
from intake.web.shown_check import check_shown
from intake.web.views import case_file

templates = Environment(
    loader=PackageLoader("intake.web", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


templates.filters.update(
    percent=percent,
    duration=duration,
    local=moment,
    kind_label=kind_label,
    tier_label=tier_label,
    status_label=status_label,
)
templates.globals.update(TIERS=TIERS)

router = APIRouter(prefix="/ui", include_in_schema=False)


def render(
    request: Request, name: str, status: int = 200, who: Principal | None = None, **context: Any
) -> HTMLResponse:
    html = templates.get_template(name).render(
        who=who, path=request.url.path, page_url=str(request.url), **context
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"  # pages show case files: never cache them
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def problem(request: Request, who: Principal | None, status: int, message: str) -> HTMLResponse:
    return render(request, "problem.html", status, who, status_code=status, message=message)


def from_error(request: Request, who: Principal | None, error: CaseworkError) -> HTMLResponse:
    for kind, status, _ in STATUS_OF:
        if isinstance(error, kind):
            return problem(request, who, status, str(error))
    return problem(request, who, 422, str(error))


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)


def _catch_up(rt: Runtime) -> None:
    if rt.store_feed is not None:
        rt.store_feed.catch_up()  # the page shows what was just recorded


# ------------------------------------------------------------------ signing in


class LoginForm(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    token: str = Field(min_length=1, max_length=200)
    next: str = Field(default=session.LANDING, max_length=500)


@router.get("", response_class=HTMLResponse)
def home() -> RedirectResponse:
    return RedirectResponse(session.LANDING, status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, next: Annotated[str | None, Query(max_length=500)] = None
) -> HTMLResponse:
    return render(request, "login.html", next=session.safe_next(next), message=None)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = session.LANDING,
) -> Response:
    target = session.safe_next(next)
    if not session.same_origin(request):
        return problem(request, None, 403, "sign in from this site's own login page")
    try:
        form = LoginForm(token=token, next=target)
    except ValidationError:
        return render(
            request, "login.html", 422, next=target, message="paste your access token first"
        )
    try:
        session.tokens_of(request).verify(form.token)
    except TokenRefusedError as refused:  # unknown, revoked or expired: the holder is told which
        return render(request, "login.html", 401, next=target, message=str(refused))
    response = RedirectResponse(target, status_code=303)
    session.set_session(request, response, form.token)
    return response


@router.post("/logout", response_class=HTMLResponse)
def logout(request: Request) -> Response:
    if not session.same_origin(request):
        return problem(request, None, 403, "sign out from this site's own pages")
    response = RedirectResponse("/ui/login", status_code=303)
    session.end_session(request, response)
    return response


# ------------------------------------------------------------------ the dashboard


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class DashboardQuery(BaseModel):
    """The dashboard's form: a compound, and days (UTC+8) from and to, both included."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    compound: Annotated[str | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, max_length=130
    )
    from_: Annotated[date | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="from"
    )
    to: Annotated[date | None, BeforeValidator(_blank_is_none)] = None

    def window(self) -> tuple[datetime | None, datetime | None]:
        start = datetime.combine(self.from_, time(), CHINA) if self.from_ else None
        end = datetime.combine(self.to + timedelta(days=1), time(), CHINA) if self.to else None
        return start, end


def compounds_for(who: Principal, rt: Runtime) -> list[tuple[str, str]]:
    """(community/compound, display name) of the compounds this reader answers for."""
    found = []
    for community in rt.intake.places.communities.values():
        for compound in community.compounds.values():
            path = f"{community.id}/{compound.id}"
            if who.is_auditor or (who.place is not None and _overlap(who.place, path)):
                found.append((path, f"{compound.name} {compound.id}"))
    return sorted(found)


def _overlap(place: str, path: str) -> bool:
    mine, theirs = place.split("/"), path.split("/")
    shorter = min(len(mine), len(theirs))
    return mine[:shorter] == theirs[:shorter]


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    rt: Rt,
    compound: Annotated[str | None, Query(max_length=130)] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    who = session.page_principal(request)
    if who is None:
        return to_login(request)
    try:
        query = DashboardQuery.model_validate({"compound": compound, "from": from_, "to": to})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the form"
        return problem(request, who, 422, f"{where}: {first['msg']} (dates are YYYY-MM-DD)")
    start, end = query.window()
    _catch_up(rt)
    measures: Measures | None = None
    refusal = None
    desk = rt.measures
    try:
        path = desk.compound_path(query.compound) if query.compound else None
        if not who.is_resident:
            measures = desk.measures(who, compound=path, start=start, end=end)
        else:
            refusal = "指标仅对工作人员开放 measures are for those who answer for a place"
        _, recent = rt.intake.list(
            who, compound=path, tier=None, status=None, kind=None, offset=0, limit=30
        )
    except CaseworkError as error:
        return from_error(request, who, error)
    back = urlencode(
        {k: v for k, v in {"compound": query.compound, "from": from_, "to": to}.items() if v}
    )
    return render(
        request,
        "dashboard.html",
        who=who,
        query=query,
        compound_path=path,
        compounds=compounds_for(who, rt),
        measures=measures,
        refusal=refusal,
        recent=recent,
        back=back,
    )


# ------------------------------------------------------------------ the case file


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request,
    rt: Rt,
    case_id: str,
    v: Annotated[str | None, Query(max_length=12)] = None,
) -> Response:
    who = session.page_principal(request)
    if who is None:
        return to_login(request)
    try:
        case = rt.intake.case(who, case_id)  # scope first: out of scope reads as unknown
        request.state.case_id = str(case.id)
        personal = not who.is_auditor  # an auditor reads [personal]; everyone [erased]
        entries = lines_for(who, rt.intake.app.history(case.id, personal=personal))
        version = len(entries)
        if v not in (None, ""):
            if not v.isdigit() or not 1 <= int(v) <= len(entries):
                return problem(
                    request,
                    who,
                    422,
                    f"v is the event to show the case as of: a whole number from 1 to "
                    f"{len(entries)}, not {v!r}",
                )
            version = int(v)
        state = rt.intake.app.get_case(case.id, version=version, personal=personal)
        key = notary_key(rt)
        checked = check_shown(rt.intake.app, case.id, version, key)
    except CaseworkError as error:
        return from_error(request, who, error)
    view = case_file(state, entries, checked, version, link_to=visible_to(who, rt))
    return render(request, "case.html", who=who, view=view)


def visible_to(who: Principal, rt: Runtime) -> LinkTo:
    """A linked case's page, only when this reader may see that case (as the API decides)."""

    def link_to(case_id: str) -> str | None:
        try:
            rt.intake.case(who, case_id)
        except CaseworkError:
            return None
        return f"/ui/cases/{quote(case_id, safe='')}"

    return link_to


def notary_key(rt: Runtime) -> Ed25519PublicKey | None:
    """The notary's public key when the intake was given one (checked at start)."""
    given = rt.settings.notary_pubkey
    return read_public_key(given) if given else None
