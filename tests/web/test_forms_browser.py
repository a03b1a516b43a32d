"""Browser test of a refused page form (issue 19, point 5): Chromium submits the campaign
form with a region code that cannot be one and a too-long name (past the input's
maxlength) and sees each error next to its field, with what was typed still in the
fields, in Chinese and in English — not a bare error page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.helpers import make_app
from tests.web.live import chromium, live_server, login, province

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]) -> Iterator[str]:
    engine, home = province(tmp_path_factory, twin_files, "forms-browser-home")
    with live_server(engine, home, make_app(engine, home)) as url:
        yield url


def test_a_refused_form_shows_each_error_next_to_its_field(server: str) -> None:
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        login(page, server, "epi")
        page.goto(f"{server}/testing")
        form = "#start-campaign"
        page.fill(f"{form} input[name=name]", "第二轮全员检测")
        page.fill(f"{form} input[name=region_code]", "ZZZ")
        page.fill(f"{form} input[name=starts_at]", "2026-12-01T06:00")
        page.click(f"{form} button[type=submit]")
        page.wait_for_selector("#start-campaign-region_code-error")
        # the error sits right after the field it is about, the field is marked invalid
        follows = page.eval_on_selector(
            "#start-campaign-region_code-error",
            "e => e.previousElementSibling.querySelector('input').name",
        )
        assert follows == "region_code"
        assert "不是地区代码" in page.inner_text("#start-campaign-region_code-error")
        region = page.locator(f"{form} input[name=region_code]")
        assert region.input_value() == "ZZZ"
        assert region.get_attribute("aria-invalid") == "true"
        assert page.locator(f"{form} input[name=name]").input_value() == "第二轮全员检测"
        assert page.locator(f"{form} input[name=starts_at]").input_value() == "2026-12-01T06:00"
        assert page.locator("#start-campaign-name-error").count() == 0
        assert page.inner_text("#start-campaign-errors")  # one line above says so

        # a name past maxlength (the attribute removed, as a pasting script would): the
        # form again, in English this time, the text kept
        page.goto(f"{server}/lang/en?next=/testing")
        long = "Round two " * 12
        page.eval_on_selector(f"{form} input[name=name]", "e => e.removeAttribute('maxlength')")
        page.fill(f"{form} input[name=name]", long)
        page.fill(f"{form} input[name=starts_at]", "2026-12-01T06:00")
        page.click(f"{form} button[type=submit]")
        page.wait_for_selector("#start-campaign-name-error")
        assert "at most 100 characters" in page.inner_text("#start-campaign-name-error")
        assert page.locator(f"{form} input[name=name]").input_value() == long


def test_the_language_switch_keeps_the_query(server: str) -> None:
    """Chromium clicks 中文/English on a page with a query and lands on the same page, the
    query kept, in the other language (issue 19, point 4); the page shows no stored value
    raw in either language."""
    from tests.web.labels_check import raw_in

    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        login(page, server, "epi")
        page.goto(f"{server}/quarantine?level=county&a=b")
        assert page.get_attribute("html", "lang") == "zh-Hans"
        assert raw_in(page.content()) == []
        page.click("#lang-switch")
        page.wait_for_load_state()
        assert page.url == f"{server}/quarantine?level=county&a=b"
        assert page.get_attribute("html", "lang") == "en"
        assert raw_in(page.content()) == []
        page.click("#lang-switch")
        page.wait_for_load_state()
        assert page.url == f"{server}/quarantine?level=county&a=b"
        assert page.get_attribute("html", "lang") == "zh-Hans"
