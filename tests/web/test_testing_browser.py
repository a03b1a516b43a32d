"""Browser test of the campaign page: Chromium logs in as an epidemiologist, follows the
Testing link, starts a campaign through the form (CSRF token from the page), then opens a
running campaign and sees the live numbers, the what-if table, the coverage chart drawn
by Vega and the masked-or-not list of who has not been sampled, in Chinese and English."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fangkong.testing.campaigns import add_lab, create_campaign
from fangkong.testing.custody import ship
from fangkong.testing.rules import TestingRules
from fangkong.testing.samples import Sample, collect
from tests.api.codes import codes_of
from tests.api.helpers import make_app, person_ids
from tests.web.live import chromium, live_server, login, province

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
    engine, home = province(tmp_path_factory, twin_files, "testing-browser-home")
    app = make_app(engine, home)
    rules = TestingRules.from_pack(codes_of(app).pack)
    cid, residents = start_campaign(engine, rules)
    with live_server(engine, home, app) as url:
        yield Running(url, cid, len(residents), 30, 3 * len(rules.pool_sizes))


def start_campaign(engine: Engine, rules: TestingRules) -> tuple[int, list[int]]:
    """A lab and a campaign over county 140102 started three hours ago: 30 residents
    sampled in pools of 10 (tubes B-0..B-2), B-0 in transit. Returns the campaign's id and
    the county's residents."""
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
    return cid, residents


def test_campaign_page_in_the_browser(campaign_server: Running, tmp_path: Path) -> None:
    s = campaign_server
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        login(page, s.url, "epi")
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
    assert (tmp_path / "campaign-zh.png").stat().st_size > 10_000
