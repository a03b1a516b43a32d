"""Browser test of the place pages (issue 19, point 2): Chromium follows a person's
residence from their record to the region's page, goes down to a child region and up the
trail, opens a venue listed there, in both languages, with a clean console and no sideways
scrolling at 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from fangkong.store.schema import persons, venues
from tests.api.helpers import make_app, person_ids
from tests.web.live import chromium, live_server, login, province

pytestmark = pytest.mark.browser

COUNTY = "140102"  # epi's county


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, twin_files: dict[str, Path]
) -> Iterator[tuple[str, int, str]]:
    """A real uvicorn over the province; yields the URL, a resident of the county and a
    venue of the county."""
    engine, home = province(tmp_path_factory, twin_files, "place-browser-home")
    app = make_app(engine, home)
    pid = person_ids(engine, COUNTY)[0]
    with engine.connect() as conn:
        venue = conn.execute(
            select(venues.c.code).where(venues.c.region_code.like(f"{COUNTY}%"))
            .order_by(venues.c.code).limit(1)
        ).scalar_one()  # fmt: skip
        assert conn.execute(select(persons.c.residence_code).where(persons.c.id == pid)).scalar()
    with live_server(engine, home, app) as url:
        yield url, pid, venue


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_from_a_person_to_their_region_and_a_venue(
    server: tuple[str, int, str], lang: str, tmp_path: Path
) -> None:
    url, pid, venue = server
    errors: list[str] = []
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        login(page, url, "epi")
        page.goto(f"{url}/lang/{lang}?next=/persons/{pid}")
        residence = page.locator("#person a.region-link")
        name = residence.inner_text()
        residence.click()
        page.wait_for_selector("#region-name")
        assert name in page.inner_text("#region-name")
        assert page.locator("#trail a.region-link").count() >= 1  # up to epi's county
        page.locator("#trail a.region-link").first.click()
        page.wait_for_url(f"**/regions/{COUNTY}")
        assert page.inner_text("#region-level") == ("县区" if lang == "zh" else "County")
        page.screenshot(path=str(tmp_path / f"region-{lang}.png"), full_page=True)
        page.goto(f"{url}/venues/{venue}")
        page.wait_for_selector("#venue-type")
        page.click("#venue-region a.region-link")
        page.wait_for_selector("#region-name")
    assert errors == []


def test_on_a_phone_the_region_page_fits(server: tuple[str, int, str]) -> None:
    url, _, venue = server
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        login(page, url, "epi")
        for path in (f"/regions/{COUNTY}", f"/venues/{venue}"):
            page.goto(f"{url}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path} is {width} px wide at 390 px"
