"""Bounded pages (issue 16): every integer in a page's path or query fits its column (a
2**63 or 2**31 id answers 4xx, never a 500 from the database driver), page forms refuse
control characters and dates outside their window on the page itself with nothing
stored, and the period form keeps the pack's longest period. Both backends."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine, func, select

from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import quarantine_placements
from fangkong.riskareas.tables import risk_area_changes, risk_areas
from fangkong.store.schema import audit_log
from fangkong.testing.tables import campaigns
from tests.api.codes import codes_of
from tests.api.helpers import csrf_of, logged_in, make_app, person_ids
from tests.quarantine.helpers import COUNTY_A, add, hotel, people

HUGE = (2**63, 2**31)


def _api_routes(routes: typing.Iterable[typing.Any]) -> list[APIRoute]:
    """The app's operations, through the routers it includes (whatever wraps them)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif (inner := getattr(route, "original_router", None)) is not None:
            assert not route.include_context.prefix, "prefixed routers: extend the walk"
            found += _api_routes(inner.routes)
    return found


def _int_params(app: FastAPI) -> list[tuple[str, str, list[str], list[str]]]:
    """(method, path, int path params, int query params) of every page route."""
    found = []
    for route in _api_routes(app.routes):
        if route.path.startswith(("/api", "/static", "/health")):
            continue
        hints = typing.get_type_hints(route.endpoint)
        ints = {name for name, hint in hints.items()
                if hint is int or hint == int | None}  # fmt: skip
        in_path = [p.name for p in route.dependant.path_params
                   if p.name in ints or p.name.endswith("_id")]  # fmt: skip
        in_query = [p.name for p in route.dependant.query_params if p.name in ints]
        for method in sorted(route.methods & {"GET", "POST"}):
            if in_path or in_query:
                found.append((method, route.path, in_path, in_query))
    return found


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    return make_app(province, tmp_path)


def test_every_page_route_bounds_its_integers(app: FastAPI) -> None:
    routes = _int_params(app)
    paths = {path for _, path, _, _ in routes}
    # the enumeration sees the routes of every page module
    for expected in ("/persons/{person_id}", "/alerts/{alert_id}", "/arrivals/travellers/{tid}",
                     "/tracing/cases/{case_id}", "/risk-areas/needs/{need_id}",
                     "/testing/campaigns/{campaign_id}", "/corrections/{correction_id}/decide",
                     "/quarantine/alerts/{alert_id}/resolve", "/admin/audit"):  # fmt: skip
        assert expected in paths, expected
    assert len(routes) >= 20
    admin = logged_in(app, "admin")
    token = csrf_of(admin.get("/").text)
    tried = 0
    for method, path, in_path, in_query in routes:
        for huge in HUGE:
            url = path
            for name in in_path:
                url = url.replace("{" + name + "}", str(huge))
            for name in [None, *in_query]:
                params = {name: str(huge)} if name else {}
                if in_path == [] and name is None:
                    continue
                if method == "GET":
                    got = admin.get(url, params=params, follow_redirects=False)
                else:
                    got = admin.post(url, params=params, data={"csrf_token": token},
                                     follow_redirects=False)  # fmt: skip
                tried += 1
                assert got.status_code in (400, 404, 422), (method, url, params, got.status_code)
    assert tried >= 40


