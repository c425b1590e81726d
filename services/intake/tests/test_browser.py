"""The dashboard and a case file in a real headless Chromium (Debian's /usr/bin/chromium, driven
by Playwright), after the article's stories: sign in as a person would, read the figures, open a
case, step through "as of", and keep screenshots in test-artifacts/ for people to look at.

Needs the `chromium` package (`.ci/run` installs it). Elsewhere the test is skipped with the
reason; under CI=true a missing browser is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from casework import Actor, Casework, Role
from casework.clock import FakeClock
from casework.testing.stories import every_story
from casework_web import TokenStore
from intake.api.app import create_app
from intake.places import Places
from intake.testing import FLAT, T0, make_settings

CHROMIUM = Path(os.environ.get("CASEWORK_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@dataclass
class Site:
    url: str
    app: Casework
    clock: FakeClock
    tokens: dict[str, str]
    cases: dict[str, str]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The intake served by uvicorn on a loopback port, with the stories in its store."""
    tmp = tmp_path_factory.mktemp("browser")
    settings = make_settings(tmp, f"sqlite:///{tmp / 'cases.db'}")
    clock = FakeClock(T0)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, clock=clock),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, name="intake-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "intake stopped while starting"
        assert time.monotonic() < deadline, "intake did not start in 30 s"
        time.sleep(0.05)
    try:
        url = f"http://127.0.0.1:{port}"
        store = TokenStore(settings.tokens_path)
        places = Places.load(settings.places_file)
        tokens = {
            "auditor": store.create("auditor-zhao", "auditor"),
            "resident": store.create("r-0302", "resident"),
            "staff": store.create(
                "staff-li", "property_staff", "jiayu-xx/wanxin-intl", places.check_scope
            ),
        }
        runtime = server.config.loaded_app  # the app behind uvicorn's middleware
        app = _casework_of(runtime)
        ids = every_story(app, clock)
        # one report through the API, as a resident sends it, and a volunteer's well-rated repair
        resident = {"Authorization": f"Bearer {tokens['resident']}"}
        status, reported = post(
            f"{url}/cases",
            {"kind": "repair", "address": FLAT, "description": "水龙头漏水 the tap drips"},
            resident,
        )
        assert status == 201, reported
        tap = reported["case_id"]
        staff, volunteer = Actor("staff-li", Role.PROPERTY_STAFF), Actor("vol-li", Role.VOLUNTEER)
        app.assign(tap, staff, volunteer, "plumber, lives in b12")
        clock.advance(timedelta(hours=1))
        app.start_work(tap, volunteer)
        app.finish_work(tap, volunteer, "new washer")
        app.resolve(tap, staff, "tap fixed")
        status, rated = post(f"{url}/cases/{tap}/rating", {"score": 5}, resident)
        assert status == 200, rated
        yield Site(url, app, clock, tokens, {"dispute": str(ids[2]), "tap": tap})
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
    """A JSON POST over a real socket, as a resident's app sends it."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def _casework_of(asgi: object) -> Casework:
    """Walk uvicorn's wrappers down to the FastAPI app and its runtime's Casework."""
    current: object = asgi
    for _ in range(10):
        state = getattr(current, "state", None)
        runtime = getattr(state, "runtime", None) if state is not None else None
        if runtime is not None:
            app: Casework = runtime.intake.app
            return app
        current = getattr(current, "app", None)
    raise AssertionError("no runtime found behind uvicorn's app")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


def signed_in(browser: Browser, site: Site, who: str, **context: object) -> Page:
    page = browser.new_context(locale="zh-CN", **context).new_page()  # type: ignore[arg-type]
    page.goto(f"{site.url}/ui/dashboard")
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))
    page.get_by_label(re.compile("token")).fill(site.tokens[who])
    page.get_by_role("button", name=re.compile("sign in")).click()
    expect(page).to_have_url(re.compile(r"/ui/dashboard"))
    return page


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_an_auditor_reads_the_dashboard_and_steps_through_a_case_file(
    browser: Browser, site: Site
) -> None:
    page = signed_in(browser, site, "auditor")
    expect(page.get_by_test_id("who")).to_contain_text("auditor-zhao")
    expect(page.get_by_test_id("satisfaction")).to_contain_text("75.0%")
    expect(page.get_by_test_id("satisfaction")).to_contain_text("3/4 rated 4–5")
    expect(page.get_by_test_id("resolution")).to_contain_text("4/6 settled")
    expect(page.get_by_test_id("open")).to_contain_text("2")
    settled = page.get_by_test_id("settled")
    expect(settled.locator("tr", has_text="小区 compound")).to_contain_text("2")
    expect(settled.locator("tr", has_text="社区 community")).to_contain_text("1")
    board = page.get_by_test_id("board")
    expect(board.locator("tr", has_text="vol-li")).to_contain_text("红榜 red")
    expect(board.locator("tr", has_text="volunteer-wang")).to_contain_text("黑榜 black")
    open_table = page.get_by_test_id("open-by-kind-tier")
    expect(open_table.locator("tr", has_text="漏水应急 leak")).to_contain_text("1")
    page.get_by_label(re.compile("compound")).select_option("jiayu-xx/wanxin-intl")
    page.get_by_role("button", name=re.compile("show")).click()
    expect(page.get_by_test_id("compound")).to_have_text("jiayu-xx/wanxin-intl")
    shot(page, "dashboard")

    page.locator(f'a[href="/ui/cases/{site.cases["dispute"]}"]').click()
    events = len(site.app.history(site.cases["dispute"]))
    expect(page.get_by_test_id("asof-label")).to_contain_text(f"event {events} of {events}")
    expect(page.get_by_test_id("verify")).to_contain_text("完整 intact")
    ladder = page.get_by_test_id("ladder")
    expect(ladder.locator('[data-tier="community"]')).to_contain_text("解决于此 settled here")
    expect(ladder.locator('[data-tier="compound"]')).to_contain_text("起点 entered here")
    expect(page.get_by_test_id("climbs")).to_contain_text("needs the community")
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("tr.later")).to_have_count(0)

    page.get_by_test_id("asof-5").click()  # the first meeting convened, still in the compound
    expect(page.get_by_test_id("asof-label")).to_contain_text(f"event 5 of {events}")
    expect(page.get_by_test_id("state")).to_contain_text("调解中 in_mediation")
    expect(ladder.locator('[data-tier="compound"]')).to_contain_text("当前 the case is here")
    expect(ladder.locator('[data-tier="community"]')).not_to_contain_text("settled")
    expect(timeline.locator("tr.current")).to_have_attribute("data-version", "5")
    expect(timeline.locator("tr.later")).to_have_count(events - 5)

    slider = page.get_by_test_id("slider")
    slider.fill("1")  # moving the slider submits its form
    expect(page.get_by_test_id("asof-label")).to_contain_text(f"event 1 of {events}")
    expect(page.get_by_test_id("state")).to_contain_text("已上报 reported")
    page.get_by_test_id("next").click()
    expect(page.get_by_test_id("asof-label")).to_contain_text(f"event 2 of {events}")
    page.get_by_test_id("latest").click()
    expect(page.get_by_test_id("asof-label")).to_contain_text(f"event {events} of {events}")
    shot(page, "case-file")
    page.context.close()


def test_on_a_phone_a_resident_sees_their_own_case_file_and_not_a_neighbours(
    browser: Browser, site: Site
) -> None:
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    page = signed_in(browser, site, "resident", **phone)
    expect(page.get_by_test_id("refusal")).to_contain_text("measures are for those who answer")
    mine = page.get_by_test_id("cases").locator("a")
    expect(mine).to_have_count(1)
    mine.click()
    expect(page.get_by_test_id("verify")).to_contain_text("完整 intact")
    expect(page.get_by_test_id("ladder").locator('[data-tier="building"]')).to_contain_text(
        "解决于此 settled here"
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"
    shot(page, "case-file-phone")
    page.goto(f"{site.url}/ui/cases/{site.cases['dispute']}")
    expect(page.get_by_test_id("problem")).to_contain_text("among the cases you can see")
    page.context.close()
