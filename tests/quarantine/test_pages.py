"""Quarantine pages over real HTTP on both backends: readiness per county with the norm
compared, the facility form (CSRF, field errors in the page, audit), the ranked survey,
rights and jurisdiction."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from fangkong.quarantine.facilities import list_facilities
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.survey import SiteInput, save_site
from fangkong.store.schema import audit_log, regions
from tests.api.helpers import csrf_of, logged_in, make_app
from tests.quarantine.helpers import COUNTY_A, COUNTY_B, add, hotel

P9 = QuarantineRules.shipped("protocol-9")


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    add(
        province,
        hotel("QA1", COUNTY_A, single=30, status="open"),
        hotel("QA2", COUNTY_A, single=10, status="standby"),
        hotel("QB1", COUNTY_B, single=5),
    )
    save_site(
        province,
        SiteInput("S1", "体育馆", "gym", COUNTY_A, 3000.0, 40, "grid_backup", "highway", 2.0),
        by="t",
    )
    save_site(
        province,
        SiteInput("S2", "仓库", "warehouse", COUNTY_B, 3000.0, 2, "none", "poor", 35.0),
        by="t",
    )
    return make_app(province, tmp_path)


def _population(engine: Engine, code: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(select(regions.c.population).where(regions.c.code == code)).scalar_one()
        )


def test_readiness_shows_each_county_against_the_norm(app: FastAPI, province: Engine) -> None:
    c = logged_in(app, "epi")  # county 140102 only
    page = c.get("/quarantine")
    assert page.status_code == 200
    assert "20" in re.search(r'id="norm">([^<]*)<', page.text).group(1)
    rows = re.findall(r'<tr class="region (ok|short)" data-region="(\d+)">', page.text)
    assert [code for _, code in rows] == [COUNTY_A]  # the other county is outside
    pop = _population(province, COUNTY_A)
    norm = pop * 20 / 10_000
    assert rows[0][0] == ("ok" if norm <= 40 else "short")  # 30 open + 10 standby rooms
    assert f'<td class="norm">{round(norm):,}</td>' in page.text
    admin_view = logged_in(app, "county2").get("/quarantine").text
    assert f'data-region="{COUNTY_B}"' in admin_view
    assert f'data-region="{COUNTY_A}"' not in admin_view


def test_viewer_reads_but_cannot_edit_and_the_form_checks_fields(
    app: FastAPI, province: Engine
) -> None:
    viewer = logged_in(app, "viewer")
    listing = viewer.get("/quarantine/facilities")
    assert listing.status_code == 200
    assert "QA1" in listing.text
    assert "QB1" not in listing.text
    assert 'id="facility-form"' not in listing.text
    epi = logged_in(app, "epi")
    page = epi.get("/quarantine/facilities")
    form = {
        "csrf_token": csrf_of(page.text),
        "code": "QA3",
        "name": "新隔离点",
        "kind": "hotel",
        "status": "open",
        "region_code": COUNTY_A,
        "single_rooms": "abc",
        "zones": "2",
    }
    bad = epi.post("/quarantine/facilities", data=form)
    assert bad.status_code == 422
    assert 'data-field="single_rooms"' in bad.text
    assert not [f for f in list_facilities(province) if f.code == "QA3"]
    form["single_rooms"] = "12"
    ok = epi.post("/quarantine/facilities", data=form, follow_redirects=False)
    assert ok.status_code == 303
    (made,) = [f for f in list_facilities(province) if f.code == "QA3"]
    assert made.rooms["single"] == 12
    assert made.zones == ("Z1", "Z2")
    with province.connect() as conn:
        audited = conn.execute(
            select(func.count())
            .select_from(audit_log)
            .where(audit_log.c.action == "quarantine.facility", audit_log.c.target_id == "QA3")
        ).scalar_one()
    assert audited == 1
    # another county's region is refused like an unknown facility
    form.update(code="QB9", region_code=COUNTY_B)
    assert epi.post("/quarantine/facilities", data=form).status_code == 404
    # no CSRF token: refused
    form.update(code="QA4", region_code=COUNTY_A, csrf_token="")
    assert epi.post("/quarantine/facilities", data=form).status_code in (400, 403)


def test_survey_ranks_sites_with_beds_and_activation(app: FastAPI) -> None:
    c = logged_in(app, "county2")
    text = c.get("/quarantine/survey").text
    assert "S2" in text
    assert "S1" not in text  # another county
    epi_text = logged_in(app, "epi").get("/quarantine/survey").text
    beds = re.findall(r'<td class="beds">([\d,]+)</td>', epi_text)
    assert beds == ["300"]  # 3000 m² × 0.6 ÷ 6 m² = 300; 40 toilets × 10 = 400
