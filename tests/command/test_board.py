"""The situation board over real HTTP (both backends): the API's numbers are the stored
figures, children add up to the parent, the page drills down with breadcrumbs and links
only to the lists the reader may open, another county is answered as absent (and audited
as such), no command.read is a 403, the wall shows no names and refreshes itself."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, delete, select, update

from fangkong.auth.rights import COMMAND_READ
from fangkong.command.figures import FigureRules, compute_figures
from fangkong.command.tables import command_figures
from fangkong.policy import load_pack
from fangkong.store.schema import audit_log, persons, role_rights
from fangkong.store.tx import write_transaction
from tests.api.helpers import logged_in, make_app
from tests.command.board_world import AT, COUNTY_A, COUNTY_B, DAY, START, TZ, build

RULES = FigureRules.from_pack(load_pack("protocol-9"), TZ)
ADDITIVE = ("cases.new", "cases.cumulative", "contacts.awaiting", "quarantine.capacity_hotel",
            "testing.late_tubes", "arrivals.overdue", "codes.red", "work.tasks_open")  # fmt: skip


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    build(province)
    with write_transaction(province) as conn:
        compute_figures(conn, RULES, day=DAY - timedelta(days=1), at=START)  # the day before
        compute_figures(conn, RULES, day=DAY, at=AT)
    return make_app(province, tmp_path)


def _stored(engine: Engine, code: str) -> dict[str, float]:
    f = command_figures.c
    with engine.connect() as conn:
        rows = conn.execute(select(f.key, f.value).where(f.region_code == code, f.day == DAY))
        return {str(k): float(v) for k, v in rows}


def _engine(app: FastAPI) -> Engine:
    engine: Engine = app.state.ctx.engine
    return engine


def test_api_board_is_the_stored_figures_with_children(app: FastAPI) -> None:
    admin = logged_in(app, "admin")
    body = admin.get("/api/v1/command/board", params={"region": "140100"}).json()
    assert body["region"]["code"] == "140100"
    assert body["day"] == DAY.isoformat()  # the latest computed day before the clock's today
    stored = _stored(_engine(app), "140100")
    got = {f["key"]: f["value"] for f in body["figures"] if f["value"] is not None}
    assert got == stored
    before = {f["key"]: f["previous"] for f in body["figures"]}
    change = {f["key"]: f["change"] for f in body["figures"]}
    assert change["cases.new"] == got["cases.new"] - before["cases.new"]
    assert [c["code"] for c in body["children"]] == [COUNTY_A, COUNTY_B]
    for key in ADDITIVE:
        assert sum(c["figures"][key] for c in body["children"]) == got[key], key
    assert [r["code"] for r in body["trail"]] == ["140000", "140100"]
    curve = body["curve"]
    assert (len(curve), curve[-1]["day"]) == (14, DAY.isoformat())
    assert (curve[-1]["controlled"], curve[-1]["community"]) == (2, 3)
    links = {f["key"]: f["link"] for f in body["figures"]}
    # admins hold alert.read but neither quarantine.read nor the tracing rights
    assert links["work.alerts_open"] == "/alerts?status=open&region=140100"
    assert (links["contacts.awaiting"], links["cases.new"]) == (None, None)


def test_page_drills_down_with_breadcrumbs_and_links_by_right(app: FastAPI) -> None:
    epi = logged_in(app, "epi")  # epidemiologist of county A
    html = epi.get("/command").text
    assert "右远区" in html  # county A's name: the reader's own region by default
    assert 'href="/command"' in html  # the nav link
    tile = _tile(html, "contacts-awaiting")
    assert 'href="/quarantine"' in tile
    assert ">" + str(int(_stored(_engine(app), COUNTY_A)["contacts.awaiting"])) + "<" in tile
    assert 'href="/tracing/chains"' in _tile(html, "cases-new")
    child = r'id="child-(\d+)"><td><a href="(/command\?region=\d+&(?:amp;)?day=[^"]+)"'
    township = re.search(child, html)
    assert township is not None
    below = epi.get(township.group(2).replace("&amp;", "&")).text
    trail = re.search(r'<nav class="trail" id="trail"[^>]*>(.*?)</nav>', below, re.S)
    assert trail is not None
    assert 'href="/command?region=140102' in trail.group(1)
    spec = re.search(r'id="curve-chart-spec">(.*?)</script>', html, re.S)
    assert spec is not None
    assert len(json.loads(spec.group(1))["data"]["values"]) == 28
    viewer = logged_in(app, "viewer").get("/command").text
    assert "/tracing/chains" not in viewer  # no tracing rights: the number, not the list
    en = logged_in(app, "viewer")
    en.get("/lang/en")
    assert "contacts awaiting placement" in en.get("/command").text


def _tile(html: str, key: str) -> str:
    found = re.search(rf'<div class="num" id="tile-{key}">(.*?)</div>', html, re.S)
    assert found is not None, key
    return found.group(1)


def test_another_county_is_absent_and_audited(app: FastAPI) -> None:
    epi = logged_in(app, "epi")
    assert epi.get("/command", params={"region": COUNTY_B}).status_code == 404
    assert epi.get("/command", params={"region": "140000"}).status_code == 404  # above
    api = epi.get("/api/v1/command/board", params={"region": COUNTY_B})
    assert (api.status_code, api.json()["code"]) == (404, "command.region_unknown")
    assert epi.get("/command", params={"region": "999999"}).status_code == 404
    with _engine(app).connect() as conn:
        outcomes = conn.execute(
            select(audit_log.c.outcome).where(audit_log.c.action == "command.board",
                                              audit_log.c.target_id == COUNTY_B)
        ).scalars().all()  # fmt: skip
    assert outcomes
    assert set(outcomes) == {"out_of_jurisdiction"}
    county2 = logged_in(app, "county2")
    assert county2.get("/command", params={"region": COUNTY_B}).status_code == 200


def test_without_command_read_nothing_is_shown(app: FastAPI) -> None:
    with _engine(app).begin() as conn:
        conn.execute(delete(role_rights).where(role_rights.c.role == "viewer",
                                               role_rights.c.right == COMMAND_READ))  # fmt: skip
    viewer = logged_in(app, "viewer")
    assert viewer.get("/command").status_code == 403
    assert viewer.get("/command/wall").status_code == 403
    assert viewer.get("/api/v1/command/board").status_code == 403
    assert 'href="/command"' not in viewer.get("/codes").text  # no nav link either


def test_wall_shows_figures_but_no_names(app: FastAPI) -> None:
    viewer = logged_in(app, "viewer")
    html = viewer.get("/command/wall").text
    assert '<meta http-equiv="refresh" content="60">' in html
    assert _tile(html, "cases-new")
    assert "href=" not in html.split("<main>")[1]  # no links to lists from the wall
    assert 'class="who"' not in html
    assert ">viewer<" not in html
    with _engine(app).connect() as conn:
        names = conn.execute(select(persons.c.name)).scalars().all()
    assert [n for n in names if n and n in html] == []


def test_days_to_lift_are_tiles_linking_to_the_area_list(app: FastAPI) -> None:
    epi = logged_in(app, "epi")  # an epidemiologist holds riskarea.read
    stored = _stored(_engine(app), COUNTY_A)
    tile = _tile(epi.get("/command").text, "risk_areas-medium_days_to_lift")
    assert 'href="/risk-areas/manage"' in tile
    assert f">{int(stored['risk_areas.medium_days_to_lift'])}<" in tile  # whole days
    # county A has no high area: the tile reads "—", not 0
    assert ">—<" in _tile(epi.get("/command").text, "risk_areas-high_days_to_lift")
    body = epi.get("/api/v1/command/board").json()
    figure = {f["key"]: f for f in body["figures"]}["risk_areas.medium_days_to_lift"]
    assert (figure["value"], figure["unit"], figure["link"]) == (
        stored["risk_areas.medium_days_to_lift"], "days", "/risk-areas/manage",
    )  # fmt: skip
    admin = logged_in(app, "admin")
    wall = admin.get("/command/wall", params={"region": "140000"}).text
    assert "高风险区最近解封" in _tile(wall, "risk_areas-high_days_to_lift")
    assert ">7<" in _tile(wall, "risk_areas-high_days_to_lift")  # the world's (test_figures)
    admin.get("/lang/en")
    page = admin.get("/command", params={"region": "140000"}).text
    assert "days to the next high-risk lifting" in _tile(page, "risk_areas-high_days_to_lift")


def test_days_left_past_the_forecast_horizon_read_more_than(app: FastAPI) -> None:
    """The demo's fangcang with almost no intake gave 57,428 days: past the pack's
    days_left_horizon (14, the forecast's) the board says "> 14", the API null + bound."""
    f = command_figures.c
    with _engine(app).begin() as conn:
        conn.execute(
            update(command_figures)
            .where(f.key == "quarantine.days_left", f.day == DAY)
            .values(value=57_428.0)
        )
    admin = logged_in(app, "admin")
    body = admin.get("/api/v1/command/board", params={"region": "140000"}).json()
    days_left = {x["key"]: x for x in body["figures"]}["quarantine.days_left"]
    assert (days_left["value"], days_left["more_than"], days_left["change"]) == (None, 14, None)
    assert {x["key"]: x for x in body["figures"]}["cases.new"]["more_than"] is None
    child = body["children"][0]
    assert (child["figures"]["quarantine.days_left"], child["more_than"]) == (
        None, {"quarantine.days_left": 14},
    )  # fmt: skip
    for path in ("/command", "/command/wall"):
        html = admin.get(path, params={"region": "140000"}).text
        tile = _tile(html, "quarantine-days_left")
        assert "&gt; 14<" in tile, path
        assert "57" not in tile, path
        assert "▼" not in tile, path  # no change from a value past the bound
        assert "▲" not in tile, path
