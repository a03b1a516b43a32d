"""The layout in Chromium (Playwright): every page of the navigation on a phone held
upright (390×844) and on a desktop (1280×900), logged in as the epidemiologist.

One real uvicorn over the small province holding what field staff open on a phone: the
twin's travellers over two days at the arrival points (the board, a traveller, their
landing tubes), a campaign with sampled pools (sampling, the tubes list, a tube) and
two close contacts placed in a hotel (a placement's daily checks), the hotel's name long
enough that a table cell which does not wrap would push its table past the page.

At 390 px: the navigation folds behind a menu button that opens without JavaScript, the
header takes less than a quarter of the screen on every page, and the field pages never
scroll sideways (a wide table scrolls inside its own box). At 1280 px: table cells wrap,
so every table fits its box. Screenshots go to the test's folder, and to docs/img/
(``phone-*.png`` / ``desktop-*.png``) with FANGKONG_UPDATE_SCREENSHOTS=1. Marked
``browser``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fangkong.clock import now as utcnow
from fangkong.quarantine.placement import place
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.terms import PlacementRequest
from fangkong.testing.rules import TestingRules
from tests.api.codes import codes_of
from tests.api.helpers import make_app
from tests.demo.test_arrivals import run_feed
from tests.quarantine.helpers import COUNTY_A, add, hotel, people
from tests.web.live import chromium, live_server, login, province
from tests.web.test_testing_browser import start_campaign

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}  # a phone held upright
DESKTOP = {"width": 1280, "height": 900}
HEADER_SHARE = 0.25  # of the phone's height the header may take at most
SLACK = 2  # px of rounding the overflow checks allow
LONG_NAME = (
    "晋昌区人民政府指定集中隔离医学观察点（原晋昌国际会议中心酒店东楼及西楼，含附属停车场临时板房）"
    " Jinchang District designated centralised quarantine site (former Jinchang International"
    " Convention Centre Hotel, east and west wings)"
)
P9 = QuarantineRules.shipped("protocol-9")

# what the page measures: the header's height, the document's width, and every table
# whose content is wider than its box (a clipped or sideways-scrolling table)
MEASURE = """() => ({
  header: document.querySelector('header.bar').getBoundingClientRect().height,
  nav: document.querySelector('#main-nav') !== null,
  width: document.scrollingElement.scrollWidth,
  inner: window.innerWidth,
  wide_tables: [...document.querySelectorAll('table.grid')]
    .filter(t => t.parentElement.scrollWidth > t.parentElement.clientWidth + 2)
    .map(t => t.id || t.className),
  nowrap_cells: [...document.querySelectorAll('table.grid td')]
    .filter(td => getComputedStyle(td).whiteSpace === 'nowrap' && !td.matches('.nowrap, .when'))
    .length,
})"""


# on failure: the elements reaching past the right edge, to name the culprit
PAST_THE_EDGE = """() => [...document.querySelectorAll('main *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 2
    || e.scrollWidth > window.innerWidth + 2)
  .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + ' ' + Math.round(e.getBoundingClientRect().right))"""
# the drawings (Vega) render after the load event: wait until each has its svg or canvas
DRAWN = """() => [...document.querySelectorAll('div.chart[data-spec]')]
  .every(c => c.querySelector('svg, canvas'))"""


@dataclass(frozen=True)
class Site:
    url: str
    campaign: int
    placement_of: int  # a person placed in the hotel


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]) -> Iterator[Site]:
    engine, home = province(tmp_path_factory, twin_files, "layout-browser")
    app = make_app(engine, home)
    run_feed(engine, 2)  # the arrivals desk: travellers, landing tubes, overdue ones
    cid, _ = start_campaign(engine, TestingRules.from_pack(codes_of(app).pack))  # sampling
    add(engine, dataclasses.replace(hotel("QH1", COUNTY_A, single=40, zones=2), name=LONG_NAME))
    ids = people(engine, COUNTY_A, 2)
    place(engine, [PlacementRequest(p, "close_contact", household=f"solo-{p}") for p in ids],
          P9, by="test", at=utcnow() - timedelta(days=1), record_codes=False)  # fmt: skip
    with live_server(engine, home, app) as url:
        yield Site(url, cid, ids[0])


def visit(page: Any, url: str) -> None:
    """Open ``url`` and wait for its drawings (a drawing that never comes is another
    test's failure; the layout is measured as it stands)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(url)
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(DRAWN, timeout=10_000)


def measure(page: Any) -> dict[str, Any]:
    return dict(page.evaluate(MEASURE))


def nav_paths(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all("#main-nav a", "els => els.map(a => a.getAttribute('href'))")
    )


def first_link(page: Any, url: str, selector: str) -> str:
    """The href of the first ``selector`` on the page at ``url``."""
    page.goto(url)
    href = page.get_attribute(selector, "href")
    assert href, (url, selector)
    return str(href)


def field_pages(page: Any, site: Site) -> dict[str, str]:
    """The pages field staff use on a phone, reached by their links from the lists."""
    u = site.url
    traveller = first_link(page, f"{u}/arrivals", "a[href^='/arrivals/travellers/']")
    occupants = first_link(page, f"{u}/quarantine/facilities/QH1", "a[href$='/occupants']")
    placement = first_link(page, u + occupants, "a[href^='/quarantine/placements/']")
    return {
        "arrivals": "/arrivals",
        "traveller": traveller,
        "tubes": "/testing/results",
        "tube": "/testing/tubes/B-0",  # the pool in transit to the lab
        "overdue-tubes": "/testing/overdue",
        "sampling": f"/testing/campaigns/{site.campaign}",
        "daily-checks": placement,
        "facility": "/quarantine/facilities/QH1",
        "facilities": "/quarantine/facilities",
    }


def survey(page: Any, url: str, paths: list[str]) -> dict[str, dict[str, Any]]:
    """:func:`measure` of each page; for a page wider than the phone, what sticks out."""
    seen = {}
    for path in paths:
        visit(page, url + path)
        seen[path] = m = measure(page)
        if m["width"] > PHONE["width"] + SLACK:
            m["past"] = page.evaluate(PAST_THE_EDGE)
    return seen


def keep(page: Any, tmp_path: Path, name: str, at: str | None = None) -> None:
    """A screenshot of the viewport (scrolled to ``at``) into the test's folder, and into
    docs/img/ on request."""
    if at is not None:
        page.locator(at).scroll_into_view_if_needed()
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path))
    if os.environ.get("FANGKONG_UPDATE_SCREENSHOTS") == "1":
        shutil.copy(path, ROOT / "docs" / "img" / path.name)


