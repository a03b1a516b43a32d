"""Risk-area pages over HTTP on both backends: the public list and map need no login and
show no reasons or persons; the forecast page keeps to the jurisdiction and its right;
needs of sealed areas: rights, jurisdiction (another county's task answers as missing),
CSRF, masking, one audit row per view or change."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from fangkong.clock import now as utcnow
from fangkong.riskareas.needs import list_needs, raise_need
from fangkong.riskareas.rules import RiskAreaRules
from fangkong.riskareas.service import designate
from fangkong.riskareas.tables import risk_areas
from fangkong.store.schema import audit_log, persons, regions
from tests.api.codes import codes_of
from tests.api.helpers import client, csrf_of, logged_in, make_app
from tests.riskareas.conftest import residents_of
from tests.web.listing_check import check_list, links, row_ids, small_pages  # noqa: F401

COMPOUND = "140121100200001"  # the compound of county 140121 (user county2)
REASON = "两例病例居住于此"


@pytest.fixture
def world(province: Engine, tmp_path: Path) -> tuple[FastAPI, Engine, int]:
    app = make_app(province, tmp_path)
    ctx = codes_of(app)
    area = designate(province, ctx, region_code=COMPOUND, level="high", reason=REASON,
                     by="county2", now=utcnow() - timedelta(hours=1)).area  # fmt: skip
    rules = RiskAreaRules.from_pack(ctx.pack)
    kind = min(rules.need_kinds.values(), key=lambda k: k.deadline_hours)
    resident = residents_of(province, COMPOUND)[0]
    need = raise_need(province, rules, area_id=area.id, person_id=resident, kind=kind.name,
                      note="透析", by="grid",
                      now=utcnow() - timedelta(hours=kind.deadline_hours + 1))  # fmt: skip
    return app, province, need


def _audits(engine: Engine, action: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(
            select(func.count()).select_from(audit_log).where(audit_log.c.action == action)
        ).scalar_one())  # fmt: skip


def test_public_list_and_map(world: tuple[FastAPI, Engine, int]) -> None:
    app, engine, _ = world
    c = client(app)  # nobody logged in
    page = c.get("/risk-areas")
    assert page.status_code == 200
    assert "高风险区" in page.text
    with engine.connect() as conn:
        names = conn.execute(select(persons.c.name).limit(50)).scalars().all()
    assert REASON not in page.text
    assert not any(n in page.text for n in names)
    assert page.text.count('class="area level-high"') == 1
    m = c.get("/risk-areas/map")
    assert m.status_code == 200
    spec = json.loads(re.search(r'id="risk-map-spec">(.*?)</script>', m.text, re.S).group(1))  # type: ignore[union-attr]
    feats = {f["id"]: f for f in spec["data"]["values"]["features"]}
    assert feats[COMPOUND]["properties"]["level"] == "high"
    assert feats[COMPOUND]["geometry"]["type"] == "Polygon"
    assert "derived-note" in m.text  # the registry has no boundaries: shapes are derived


def test_forecast_page(world: tuple[FastAPI, Engine, int]) -> None:
    app, _, _ = world
    page = logged_in(app, "viewer").get("/forecast")
    assert page.status_code == 200
    assert "140102" in page.text
    assert "140121" not in page.text  # another county: outside the viewer's jurisdiction
    assert 'id="forecast-spec"' in page.text
    assert logged_in(app, "admin").get("/forecast").status_code == 403


def test_needs_page(world: tuple[FastAPI, Engine, int]) -> None:
    app, engine, need = world
    owner = logged_in(app, "county2")
    before = _audits(engine, "needs.view")
    page = owner.get("/risk-areas/needs")
    assert page.status_code == 200
    assert f'id="need-{need}"' in page.text
    assert "overdue-flag" in page.text
    assert _audits(engine, "needs.view") == before + 1
    other = logged_in(app, "epi")  # county 140102: not this task's jurisdiction
    assert f'id="need-{need}"' not in other.get("/risk-areas/needs").text
    token = csrf_of(other.get("/risk-areas/needs").text)
    refused = other.post(f"/risk-areas/needs/{need}", data={"status": "done", "csrf_token": token})
    assert refused.status_code == 404
    assert logged_in(app, "viewer").get("/risk-areas/needs").status_code == 403
    assert owner.post(f"/risk-areas/needs/{need}", data={"status": "done"}).status_code == 403
    token = csrf_of(page.text)
    done = owner.post(f"/risk-areas/needs/{need}", data={"status": "done", "csrf_token": token},
                      follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert [n.status for n in list_needs(engine)] == ["done"]
    assert _audits(engine, "needs.change") == 2  # the refused one and this one


def test_manage_and_designate(world: tuple[FastAPI, Engine, int]) -> None:
    app, engine, _ = world
    owner = logged_in(app, "county2")
    page = owner.get("/risk-areas/manage")
    assert page.status_code == 200
    assert REASON in page.text  # staff see the reason the public does not
    assert 'href="/risk-areas/manage"' in page.text  # the nav leads staff here
    token = csrf_of(page.text)
    before = _audits(engine, "riskarea.designate")
    # another county's compound: answered as a region that does not exist
    other = logged_in(app, "epi")
    refused = other.post("/risk-areas/designate", data={
        "region_code": COMPOUND, "level": "low", "reason": "x",
        "csrf_token": csrf_of(other.get("/risk-areas/manage").text)})  # fmt: skip
    unknown = other.post("/risk-areas/designate", data={
        "region_code": "999999", "level": "low", "reason": "x",
        "csrf_token": csrf_of(other.get("/risk-areas/manage").text)})  # fmt: skip
    assert refused.status_code == unknown.status_code == 400
    assert f"无此区划（{COMPOUND}）" in refused.text  # the answer of a region that is absent
    assert "无此区划（999999）" in unknown.text
    lifted = owner.post("/risk-areas/designate", data={
        "region_code": COMPOUND, "level": "low", "reason": "核查排除", "csrf_token": token},
        follow_redirects=False)  # fmt: skip
    assert lifted.status_code == 303
    assert _audits(engine, "riskarea.designate") == before + 3
    assert 'class="area level-high"' not in client(app).get("/risk-areas").text
    assert logged_in(app, "admin").get("/risk-areas/manage").status_code == 403


@pytest.mark.usefixtures("small_pages")
def test_area_and_need_lists_sort_and_page(world: tuple[FastAPI, Engine, int]) -> None:
    """The public list, the managed list and the needs: sorted by a column both ways and
    walked in pages of 2, in SQL (issue 19)."""
    app, engine, _ = world
    ctx = codes_of(app)
    with engine.connect() as conn:  # the small province's other places drawn as areas
        others = conn.execute(select(regions.c.code).where(
            regions.c.level.in_(("compound", "community")), regions.c.code != COMPOUND,
        ).order_by(regions.c.code)).scalars().all()  # fmt: skip
    for i, (code, level) in enumerate(zip(others, ("medium", "high", "medium"), strict=True)):
        designate(engine, ctx, region_code=code, level=level, reason=REASON, by="admin",
                  evaluate=False, now=utcnow() - timedelta(minutes=30 - i))  # fmt: skip
    rules = RiskAreaRules.from_pack(ctx.pack)
    with engine.connect() as conn:
        area = conn.execute(select(risk_areas.c.id).where(risk_areas.c.region_code == COMPOUND)
                            ).scalar_one()  # fmt: skip
    kinds = sorted(rules.need_kinds.values(), key=lambda k: k.name)
    for i, resident in enumerate(residents_of(engine, COMPOUND)[1:4]):
        raise_need(engine, rules, area_id=int(area), person_id=resident,
                   kind=kinds[i % len(kinds)].name, note="", by="grid")  # fmt: skip
    check_list(client(app), "/risk-areas", "areas", "area-", "level", total=4)
    public = client(app).get("/risk-areas?sort=level&size=200").text
    assert public.index("level-high") < public.index("level-medium")  # most severe first
    check_list(logged_in(app, "county2"), "/risk-areas/needs", "needs", "need-", "due", total=4)
    epi = logged_in(app, "epi")  # two areas in county 140102: one page, both ways
    up = row_ids(epi.get("/risk-areas/manage?sort=name&dir=asc").text, "all-areas", "area-")
    down = row_ids(epi.get("/risk-areas/manage?sort=name&dir=desc").text, "all-areas", "area-")
    assert len(up) == 2
    assert down == up[::-1]


@pytest.mark.usefixtures("small_pages")
def test_suggestions_are_paged(
    world: tuple[FastAPI, Engine, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suggestions are computed, not stored (at a province's size hundreds): the page
    shows one page of them with its own pager (``spage``, ``ssize``), apart from the
    areas' list. The suggester is replaced by a list of five compounds of county 140121:
    what is measured is the paging, the suggester has its own tests."""
    import fangkong.riskareas.access as area_access
    from fangkong.riskareas.suggest import Suggestion

    found = [Suggestion(f"14012110020000{i}", f"小区{i}", "medium", None, {i}) for i in range(5)]
    monkeypatch.setattr(area_access, "suggest", lambda *a, **k: list(found))
    owner = logged_in(world[0], "county2")
    first = owner.get("/risk-areas/manage", params={"ssize": 2})
    assert first.status_code == 200
    assert row_ids(first.text, "suggestions", "suggest-") == [
        "suggest-140121100200000", "suggest-140121100200001"]  # fmt: skip
    assert [u for u in links(first.text, "next") if "spage=2" in u and "ssize=2" in u]
    last = owner.get("/risk-areas/manage", params={"ssize": 2, "spage": 3})
    assert row_ids(last.text, "suggestions", "suggest-") == ["suggest-140121100200004"]
    assert 'id="area-' in last.text  # the areas' list is still there, on its own first page
    assert owner.get("/risk-areas/manage", params={"ssize": 7}).status_code == 422
