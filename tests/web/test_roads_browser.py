"""Browser test of the road-status map (issue 20, part 3): Chromium draws the checkpoints'
map from their latitude and longitude, each point a link to its checkpoint's page coloured
by its state, the legend naming every state in words (zh and en) and filtering the list;
no console error, no value shown raw, and at 390 px the map and the list fit the screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fangkong.clock import now as utcnow
from fangkong.policy import load_pack
from fangkong.roads.map import COLOURS
from fangkong.roads.rules import RoadRules
from fangkong.roads.status import ReportIn, record_report, refresh
from tests.api.helpers import make_app
from tests.roads.world import add_checkpoint, add_crossings, spread
from tests.web.labels_check import raw_in
from tests.web.live import chromium, live_server, login, province

pytestmark = pytest.mark.browser

WORDS = {
    "zh": ("畅通", "拥堵", "依令关闭", "擅自关闭", "无数据"),
    "en": ("Flowing", "Congested", "Closed by order", "Closed without authority", "No data"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]) -> Iterator[str]:
    """A real uvicorn over the province with five checkpoints, one in each state."""
    engine, home = province(tmp_path_factory, twin_files, "roads-browser-home")
    rules = RoadRules.from_pack(load_pack("protocol-9"))
    at = utcnow()
    with engine.begin() as conn:
        for i, (code, lat, lon) in enumerate([("R-OK", 37.9, 112.5), ("R-JAM", 37.7, 112.7),
                                               ("R-SHUT", 37.6, 112.4), ("R-ROGUE", 37.8, 112.8),
                                               ("R-NONE", 37.75, 112.55)]):  # fmt: skip
            add_checkpoint(conn, code, "140102", name=f"测试卡口{i}", lat=lat, lon=lon)
        add_crossings(conn, "R-OK", spread(at, 12, 50), [4] * 12)
        reports = [
            ReportIn("R-OK", "1", at, 5, 4, 4, "open"),
            ReportIn("R-JAM", "1", at, rules.queue_limit_vehicles + 80, 90, 2, "restricted"),
            ReportIn("R-SHUT", "1", at, 0, None, 0, "closed", "province", "省指挥部〔2022〕12号"),
            ReportIn("R-ROGUE", "1", at, 0, None, 0, "closed", None, None, "擅自设卡"),
        ]
        for r in reports:
            record_report(conn, r, at=at, by="test", via="form")
        refresh(conn, at=at, rules=rules)
    with live_server(engine, home, make_app(engine, home)) as url:
        yield url


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_map_colours_each_checkpoint_by_its_state(server: str, lang: str,
                                                      tmp_path: Path) -> None:  # fmt: skip
    errors: list[str] = []
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning")
                else None)  # fmt: skip
        login(page, server, "epi")
        page.goto(f"{server}/lang/{lang}?next=/roads")
        page.wait_for_selector("#road-map")
        points = page.locator("#road-map a.checkpoint")
        assert points.count() == 5
        drawn = {}
        for i in range(points.count()):
            a = points.nth(i)
            href = a.get_attribute("href") or ""
            assert href.startswith("/logistics/checkpoints/R-")
            box = a.locator("circle").bounding_box()
            assert box is not None
            assert box["width"] > 5
            drawn[href.rsplit("/", 1)[1]] = a.locator("circle").get_attribute("fill")
        assert drawn == {"R-OK": COLOURS["normal"], "R-JAM": COLOURS["congested"],
                         "R-SHUT": COLOURS["closed_authorised"],
                         "R-ROGUE": COLOURS["closed_unauthorised"],
                         "R-NONE": COLOURS["no_data"]}  # fmt: skip
        # north is up: R-OK (37.9 N) above R-SHUT (37.6 N); east right: R-ROGUE right of R-SHUT
        pos = {c: page.locator(f'#road-map a[href$="/{c}"] circle').bounding_box()
               for c in ("R-OK", "R-SHUT", "R-ROGUE")}  # fmt: skip
        assert pos["R-OK"]["y"] < pos["R-SHUT"]["y"]  # type: ignore[index]
        assert pos["R-ROGUE"]["x"] > pos["R-SHUT"]["x"]  # type: ignore[index]
        legend = page.inner_text("#road-legend")
        for words in WORDS[lang]:
            assert words in legend
        title = page.locator('#road-map a[href$="/R-ROGUE"] title').text_content() or ""
        assert WORDS[lang][3] in title
        assert "测试卡口3" in title
        assert raw_in(page.content()) == []
        page.screenshot(path=str(tmp_path / f"roads-{lang}.png"), full_page=True)
        page.locator("#road-legend a").nth(1).click()  # congested only
        page.wait_for_url("**/roads?state=congested")
        assert page.locator("#road-states tbody tr").count() == 1
        assert page.locator("#cp-R-JAM").count() == 1
    assert errors == []


def test_on_a_phone_the_map_and_list_fit(server: str) -> None:
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        login(page, server, "epi")
        page.goto(f"{server}/roads")
        page.wait_for_selector("#road-map")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"/roads is {width} px wide at 390 px"
        box = page.locator("#road-map").bounding_box()
        assert box is not None
        assert box["width"] <= 390
        assert box["height"] > 150
        # the list reads as cards: each cell names its column
        assert page.locator("#cp-R-JAM td[data-label]").count() == 8
