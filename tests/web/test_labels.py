"""The one translation layer of stored values (``fangkong.web.labels``): every vocabulary
has both languages; the filters format numbers per language; the language switch keeps
the page's query; and the pages that showed raw values (``high``, ``hotel``,
``residence_high``…) show none, in zh and in en — the values looked for come from the
registry itself, so a vocabulary added there is looked for too."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from fangkong.clock import now as utcnow
from fangkong.registry.model import Occupation
from fangkong.riskareas.service import designate
from fangkong.web.i18n import environment
from fangkong.web.labels import label
from fangkong.web.vocabularies import VOCABULARIES
from tests.api.codes import codes_of
from tests.api.helpers import client, logged_in, make_app
from tests.quarantine.helpers import COUNTY_A, add, hotel
from tests.web.labels_check import raw_in

COMPOUND = "140121100200001"  # the compound of county 140121 (user county2)


def test_every_value_has_both_languages() -> None:
    assert len(VOCABULARIES) >= 10
    for name, values in VOCABULARIES.items():
        for value, (zh, en) in values.items():
            assert zh.strip(), (name, value)
            assert en.strip(), (name, value)
            assert value not in (zh, en), (name, value)  # a label, not the value again
    assert label("high", "risk_level", "zh") == "高风险区"
    assert label("high", "risk_level", "en") == "High risk"
    assert label(None, "risk_level", "en") == "—"
    # the vocabularies copied from an enum of the code hold every member of it
    assert set(VOCABULARIES["occupation"]) == set(Occupation)


def test_filters_format_per_language() -> None:
    source = (
        "{{ 'hotel'|label('facility_kind') }}|{{ 23.456789|decimal }}|{{ 30|decimal }}"
        "|{{ 1234567|number }}|{{ none|decimal }}"
    )
    assert environment("zh").from_string(source).render() == "隔离酒店|23.46|30.0|1,234,567|—"
    assert (
        environment("en").from_string(source).render() == "Quarantine hotel|23.46|30.0|1,234,567|—"
    )


def test_language_switch_keeps_the_query(province: Engine, tmp_path: Path) -> None:
    app = make_app(province, tmp_path)
    c = logged_in(app, "epi")
    page = c.get("/quarantine?level=county&a=b")
    assert page.status_code == 200
    switch = re.search(r'id="lang-switch" href="([^"]+)"', page.text)
    assert switch, "no language switch"
    target = html_lib.unescape(switch.group(1))
    assert target == "/lang/en?next=/quarantine%3Flevel%3Dcounty%26a%3Db"
    back = c.get(target, follow_redirects=False)
    assert back.status_code == 303
    assert back.headers["location"] == "/quarantine?level=county&a=b"
    assert (
        client(app).get("/lang/en?next=//evil.example", follow_redirects=False).headers["location"]
        == "/"
    )


# ---- no raw stored value on a page ----------------------------------------------------------


def test_the_check_finds_raw_values() -> None:
    page = "<td>high</td><p>rule residence_high, 3 days</p><script>var x = 'hotel'</script>"
    assert raw_in(page) == ["high", "residence_high"]
    assert raw_in('<td class="level-high" data-x="hotel">高风险区</td>') == []


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    app = make_app(province, tmp_path)
    ctx = codes_of(app)
    designate(province, ctx, region_code=COMPOUND, level="high", reason="两例病例 / two cases",
              by="county2", now=utcnow() - timedelta(hours=1))  # fmt: skip
    add(province, hotel("QH1", COUNTY_A, single=5, zones=2))
    return app


PAGES = {
    "county2": ["/risk-areas/manage", "/risk-areas"],
    "epi": [
        "/quarantine",
        "/quarantine/facilities",
        "/quarantine/facilities/QH1",
        "/testing",
        "/alerts",
    ],
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_pages_show_no_raw_stored_value(app: FastAPI, lang: str) -> None:
    shown: dict[str, list[str]] = {}
    for user, paths in PAGES.items():
        c = logged_in(app, user)
        c.get(f"/lang/{lang}")
        for path in paths:
            page = c.get(path)
            assert page.status_code == 200, (path, page.text[:300])
            if raw := raw_in(page.text):
                shown[path] = raw
    assert shown == {}


def test_chart_labels_follow_the_language(app: FastAPI) -> None:
    c = logged_in(app, "epi")
    zh = c.get("/forecast").text
    assert 'id="forecast-spec"' in zh
    assert "所需房间（中位数）" in zh
    assert '"title": "rooms"' not in zh
    c.get("/lang/en")
    en = c.get("/forecast").text
    assert "Rooms needed (median)" in en
    assert "所需房间" not in en


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_audit_page_shows_actions_and_outcomes_by_label(app: FastAPI, lang: str) -> None:
    epi = logged_in(app, "epi")  # a sign-in, a person read, a refused read (another county)
    epi.get("/persons/1")
    admin = logged_in(app, "admin")
    admin.get(f"/lang/{lang}")
    page = admin.get("/admin/audit")
    assert page.status_code == 200
    rows = page.text[page.text.index("<tbody>") :]
    assert ("登录" if lang == "zh" else "Sign-in") in rows
    assert ("成功" if lang == "zh" else "Done") in rows
    assert ("查看人员" if lang == "zh" else "Person read") in rows
    assert set(raw_in(page.text)) <= {"admin"}  # the user called admin, in the "who" column
    for key in (">login<", ">ok<", ">person.read<", ">user.add<"):
        assert key not in rows
