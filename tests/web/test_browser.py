"""Browser tests: Playwright driving Debian's Chromium against a real uvicorn server.

Without /usr/bin/chromium these skip, unless FANGKONG_REQUIRE_BROWSER=1 (CI), which
turns the missing browser into a failure with the command that installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fangkong.store import migrate
from fangkong.store.engine import make_engine
from tests.conftest import PASSWORD, load_province

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require_browser() -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"{CHROMIUM} not found: apt-get install -y chromium"
    if os.environ.get("FANGKONG_REQUIRE_BROWSER") == "1":
        pytest.fail(f"FANGKONG_REQUIRE_BROWSER=1 but {message}")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]) -> Iterator[str]:
    """A real uvicorn on a free 127.0.0.1 port over a SQLite file holding the province."""
    _require_browser()
    import uvicorn

    from tests.api.helpers import make_app

    home = tmp_path_factory.mktemp("browser-home")
    engine = make_engine(f"sqlite:///{home / 'fangkong.db'}")
    migrate.upgrade(engine)
    load_province(engine, twin_files)
    port = _free_port()
    config = uvicorn.Config(
        make_app(engine, home), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _login(page: object, server: str, username: str) -> None:
    page.goto(f"{server}/login")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit].primary")  # type: ignore[attr-defined]
    page.wait_for_url(f"{server}/")  # type: ignore[attr-defined]


def test_login_home_numbers_and_language_switch(
    browser: object, server: str, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 768})  # type: ignore[attr-defined]
    page = context.new_page()
    _login(page, server, "admin")
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
    _login(page, server, "viewer")
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
