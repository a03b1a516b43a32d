"""The steps of a case's investigation in a real browser: a tracer presses "现已完成" for
the core facts, then for the report (enabled only once the core facts are recorded); each
row shows the time and who recorded it, with no script error and nothing fetched outside.

A real uvicorn over a SQLite file holding the small province and one case of county
140102; marked ``browser``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from fangkong.tracing.cases import register_case
from fangkong.tracing.rules import ContactRules
from tests.api.helpers import make_app, person_ids
from tests.web.live import chromium, live_server, login, province

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]
) -> Iterator[tuple[str, int]]:
    engine, home = province(tmp_path_factory, twin_files, "steps-browser-home")
    app = make_app(engine, home)
    rules = ContactRules.from_pack(app.state.ctx.codes.pack)
    case = register_case(engine, person_ids(engine, "140102")[0], rules,
                         sampled=date(2026, 11, 19))  # fmt: skip
    with live_server(engine, home, app) as url:
        yield url, case.id


def test_a_tracer_records_the_core_facts_then_the_report(server: tuple[str, int]) -> None:
    url, case = server
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        errors: list[str] = []
        outside: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("request", lambda r: None if r.url.startswith(url) else outside.append(r.url))
        login(page, url, "epi")
        page.goto(f"{url}/tracing/cases/{case}")
        report = page.locator("#step-report button")
        assert report.is_disabled()  # the report waits for the core facts
        page.locator("#step-core_facts button").click()
        page.wait_for_selector("#stamped")
        assert "核心信息查清" in page.locator("#stamped").inner_text()
        facts = page.locator("#step-core_facts")
        assert facts.locator("td.by").inner_text() == "epi"
        assert facts.locator("td.at").inner_text() != "—"
        assert facts.locator("button").count() == 0
        page.locator("#step-report button").click()  # enabled now
        page.wait_for_selector("#stamped")
        assert page.locator("#step-report td.by").inner_text() == "epi"
        assert page.locator("#step-verified button").is_enabled()
        assert errors == []
        assert outside == []
