"""Browser tests: Playwright driving Debian's Chromium against a real uvicorn server.

Without /usr/bin/chromium these skip, unless FANGKONG_REQUIRE_BROWSER=1 (CI), which
turns the missing browser into a failure with the command that installs it (see
``tests.web.live``, which the other browser tests share).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.live import chromium, live_server, login, province

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]) -> Iterator[str]:
    """A real uvicorn on a free 127.0.0.1 port over a SQLite file holding the province."""
    engine, home = province(tmp_path_factory, twin_files, "browser-home")
    with live_server(engine, home) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    with chromium() as b:
        yield b


def test_login_home_numbers_and_language_switch(
    browser: object, server: str, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 768})  # type: ignore[attr-defined]
    page = context.new_page()
    login(page, server, "admin")
    assert page.inner_text("h1") == "山西省"
    assert page.inner_text("#n-persons") == "300"
    assert "人口" in page.inner_text("#numbers")
    page.wait_for_selector("#area-chart svg", timeout=15_000)  # Vega drew the chart
    page.screenshot(path=str(tmp_path / "home-zh.png"), full_page=True)

    page.click("#lang-switch")
    page.wait_for_selector("text=Persons by area")
    assert "Persons" in page.inner_text("#numbers")
    assert "人口" not in page.inner_text("#numbers")
    assert page.inner_text("#n-persons") == "300"
    page.wait_for_selector("#area-chart svg", timeout=15_000)
    page.screenshot(path=str(tmp_path / "home-en.png"), full_page=True)

    page.click("#lang-switch")
    page.wait_for_selector("text=各地区人口")
    assert (tmp_path / "home-zh.png").stat().st_size > 10_000
    assert (tmp_path / "home-en.png").stat().st_size > 10_000
    if os.environ.get("FANGKONG_UPDATE_SCREENSHOTS") == "1":
        for name in ("home-zh.png", "home-en.png"):
            shutil.copy(tmp_path / name, ROOT / "docs" / "img" / name)
    context.close()


def test_page_outside_ones_rights_is_refused(browser: object, server: str) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    login(page, server, "viewer")
    assert page.locator("a[href='/admin/audit']").count() == 0
    response = page.goto(f"{server}/admin/audit")
    assert response is not None
    assert response.status == 403
    assert "权限" in page.inner_text("#error-message")
    context.close()


def test_docs_render_offline(browser: object, server: str) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server) else outside.append(r.url))
    page.goto(f"{server}/docs")
    page.locator(".opblock-summary-path", has_text="/api/v1/persons/lookup").first.wait_for(
        timeout=15_000
    )
    assert outside == []
    context.close()