def _rows(engine: Engine, table: typing.Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize(
    ("form", "shown"),
    [({"name": "第一轮", "region_code": "140102", "starts_at": "9999-12-31T08:00"},
      ("starts_at", "计划日期不能晚于")),
     ({"name": "第一轮", "region_code": "140102", "starts_at": "0001-01-01T00:00"},
      ("starts_at", "计划日期不能早于")),
     ({"name": "第\x00一轮", "region_code": "140102", "starts_at": "TODAY"},
      ("name", "不能含控制字符"))],
)  # fmt: skip
def test_campaign_form_refuses_bad_start_and_text(
    app: FastAPI, province: Engine, form: dict[str, str], shown: tuple[str, str]
) -> None:
    from fangkong import clock

    epi = logged_in(app, "epi")
    token = csrf_of(epi.get("/testing").text)
    if form["starts_at"] == "TODAY":
        form = {**form, "starts_at": clock.now().strftime("%Y-%m-%dT%H:%M")}
    got = epi.post("/testing/campaigns", data={**form, "csrf_token": token},
                     follow_redirects=False)  # fmt: skip
    assert got.status_code == 422, got.text[-500:]
    field, message = shown
    assert re.search(f'id="start-campaign-{field}-error"[^>]*>[^<]*{message}', got.text)
    assert _rows(province, campaigns) == 0


def test_risk_area_forms_refuse_control_characters(app: FastAPI, province: Engine) -> None:
    epi = logged_in(app, "epi")
    token = csrf_of(epi.get("/risk-areas/manage").text)
    got = epi.post("/risk-areas/designate", follow_redirects=False,
                     data={"region_code": "140102", "level": "high", "reason": "聚集\x00疫情",
                           "csrf_token": token})  # fmt: skip
    assert got.status_code == 422, got.text[-500:]
    assert re.search('id="designate-reason-error"[^>]*>不能含控制字符', got.text)
    assert (_rows(province, risk_areas), _rows(province, risk_area_changes)) == (0, 0)
    need = epi.post("/risk-areas/needs/1", follow_redirects=False,
                      data={"status": "done", "note": "送\x07达", "csrf_token": token})  # fmt: skip
    assert need.status_code == 422, need.text[-500:]
    assert "不能含控制字符" in need.text


def test_correction_forms_refuse_control_characters(app: FastAPI, province: Engine) -> None:
    pid = person_ids(province, "140102")[0]
    epi = logged_in(app, "epi")
    token = csrf_of(epi.get(f"/codes/{pid}").text)
    before = _rows(province, audit_log)
    filed = epi.post(f"/codes/{pid}/corrections", follow_redirects=False,
                     data={"reason": "未去过\x00发热门诊", "csrf_token": token})  # fmt: skip
    assert filed.status_code == 422, filed.text[-500:]
    assert 'id="correction-form-reason-error"' in filed.text
    assert "不能含控制字符" in filed.text
    decide = epi.post("/corrections/1/decide", follow_redirects=False,
                      data={"decision": "upheld", "reason": "核实\x1b无误",
                            "csrf_token": token})  # fmt: skip
    assert decide.status_code == 422, decide.text[-500:]
    assert "不能含控制字符" in decide.text
    # a multi-line reason is still free text
    ok = epi.post(f"/codes/{pid}/corrections", follow_redirects=False,
                  data={"reason": "未去过\r\n发热门诊", "csrf_token": token})  # fmt: skip
    assert ok.status_code in (303, 409, 422)
    assert "不能含控制字符" not in ok.text
    assert before <= _rows(province, audit_log)


def test_audit_page_refuses_a_control_character_in_the_user(app: FastAPI) -> None:
    got = logged_in(app, "admin").get("/admin/audit", params={"user": "a\x00b"})
    assert got.status_code == 400
    assert "user：不能含控制字符" in got.text


def test_period_form_keeps_the_longest_period(app: FastAPI, province: Engine) -> None:
    add(province, hotel("QB1", COUNTY_A, single=4))
    epi = logged_in(app, "epi")
    epi.headers["X-CSRF-Token"] = epi.get("/api/v1/session").json()["csrf_token"]
    body = {"rows": [{"person_id": people(province, COUNTY_A)[0], "risk_group": "close_contact",
                      "household": "solo"}]}  # fmt: skip
    got = epi.post("/api/v1/quarantine/placements", json=body)
    assert got.status_code == 200, got.text
    pid = int(got.json()["assignments"][0]["placement_id"])
    longest = QuarantineRules.from_pack(codes_of(app).pack).longest_days()
    with province.connect() as conn:
        end = conn.execute(select(quarantine_placements.c.planned_end)
                           .where(quarantine_placements.c.id == pid)).scalar_one()  # fmt: skip
    token = csrf_of(epi.get(f"/quarantine/placements/{pid}").text)
    refused = epi.post(f"/quarantine/placements/{pid}/period", follow_redirects=False,
                       data={"days": str(longest + 1), "reason": "延长",
                             "csrf_token": token})  # fmt: skip
    assert refused.status_code in (400, 422), refused.text[-500:]
    assert f"结束时间不能晚于开始后 {longest} 天" in refused.text
    with province.connect() as conn:
        after = conn.execute(select(quarantine_placements.c.planned_end)
                             .where(quarantine_placements.c.id == pid)).scalar_one()  # fmt: skip
    assert after == end


def test_a_control_character_in_any_path_or_query_is_refused_before_the_route(
    app: FastAPI,
) -> None:
    """A NUL cannot even reach PostgreSQL (the driver raises): every route, page or API,
    with a string in its path gets one, and a filter query gets one; 400, never a 5xx."""
    admin = logged_in(app, "admin")
    tried = 0
    for route in _api_routes(app.routes):
        strings = [p.name for p in route.dependant.path_params
                   if typing.get_type_hints(route.endpoint).get(p.name) is str]  # fmt: skip
        if not strings or "GET" not in route.methods:
            continue
        url = route.path
        for name in strings:
            url = url.replace("{" + name + "}", "A%00B")
        got = admin.get(url, follow_redirects=False)
        tried += 1
        assert got.status_code == 400, (url, got.status_code)
    assert tried >= 3  # facility code, tube barcode, ...
    for url in ("/quarantine?level=%00", "/tracing/chains?kind=a%00", "/api/v1/summary?x=%01"):
        got = admin.get(url, follow_redirects=False, headers={"Accept": "application/json"})
        assert got.status_code == 400, (url, got.status_code)
        assert got.json()["code"] == "value.text_control"
