"""Browser test of the alert pages: Chromium opens an alert from the list, sees the series
with its threshold drawn (Vega-Lite, SVG), verifies it with a note and sees the board."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fangkong.alerts.detection import run_detection
from fangkong.alerts.rules import AlertRules, Detector, Trigger
from fangkong.alerts.signals import record_signals
from fangkong.clock import now as utcnow
from tests.api.helpers import make_app
from tests.web.live import chromium, drawn_marks, live_server, login, province, watch_console

pytestmark = pytest.mark.browser


def alert_world(engine: Engine) -> None:
    """One fever-clinic alert (a detector) and one trigger alert in county 140102."""
    today = utcnow().date()
    counts = [1, 0, 2, 1, 0, 1, 1, 0, 2, 1] * 2 + [9]
    rows = [{"signal": "fever_clinic", "region_code": "140102001001001",
             "date": today - timedelta(days=20 - i), "count": n}
            for i, n in enumerate(counts)]  # fmt: skip
    record_signals(engine, rows, source="test")
    det = Detector("fever_test", ("fever_clinic",), "ears-c2", "community", "day",
                   {"alpha": 0.01, "baseline": 7, "min_sigma": 0.5}, "medium", 3, "发热门诊测试",
                   "fever test")  # fmt: skip
    # a trigger too: it has no per-period threshold, so its chart has no threshold line
    trig = Trigger("outside_test", "positive_outside_quarantine", 1, 1, None, "high",
                   "社会面阳性测试", "positive outside test")  # fmt: skip
    found = {"signal": "positive_outside_quarantine", "region_code": "140102001001001",
             "date": today, "count": 1}  # fmt: skip
    record_signals(engine, [found], source="test")
    rules = dataclasses.replace(AlertRules.shipped("protocol-9"), triggers={trig.id: trig},
                                detectors={det.id: det})  # fmt: skip
    run_detection(engine, rules, today, utcnow())


@pytest.fixture(scope="module")
def alert_server(
    tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]
) -> Iterator[str]:
    """A real uvicorn over the province with the alerts of :func:`alert_world`."""
    engine, home = province(tmp_path_factory, twin_files, "alert-browser-home")
    app = make_app(engine, home)
    alert_world(engine)
    with live_server(engine, home, app) as url:
        yield url


def test_open_verify_and_board(alert_server: str, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1100, "height": 1000}).new_page()
        errors = watch_console(page)
        login(page, alert_server, "epi")
        page.click("nav a[href='/alerts']")
        page.click("#alerts tbody tr.alert-row:has-text('fever_test') a")
        page.wait_for_selector("#series-chart svg", timeout=15_000)  # Vega drew the series
        bars = page.locator("#series-chart svg path[aria-roledescription='bar']").count()
        assert bars >= 20
        assert page.locator("#series-chart svg [aria-roledescription='line mark']").count() == 1
        assert page.inner_text("#alert-status") == "已发出"
        page.screenshot(path=str(tmp_path / "alert-zh.png"), full_page=True)
        page.fill("#lifecycle textarea[name=note]", "电话核实：发热门诊确有增多")
        page.click("#to-verified")
        page.wait_for_selector("#changed")
        assert page.inner_text("#alert-status") == "已核实"
        assert "电话核实" in page.inner_text("#history")
        page.goto(f"{alert_server}/alerts/board")
        assert "1/1" in page.inner_text("#board")  # verified on time
        assert (tmp_path / "alert-zh.png").stat().st_size > 10_000
        assert errors == []


def test_trigger_alert_draws_its_counts(alert_server: str) -> None:
    """A trigger's series has no threshold per period: the bars alone, and no "Infinite
    extent" warning from a threshold layer over no data."""
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1100, "height": 1000}).new_page()
        errors = watch_console(page)
        login(page, alert_server, "epi")
        page.goto(f"{alert_server}/alerts")
        page.click("#alerts tbody tr.alert-row:has-text('outside_test') a")
        assert drawn_marks(page, "#series-chart") >= 1
        assert page.locator("#series-chart svg path[aria-roledescription='bar']").count() == 1
        assert page.locator("#series-chart svg [aria-roledescription='line mark']").count() == 0
        assert errors == []
