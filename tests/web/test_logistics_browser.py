"""The checkpoint desk in Chromium (Playwright) against a real uvicorn, on a phone held
upright (390×844): a port officer opens the checkpoints from the menu, the desk of one,
records a lorry whose driver comes from a high-risk county without a test, and reads the
outcome in words — sampled here and handed to the closed loop — with the crossing in
today's list; the page never scrolls sideways and reports nothing in the console."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fangkong.auth.model import cli_actor
from fangkong.auth.users import add_user
from tests.api.codes import AUDIT_KEY
from tests.conftest import PASSWORD
from tests.logistics.world import CHECKPOINT, COUNTY_A, make_lworld, person
from tests.web.labels_check import raw_in
from tests.web.live import chromium, live_server, login, province, watch_console

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]) -> Iterator[str]:
    engine, home = province(tmp_path_factory, twin_files, "logistics-browser")
    make_lworld(engine)
    add_user(engine, AUDIT_KEY, cli_actor(), "officer", PASSWORD, "port_officer", COUNTY_A, "t")
    with live_server(engine, home) as url:
        yield url


def test_the_checkpoint_desk_on_a_phone(server: str, tmp_path: Path) -> None:
    driver = person(7)
    with chromium() as browser:
        page = browser.new_context(viewport=PHONE).new_page()
        seen = watch_console(page)
        login(page, server, "officer")
        page.click("label[for=menu-toggle]")  # the menu folds away on a phone
        page.click("#main-nav >> text=卡口")
        page.wait_for_url(f"{server}/logistics/checkpoints")
        page.click(f"#checkpoint-{CHECKPOINT} a")
        page.wait_for_url(f"{server}/logistics/checkpoints/{CHECKPOINT}")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"] + 2
        page.fill("input[name=plate]", "冀A12345")
        page.select_option("select[name=cargo_class]", "key_supplies")
        page.fill("input[name=origin_region]", "130102")
        page.fill("input[name=destination_region]", "140121")
        page.fill("input[name=history]", COUNTY_A)
        page.fill("input[name=p1_id_number]", driver.id_number)
        page.fill("input[name=p1_name]", driver.name)
        page.click("#crossing button[type=submit]")
        page.wait_for_selector("#outcome")
        outcome = page.inner_text("#outcome")
        assert "闭环管理" in outcome
        assert "现场采样，不等结果" in outcome
        assert page.locator("#outcome a[href^='/arrivals/travellers/']").count() == 1
        assert page.locator("#crossings tbody tr.outcome-closed_loop").count() == 1
        assert raw_in(page.content()) == []
        width = page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= PHONE["width"] + 2, width  # no sideways scrolling on the phone
        header = page.evaluate(
            "document.querySelector('header.bar').getBoundingClientRect().height"
        )
        assert header <= PHONE["height"] / 4
        page.screenshot(path=str(tmp_path / "checkpoint-desk.png"), full_page=True)
        # a wrong plate is answered next to the field, what was typed kept
        page.fill("input[name=plate]", "ABC")
        page.fill("input[name=p1_id_number]", driver.id_number)
        page.fill("input[name=p1_name]", driver.name)
        page.fill("input[name=origin_region]", "130102")
        page.fill("input[name=destination_region]", "140121")
        page.click("#crossing button[type=submit]")
        page.wait_for_selector("#crossing-plate-error")
        assert page.input_value("input[name=plate]") == "ABC"
    # the refused form answers 422: the browser reports it in the console, nothing else
    assert [s for s in seen if "422" not in s] == []
    assert (tmp_path / "checkpoint-desk.png").stat().st_size > 10_000
