"""Browser test of the campaign page: Chromium logs in as an epidemiologist, follows the
Testing link, starts a campaign through the form (CSRF token from the page), then opens a
running campaign and sees the live numbers, the what-if table, the coverage chart drawn
by Vega and the masked-or-not list of who has not been sampled, in Chinese and English."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fangkong.store import migrate
from fangkong.store.engine import make_engine
from fangkong.testing.campaigns import add_lab, create_campaign
from fangkong.testing.rules import TestingRules
from fangkong.testing.service import Sample, collect, ship
from tests.api.codes import codes_of
from tests.api.helpers import person_ids
from tests.conftest import load_province
from tests.web.test_browser import ARGS, CHROMIUM, _free_port, _login, _require_browser

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Running:
    url: str
    campaign: int
    residents: int
    sampled: int
    what_if_rows: int


@pytest.fixture(scope="module")
def campaign_server(
    tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]
) -> Iterator[Running]:
    """A real uvicorn over the province with a campaign over county 140102 started three
    hours ago: 30 residents sampled in pools of 10, one pool in transit."""
    _require_browser()
    import uvicorn

    from tests.api.helpers import make_app

    home = tmp_path_factory.mktemp("testing-browser-home")
    engine = make_engine(f"sqlite:///{home / 'fangkong.db'}")
    migrate.upgrade(engine)
    load_province(engine, twin_files)
    app = make_app(engine, home)
    rules = TestingRules.from_pack(codes_of(app).pack)
    add_lab(engine, "LAB1", "晋昌区检测实验室", "140102", 20_000)
    start = datetime.now(UTC) - timedelta(hours=3)
    cid = create_campaign(engine, rules, "晋昌区全员检测", "140102", starts_at=start)
    residents = person_ids(engine, "140102")
    for i in range(3):
        when = start + timedelta(hours=1)
        sample = Sample(f"B-{i}", residents[i * 10 : (i + 1) * 10], "点位1", "140102", "s", when,
                        "campaign", cid)  # fmt: skip
        collect(engine, rules, sample, at=when)
    ship(engine, ["B-0"], "LAB1")
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Running(f"http://127.0.0.1:{port}", cid, len(residents), 30, 3 * len(rules.pool_sizes))
    uv.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def test_campaign_page_in_the_browser(campaign_server: Running, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    s = campaign_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        _login(page, s.url, "epi")
        page.click("nav a[href='/testing']")
        page.wait_for_selector("#campaigns")
        assert "晋昌区全员检测" in page.inner_text("#campaigns")

        # start a campaign through the form: the page's CSRF token goes with it
        page.fill("#start-campaign input[name=name]", "浏览器发起的检测")
        page.fill("#start-campaign input[name=region_code]", "140102")
        page.fill("#start-campaign input[name=starts_at]", "2026-12-01T06:00")
        page.click("#start-campaign button[type=submit]")
        page.wait_for_selector("#progress")
        assert page.inner_text("h1") == "浏览器发起的检测"
        assert page.inner_text("#n-sampled") == "0"
        assert page.inner_text("#predicted") == "尚无人采样"

        page.goto(f"{s.url}/testing/campaigns/{s.campaign}")
        assert page.inner_text("#n-population") == f"{s.residents:,}"
        assert page.inner_text("#n-sampled") == str(s.sampled)
        assert page.inner_text("#n-tubes") == "3"
        assert page.inner_text("#n-in-transit") == "1"
        assert page.locator("tr.what-if").count() == s.what_if_rows
        assert " h, " in page.inner_text("#predicted")  # the forecast at the pace so far
        not_sampled = page.locator("#not-sampled li").count()
        assert not_sampled == min(200, s.residents - s.sampled)
        page.wait_for_selector("#coverage-chart svg", timeout=15_000)  # Vega drew the chart
        bars = page.locator("#coverage-chart svg path[aria-roledescription='bar']").count()
        rows = page.locator("#coverage tbody tr").count()
        assert bars >= rows > 0  # a grey and a green bar per compound (empty green: no path)
        page.screenshot(path=str(tmp_path / "campaign-zh.png"), full_page=True)

        page.click("#lang-switch")
        page.wait_for_selector("text=Coverage by compound")
        assert "Not sampled yet" in page.inner_text("main")
        assert "各小区覆盖率" not in page.inner_text("main")
        assert page.inner_text("#n-sampled") == str(s.sampled)
        page.wait_for_selector("#coverage-chart svg", timeout=15_000)
        browser.close()
    assert (tmp_path / "campaign-zh.png").stat().st_size > 10_000
