"""The pages of places (``/regions/{code}``, ``/venues/{code}``): names, levels and types
through the labels, parents and children as links, the jurisdiction kept (a place outside
it answered as absent), no raw stored value in either language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from fangkong.store.schema import regions, venues
from tests.api.helpers import logged_in, make_app
from tests.quarantine.helpers import COUNTY_A, add, hotel
from tests.web.labels_check import raw_in

COUNTY, OTHER_COUNTY, CITY = "140102", "140121", "140100"  # epi's, county2's, their city


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    return make_app(province, tmp_path)


def _venue(engine: Engine, county: str) -> tuple[str, str, str]:
    """(code, name, region code) of a venue somewhere below ``county``."""
    with engine.connect() as conn:
        for code, name, region in conn.execute(
            select(venues.c.code, venues.c.name, venues.c.region_code).order_by(venues.c.code)
        ):
            if region.startswith(county):
                return code, name, region
    raise AssertionError(f"no venue in {county}")


def _links(page: str) -> set[str]:
    return set(re.findall(r'href="(/(?:regions|venues|persons)/[^"]+)"', page))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_region_page_names_links_and_labels(app: FastAPI, province: Engine, lang: str) -> None:
    c = logged_in(app, "epi")
    c.get(f"/lang/{lang}")
    page = c.get(f"/regions/{COUNTY}")
    assert page.status_code == 200, page.text[:300]
    with province.connect() as conn:
        name = conn.execute(select(regions.c.name).where(regions.c.code == COUNTY)).scalar()
        kids = conn.execute(select(regions.c.code).where(regions.c.parent_code == COUNTY)).scalars()
        kids = set(kids)
    assert name in page.text
    assert ("县区" if lang == "zh" else "County") in page.text  # its level, by label
    assert kids
    assert {f"/regions/{k}" for k in kids} <= _links(page.text)  # the children, linked
    # the city above is outside epi's county: named in the trail, not linked
    assert f"/regions/{CITY}" not in _links(page.text)
    assert raw_in(page.text) == []
    assert ">county<" not in page.text


def test_region_outside_the_jurisdiction_is_absent(app: FastAPI) -> None:
    c = logged_in(app, "epi")
    assert c.get(f"/regions/{OTHER_COUNTY}").status_code == 404
    assert c.get("/regions/999999").status_code == 404
    assert c.get("/regions/not-a-code").status_code in (404, 422)
    admin = logged_in(app, "admin")  # the province: parents and children linked
    page = admin.get(f"/regions/{COUNTY}")
    assert page.status_code == 200
    assert f"/regions/{CITY}" in _links(page.text)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_venue_page(app: FastAPI, province: Engine, lang: str) -> None:
    code, name, region = _venue(province, COUNTY)
    c = logged_in(app, "epi")
    c.get(f"/lang/{lang}")
    page = c.get(f"/venues/{code}")
    assert page.status_code == 200, page.text[:300]
    assert name in page.text
    assert f"/regions/{region}" in _links(page.text)
    assert raw_in(page.text) == []
    other, _, _ = _venue(province, OTHER_COUNTY)
    assert c.get(f"/venues/{other}").status_code == 404
    assert logged_in(app, "county2").get(f"/venues/{code}").status_code == 404


def test_the_region_page_lists_its_venues(app: FastAPI, province: Engine) -> None:
    code, _, region = _venue(province, COUNTY)
    page = logged_in(app, "epi").get(f"/regions/{region}")
    assert page.status_code == 200
    assert f"/venues/{code}" in _links(page.text)


def test_list_pages_name_regions_and_link_them(app: FastAPI, province: Engine) -> None:
    """The facilities list showed a region code; it shows the region's name, linked."""
    add(province, hotel("QH1", COUNTY_A, single=5, zones=2))
    with province.connect() as conn:
        name = conn.execute(select(regions.c.name).where(regions.c.code == COUNTY_A)).scalar()
    page = logged_in(app, "epi").get("/quarantine/facilities").text
    row = re.search(r'<tr class="facility"[^>]*>(.*?)</tr>', page, re.S)
    assert row
    assert f'<a class="place region-link" href="/regions/{COUNTY_A}">{name}</a>' in row.group(1)
    assert f"<td>{COUNTY_A}</td>" not in row.group(1)
    facility = logged_in(app, "epi").get("/quarantine/facilities/QH1").text
    assert f'href="/regions/{COUNTY_A}"' in facility
