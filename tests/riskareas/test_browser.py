"""The map and the forecast chart drawn by Debian's Chromium (Playwright) against a real
uvicorn: the high-risk compound is a red shape of its own (not the whole globe: ring
winding matters to d3-geo), and the forecast band is drawn for a logged-in viewer; no
console error or warning on either (a spec of another Vega-Lite version warns)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fangkong.clock import now as utcnow
from fangkong.riskareas.service import designate
from tests.api.helpers import make_app
from tests.web.live import chromium, drawn_marks, live_server, login, province, watch_console

pytestmark = pytest.mark.browser
HIGH = "140121100200001"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]) -> Iterator[str]:
    engine, home = province(tmp_path_factory, twin_files, "riskarea-browser")
    app = make_app(engine, home)
    designate(engine, app.state.ctx.codes, region_code=HIGH, level="high", reason="r",
              by="test", now=utcnow())  # fmt: skip
    with live_server(engine, home, app) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    with chromium() as b:
        yield b


def test_map_draws_the_area(browser: Any, server: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1024, "height": 900})
    errors = watch_console(page)  # a spec of Vega-Lite v5 under v6 is a warning
    page.goto(f"{server}/risk-areas/map")
    assert drawn_marks(page, "#risk-map") >= 1
    page.screenshot(path=str(tmp_path / "map.png"), full_page=True)
    red = page.locator("#risk-map svg path[fill='#d62728']")
    chart = page.locator("#risk-map svg").bounding_box()
    shapes = [red.nth(i).bounding_box() for i in range(red.count())]
    big = [b for b in shapes if b["width"] > 20]  # legend symbols are small
    assert len(big) == 1  # the one high-risk compound
    assert big[0]["width"] * big[0]["height"] < 0.9 * chart["width"] * chart["height"]
    assert errors == []


def test_forecast_chart(browser: Any, server: str) -> None:
    page = browser.new_page()
    errors = watch_console(page)
    login(page, server, "viewer")
    page.goto(f"{server}/forecast")
    assert drawn_marks(page, "#forecast-chart") >= 3  # band, median line, capacity rule
    assert page.locator("#forecast tbody tr.region").count() == 1  # the viewer's county
    assert errors == []
