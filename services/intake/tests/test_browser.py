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
from casework.transparency.checkpoints import public_text
from casework.transparency.notary import Notary
from casework_web import TokenStore
from casework_web.testing import served_in_thread
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
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
    checkpoint: int
    """The size of the checkpoint signed after the stories (before the tap's report)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The intake served by uvicorn on a loopback port, with the stories in its store."""
    tmp = tmp_path_factory.mktemp("browser")
    notary = Ed25519PrivateKey.generate()
    settings = make_settings(
        tmp, f"sqlite:///{tmp / 'cases.db'}", notary_pubkey=public_text(notary.public_key())
    )
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
    with served_in_thread(server, "intake-under-test"):
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
        signed = Notary(app, notary).checkpoint()  # covers the stories, not the report below
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
        cases = {"dispute": str(ids[2]), "tap": tap}
        yield Site(url, app, clock, tokens, cases, signed.size)


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


# ------------------------------------------------------------------ reading and printing


OVERFLOWS = """(selector) => {
  const card = document.querySelector(selector);
  const box = card.getBoundingClientRect();
  const out = [];
  if (box.right > window.innerWidth + 1)
    out.push(`card ends at ${box.right} > ${window.innerWidth}`);
  if (card.scrollWidth > card.clientWidth + 1)
    out.push(`card scrolls sideways: ${card.scrollWidth} > ${card.clientWidth}`);
  for (const el of card.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;  // not laid out (hidden)
    const what = `${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}"`;
    if (r.right > box.right + 1 || r.left < box.left - 1)
      out.push(`${what} at [${Math.round(r.left)}, ${Math.round(r.right)}] outside the card ` +
               `[${Math.round(box.left)}, ${Math.round(box.right)}]`);
    if (el.tagName === 'TD' && el.scrollWidth > el.clientWidth + 1)
      out.push(`${what}: content ${el.scrollWidth}px in a ${el.clientWidth}px cell`);
  }
  return out.slice(0, 8);
}"""

TEXT_COLOURS = """(root) => {
  const opaque = (c) => !(c === 'transparent' || /rgba\\(.*,\\s*0\\)$/.test(c));
  const found = [];
  for (const el of document.querySelector(root).querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    let bg = 'rgb(255, 255, 255)', opacity = 1;
    for (let e = el; e; e = e.parentElement) {
      opacity *= parseFloat(getComputedStyle(e).opacity);
    }
    for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (opaque(c)) { bg = c; break; }
    }
    found.push({text: el.textContent.trim().slice(0, 30), testid: el.dataset.testid || '',
                color: getComputedStyle(el).color, background: bg, opacity});
  }
  return found;
}"""


def rgba(css: str) -> tuple[float, float, float, float]:
    parts = [float(x) for x in re.findall(r"[\d.]+", css)]
    return parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else 1.0


def luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2.x relative luminance of an sRGB colour (0–255 channels)."""
    linear = [
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb)
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(color: str, background: str, opacity: float = 1.0) -> float:
    """The WCAG contrast ratio of text (its alpha and opacity blended over the background)."""
    r, g, b, a = rgba(color)
    br, bg, bb, _ = rgba(background)
    k = a * opacity  # the text's alpha
    text = (k * r + (1 - k) * br, k * g + (1 - k) * bg, k * b + (1 - k) * bb)
    lighter, darker = sorted((luminance(text), luminance((br, bg, bb))), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_contrast_ratio_is_wcags() -> None:
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21)
    assert contrast("rgb(119, 119, 119)", "rgb(255, 255, 255)") == pytest.approx(4.48, abs=0.01)
    half = contrast("rgba(255, 255, 255, 0.5)", "rgb(0, 0, 0)")
    assert half == contrast("rgb(255, 255, 255)", "rgb(0, 0, 0)", opacity=0.5) < 21


MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def assert_times_in_one_zone(page: Page) -> None:
    text = page.evaluate("document.body.innerText")
    assert "+00:00" not in text
    assert "+08:00" not in text
    for found in MOMENT.finditer(text):
        after = text[found.end() : found.end() + 6]
        assert after == " UTC+8", (
            f"a time without its zone: {text[found.start() : found.end() + 12]!r}"
        )
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}", text), "a raw ISO time on the page"


def assert_fits(page: Page, selector: str) -> None:
    overflowing = page.evaluate(OVERFLOWS, selector)
    assert overflowing == [], f"{selector} at {page.viewport_size}: {overflowing}"


def low_contrast(page: Page, root: str = "body") -> list[tuple[dict[str, Any], float]]:
    return [
        (found, round(ratio, 2))
        for found in page.evaluate(TEXT_COLOURS, root)
        if (ratio := contrast(found["color"], found["background"], found["opacity"])) < 4.5
    ]


def test_an_auditor_reads_and_prints_a_case_file_at_1400_px(browser: Browser, site: Site) -> None:
    page = signed_in(browser, site, "auditor", viewport={"width": 1400, "height": 900})
    for found in page.evaluate(TEXT_COLOURS, "header.top"):  # the role, the name, the links
        ratio = contrast(found["color"], found["background"], found["opacity"])
        assert ratio >= 4.5, f"header text {found} has contrast {ratio:.2f} < 4.5 (WCAG AA)"
    expect(page.get_by_test_id("role")).to_contain_text("审计员")
    dispute = site.cases["dispute"]
    events = len(site.app.history(dispute))
    page.goto(f"{site.url}/ui/cases/{dispute}")
    assert_fits(page, '[data-testid="timeline-card"]')
    assert_times_in_one_zone(page)
    expect(page.locator("tr[data-version] time").first).to_contain_text("UTC+8")
    state = page.get_by_test_id("state")
    shown = state.inner_text()
    assert "{" not in shown, shown
    assert '"' not in shown, shown
    expect(state).to_contain_text(
        re.compile(r"#0 \S+: .+ — 期限 by \d{4}-\d\d-\d\d \(已履行 kept\)")
    )
    expect(state).to_contain_text(re.compile(r"参加 with .+\(居民 resident\).* rounds held"))
    expect(page.get_by_test_id("verify")).to_contain_text(f"完整 intact: all {events} events")
    checkpoint = page.get_by_test_id("checkpoint")
    expect(checkpoint).to_contain_text(f"each of the {events} events shown is included in ")
    expect(checkpoint).to_contain_text(
        f"checkpoint {site.checkpoint} (the log's first {site.checkpoint} events, signed "
    )
    expect(checkpoint).to_contain_text("signature verified")
    assert low_contrast(page) == [], "text below WCAG AA on the case file"
    shot(page, "case-file-1400")
    page.locator('tr[data-version="5"]').screenshot(path=str(ARTIFACTS / "event-1400.png"))

    page.emulate_media(media="print")  # what an auditor's print-out holds
    expect(page.locator("header.top nav")).to_be_hidden()
    expect(page.get_by_test_id("slider-form")).to_be_hidden()
    assert page.locator("button:visible").count() == 0
    expect(page.locator("th.asof-col")).to_be_hidden()
    expect(page.get_by_test_id("printed-from")).to_contain_text(f"{site.url}/ui/cases/{dispute}")
    widths = page.evaluate(
        "[document.querySelector('main').clientWidth,"
        " document.querySelector('[data-testid=timeline-card]').getBoundingClientRect().width]"
    )
    assert widths[1] >= widths[0] - 2, f"the printed timeline is {widths[1]} of {widths[0]} px"
    assert_fits(page, '[data-testid="timeline-card"]')
    link = state.locator("a.case-link").first
    href = link.get_attribute("href")
    after = link.evaluate("a => getComputedStyle(a, '::after').content")
    assert href is not None
    assert href in after, f"a printed link shows {after!r}, not {href!r}"
    ARTIFACTS.mkdir(exist_ok=True)
    page.pdf(path=str(ARTIFACTS / "case-file.pdf"), format="A4")
    shot(page, "case-file-print")
    page.emulate_media(media="screen")

    link.click()  # a linked case is a link to its page
    expect(page).to_have_url(f"{site.url}{href}")
    expect(page.get_by_test_id("case-id")).to_have_text(href.rsplit("/", 1)[1])

    page.goto(f"{site.url}/ui/cases/{dispute}?v=5")  # the verify line is for what is shown
    expect(page.get_by_test_id("verify")).to_contain_text("events 1–5 shown")
    expect(checkpoint).to_contain_text("each of the 5 events shown is included in")
    assert_fits(page, '[data-testid="timeline-card"]')
    page.context.close()


def test_on_a_phone_the_dashboard_and_the_case_file_fit_the_screen(
    browser: Browser, site: Site
) -> None:
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    page = signed_in(browser, site, "auditor", **phone)
    tables = page.evaluate(
        """[...document.querySelectorAll('main table')].map(t => ({
             table: t.dataset.testid, wide: t.scrollWidth, holder: t.parentElement.clientWidth,
             right: t.parentElement.getBoundingClientRect().right}))"""
    )
    assert len(tables) >= 5
    for table in tables:  # no table hides columns past its card's edge, none runs off the screen
        assert table["wide"] <= table["holder"], table
        assert table["right"] <= 390, table
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dashboard is {width}px wide on a 390px phone"
    assert_times_in_one_zone(page)
    assert low_contrast(page) == [], "text below WCAG AA on the dashboard"
    shot(page, "dashboard-phone")
    page.goto(f"{site.url}/ui/cases/{site.cases['dispute']}")
    assert_fits(page, '[data-testid="timeline-card"]')
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    as_of = page.locator('tr[data-version="3"] [data-label="截至 as of"] a')
    as_of.scroll_into_view_if_needed()
    expect(as_of).to_be_in_viewport(ratio=1)  # the "as of" link whole on the screen, not clipped
    assert_times_in_one_zone(page)
    shot(page, "case-file-phone-auditor")
    page.locator('tr[data-version="5"]').screenshot(path=str(ARTIFACTS / "event-phone.png"))
    page.goto(f"{site.url}/ui/cases/{site.cases['tap']}")  # reported after the checkpoint
    expect(page.get_by_test_id("checkpoint")).to_contain_text(
        f"not yet in a signed checkpoint: event 1–{len(site.app.history(site.cases['tap']))} "
        f"came after the latest, checkpoint {site.checkpoint}"
    )
    page.context.close()
