"""Browser test of the search box (issue 19, point 2): Chromium types a person's full name
in the header's box, sees them among the results and follows the link to their page; on a
phone (390 px) the box sits in the folded menu and the header stays small."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.helpers import make_app, person_identity, person_ids
from tests.web.live import chromium, live_server, login, province

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]
) -> Iterator[tuple[str, int, str]]:
    """A real uvicorn over the province; yields the URL, a resident of 140102 and their name."""
    engine, home = province(tmp_path_factory, twin_files, "search-browser-home")
    app = make_app(engine, home)
    pid = person_ids(engine, "140102")[0]
    with live_server(engine, home, app) as url:
        yield url, pid, person_identity(engine, pid)[1]


def test_type_a_name_in_the_header_and_follow_the_result(
    server: tuple[str, int, str], tmp_path: Path
) -> None:
    url, pid, name = server
    errors: list[str] = []
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        login(page, url, "epi")
        page.fill("#header-search", name)
        page.press("#header-search", "Enter")
        page.wait_for_selector(f"#hit-{pid}")
        assert name in page.inner_text(f"#hit-{pid}")
        assert "姓名" in page.inner_text("#search-kind")
        assert page.input_value("#search-form input[name=q]") == name  # what was typed, kept
        assert name not in page.url  # posted: the query stays out of the address bar
        page.screenshot(path=str(tmp_path / "search.png"), full_page=True)
        page.click(f"#hit-{pid} a.person")
        page.wait_for_url(f"**/persons/{pid}")
        assert name in page.content()

        page.fill("#header-search", "查无此人某某")
        page.press("#header-search", "Enter")
        page.wait_for_selector("#search-none")
        assert "未找到" in page.inner_text("#search-none")
    assert errors == []


def test_on_a_phone_the_box_is_in_the_menu(server: tuple[str, int, str]) -> None:
    url, pid, name = server
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        login(page, url, "epi")
        header = page.eval_on_selector("header.bar", "h => h.getBoundingClientRect().height")
        assert header < 844 / 4
        assert not page.is_visible("#header-search")  # folded with the navigation
        page.click("label.menu-button")
        page.fill("#header-search", name)
        page.press("#header-search", "Enter")
        page.wait_for_selector(f"#hit-{pid}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the search page is {width} px wide at 390 px"
