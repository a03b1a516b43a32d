"""Browser test of the health-code lookup: Chromium looks up a red person's code and sees
the colour, the reasons and the QR image, in Chinese and in English."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.codes import codes_of, make_red
from tests.api.helpers import make_app, person_identity, person_ids
from tests.web.live import chromium, live_server, login, province

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def red_server(
    tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]
) -> Iterator[tuple[str, str]]:
    """A real uvicorn over the province, one resident of 140102 a close contact (red);
    yields the base URL and that person's ID number."""
    engine, home = province(tmp_path_factory, twin_files, "code-browser-home")
    app = make_app(engine, home)
    pid = person_ids(engine, "140102")[0]
    make_red(engine, codes_of(app), pid)
    with live_server(engine, home, app) as url:
        yield url, person_identity(engine, pid)[0]


def test_look_up_a_code_in_chinese_and_english(red_server: tuple[str, str], tmp_path: Path) -> None:
    server, number = red_server
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1024, "height": 900}).new_page()
        login(page, server, "epi")
        page.click("nav a[href='/codes']")
        page.fill("input[name=id_number]", number)
        page.click("button[type=submit].primary")
        page.wait_for_selector("#code-colour")
        assert page.inner_text("#code-colour") == "红码"
        assert "密切接触" in page.inner_text("#reasons")
        assert "转为黄码" in page.inner_text("#next-change")
        loaded = page.eval_on_selector(".qr img", "img => img.complete && img.naturalWidth > 0")
        assert loaded, "the QR image did not load"
        page.screenshot(path=str(tmp_path / "code-zh.png"), full_page=True)

        page.click("#lang-switch")
        page.wait_for_selector("text=Health codes")
        assert page.inner_text("#code-colour") == "Red code"
        assert "close contact" in page.inner_text("#reasons").lower()
        assert "密切接触" not in page.inner_text("#reasons")
        assert (tmp_path / "code-zh.png").stat().st_size > 10_000
