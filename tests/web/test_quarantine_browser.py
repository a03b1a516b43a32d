"""Browser test of the quarantine pages: Chromium reads the readiness page (each county's
rooms against the pack's 20 rooms per 10,000 population) and, from a facility's occupants,
opens a person's placement and records a feverish health check through the form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from fangkong.auth.model import cli_actor
from fangkong.auth.users import add_user
from fangkong.clock import now as utcnow
from fangkong.quarantine.placement import place
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.terms import PlacementRequest
from fangkong.store.schema import regions
from tests.api.codes import AUDIT_KEY
from tests.conftest import PASSWORD
from tests.quarantine.helpers import COUNTY_A, COUNTY_B, add, hotel, people
from tests.web.live import chromium, live_server, login, province

pytestmark = pytest.mark.browser
P9 = QuarantineRules.shipped("protocol-9")


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]
) -> Iterator[tuple[str, dict[str, int]]]:
    """A real uvicorn over the province: two hotels, two close contacts placed in county
    A; a command-centre user for the whole province. Yields the URL and the populations."""
    engine, home = province(tmp_path_factory, twin_files, "quarantine-browser-home")
    add_user(engine, AUDIT_KEY, cli_actor(), "cmd", PASSWORD, "commander", "140000", "test")
    add(engine, hotel("QH1", COUNTY_A, single=40, zones=2), hotel("QH2", COUNTY_B, single=3))
    ids = people(engine, COUNTY_A, 2)
    place(engine, [PlacementRequest(p, "close_contact", household=f"solo-{p}") for p in ids],
          P9, by="test", at=utcnow() - timedelta(days=1), record_codes=False)  # fmt: skip
    with engine.connect() as conn:
        population = {c: int(n) for c, n in conn.execute(
            select(regions.c.code, regions.c.population)
            .where(regions.c.code.in_([COUNTY_A, COUNTY_B])))}  # fmt: skip
    with live_server(engine, home) as url:
        yield url, population


def test_readiness_shows_the_norm_per_county_and_a_check_is_recorded(
    site: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    url, population = site
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        login(page, url, "cmd")
        page.click("nav a[href='/quarantine']")
        page.wait_for_selector("#readiness")
        assert "20" in page.inner_text("#norm")
        for code, rooms in ((COUNTY_A, 40), (COUNTY_B, 3)):
            row = page.locator(f"#readiness tr[data-region='{code}']")
            norm = population[code] * 20 / 10_000
            assert row.locator("td.norm").inner_text().replace(",", "") == str(round(norm))
            assert row.locator("td.rooms").inner_text() == str(rooms)
            assert row.get_attribute("class") == f"region {'ok' if rooms >= norm else 'short'}"
        page.screenshot(path=str(tmp_path / "readiness.png"), full_page=True)
        page.click("#lang-switch")
        page.wait_for_selector("text=Quarantine readiness")
        assert "per 10,000" in page.inner_text("#norm")
        page.click("#lang-switch")
        context = browser.new_context(viewport={"width": 1024, "height": 900})
        epi = context.new_page()
        login(epi, url, "epi")
        epi.goto(f"{url}/quarantine/facilities/QH1")
        epi.click("#occupants-link")
        epi.wait_for_selector("#occupants tr.occupant")
        assert epi.locator("#occupants tr.occupant").count() == 2
        assert epi.locator("#occupants td.check-missing").count() == 2
        epi.click("#occupants tr.occupant >> nth=0 >> a")
        epi.wait_for_selector("#check-form")
        epi.fill("#check-form input[name=temperature]", "38.4")
        epi.fill("#check-form input[name=symptoms]", "咳嗽")
        epi.click("#check-form button[type=submit]")
        epi.wait_for_selector("#done")
        assert "预警" in epi.inner_text("#done")
        abnormal = epi.locator("#checks tr.check-abnormal")
        assert abnormal.count() == 1
        assert abnormal.locator("td.temperature").inner_text() == "38.4 ℃"
        assert abnormal.locator("td.check-status").inner_text() == "异常"
        epi.screenshot(path=str(tmp_path / "placement.png"), full_page=True)
        epi.goto(f"{url}/quarantine/facilities/QH1/occupants")
        assert epi.locator("#occupants td.check-abnormal").count() == 1
        epi.click("nav.subnav a[href='/quarantine/alerts']")
        kinds = epi.locator("#alerts tr.alert-row").evaluate_all(
            "rows => rows.map(r => r.className)"
        )
        assert [re.sub(r".*kind-", "", k) for k in kinds] == ["abnormal_check"]
