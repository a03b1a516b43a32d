"""The pass desk in Chromium on a phone held upright (390×844), as a county commander:
the issue form filled and sent (a refusal first, shown next to its field), the pass with
its QR drawn, revoked by its form; no console error, no sideways scrolling, nothing
stored shown raw. Marked ``browser``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fangkong import clock
from fangkong.auth.model import cli_actor
from fangkong.auth.users import add_user
from fangkong.keys import ServerKeys
from tests.conftest import PASSWORD, TEST_SERVER_KEY
from tests.web.labels_check import raw_in
from tests.web.live import chromium, live_server, login, province, watch_console

from .conftest import resident_id

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]) -> Iterator[str]:
    engine, home = province(tmp_path_factory, twin_files, "passes-browser")
    key = ServerKeys.from_master(TEST_SERVER_KEY).audit
    add_user(engine, key, cli_actor(), "cmdr", PASSWORD, "commander", "140102", "test")
    with live_server(engine, home) as url:
        yield url


def _local(hours: float) -> str:
    return (clock.now() + timedelta(hours=hours)).astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


def _fits(page: Any) -> None:
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"] + 2, width


def test_issue_and_revoke_on_a_phone(server: str) -> None:
    with chromium() as browser:
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        seen = watch_console(page)
        login(page, server, "cmdr")
        page.goto(f"{server}/passes")
        page.click("#issue-link")
        _fits(page)
        page.fill("input[name=plate]", "晋A12345")
        page.select_option("select[name=cargo_class]", "ordinary")
        page.fill("input[name=origin_region]", "320100")
        page.fill("input[name=destination_region]", "140102")
        page.fill("input[name=via]", "130100")
        page.fill("input[name=valid_from]", _local(0))
        page.fill("input[name=valid_until]", _local(72))
        page.fill("input[name=driver1_id_number]", resident_id("320102", 31))
        page.fill("input[name=driver1_name]", "孙八")
        page.fill("input[name=driver1_tested_at]", _local(-12))
        page.click("#issue-submit")
        assert page.locator("#issue-cargo_class-error").is_visible()
        assert page.input_value("input[name=driver1_name]") == "孙八"
        _fits(page)
        page.select_option("select[name=cargo_class]", "medical")
        page.click("#issue-submit")
        page.wait_for_selector("#pass-qr svg")
        assert page.text_content("#pass-status") == "有效"
        assert raw_in(page.content()) == []
        _fits(page)
        page.fill("textarea[name=reason]", "驾驶员核酸阳性")
        page.click("#revoke-submit")
        page.wait_for_selector("#revoked")
        assert page.text_content("#pass-status") == "已撤销"
        _fits(page)
        page.goto(f"{server}/passes")
        assert page.locator("#passes tbody tr").count() == 1
        _fits(page)
        # the refused form's answer is a 422 (the browser logs it): nothing else
        assert [s for s in seen if "status of 422" not in s] == []
        context.close()