def test_phone_menu_header_and_no_sideways_scroll(site: Site, tmp_path: Path) -> None:
    with chromium() as browser:
        context = browser.new_context(viewport=PHONE, device_scale_factor=1,
                                      is_mobile=True, has_touch=True)  # fmt: skip
        page = context.new_page()
        login(page, site.url, "epi")
        # the navigation is folded behind the menu button; a tap opens it (CSS only)
        assert page.is_visible("label.menu-button")
        assert not page.is_visible("#main-nav")
        page.click("label.menu-button")
        assert page.is_visible("#main-nav a[href='/forecast']")
        paths = nav_paths(page)
        for wanted in ("/forecast", "/risk-areas/map", "/risk-areas/needs", "/docs"):
            assert wanted in paths, (wanted, paths)
        keep(page, tmp_path, "phone-menu")

        fields = field_pages(page, site)
        pages = [p for p in paths if p != "/docs"] + list(fields.values())
        seen = {("zh", p): m for p, m in survey(page, site.url, pages).items()}
        page.goto(f"{site.url}/lang/en?next=/")  # the English labels are longer
        seen |= {("en", p): m for p, m in survey(page, site.url, pages).items()}
        # every page of the navigation carries it, the public risk-area pages too
        assert all(m["nav"] for m in seen.values()), [k for k, m in seen.items() if not m["nav"]]
        limit = HEADER_SHARE * PHONE["height"]
        tall = {k: m["header"] for k, m in seen.items() if m["header"] >= limit}
        assert not tall, f"header over {HEADER_SHARE:.0%} of {PHONE['height']} px: {tall}"
        field = set(fields.values())
        wide = {k: (m["width"], m.get("past")) for k, m in seen.items() if "past" in m}
        assert not {k: v for k, v in wide.items() if k[1] in field}, f"field pages too wide: {wide}"
        # every other page of the navigation too (a table may scroll inside its box)
        assert not wide, f"pages wider than {PHONE['width']} px: {wide}"
        page.goto(f"{site.url}/lang/zh?next=/")

        for name, at in (("arrivals", None), ("traveller", None), ("daily-checks", "#checks")):
            visit(page, site.url + fields[name])
            keep(page, tmp_path, f"phone-{name}", at)


def test_docs_has_a_way_back(site: Site) -> None:
    with chromium() as browser:
        page = browser.new_context(viewport=PHONE).new_page()
        login(page, site.url, "epi")
        page.goto(f"{site.url}/docs")
        page.click("#docs-back >> text=返回工作台")
        page.wait_for_url(f"{site.url}/")


def test_desktop_tables_wrap_rather_than_clip(site: Site, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_context(viewport=DESKTOP, device_scale_factor=1).new_page()
        login(page, site.url, "epi")
        # at desktop width the whole navigation shows and the menu button does not
        assert page.is_visible("#main-nav a[href='/risk-areas/map']")
        assert not page.is_visible("label.menu-button")
        paths = [p for p in nav_paths(page) if p != "/docs"]
        fields = field_pages(page, site)
        clipped, nowrap = {}, {}
        for path in paths + list(fields.values()):
            visit(page, site.url + path)
            m = measure(page)
            if m["wide_tables"]:
                clipped[path] = m["wide_tables"]
            if m["nowrap_cells"]:
                nowrap[path] = m["nowrap_cells"]
            assert m["width"] <= DESKTOP["width"] + SLACK, (path, m["width"])
        assert not nowrap, f"table cells that do not wrap: {nowrap}"
        assert not clipped, f"tables wider than their box: {clipped}"
        # the long facility name wraps onto several lines inside its cell
        page.goto(f"{site.url}/quarantine/facilities")
        cell = page.locator("#facilities td", has_text="Jinchang District").first
        box = cell.bounding_box()
        assert box is not None
        line = page.evaluate("() => parseFloat(getComputedStyle(document.body).lineHeight)")
        assert box["height"] > 2 * line, (box, line)
        for name in ("arrivals", "daily-checks"):
            visit(page, site.url + fields[name])
            keep(page, tmp_path, f"desktop-{name}")
