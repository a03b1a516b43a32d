"""Road status through the app (both backends): a checkpoint device's report by the API,
the refresh, the status API and the map page with its list (jurisdiction, labels)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from fangkong.clock import now as utcnow
from fangkong.command.tables import command_tasks
from fangkong.policy import load_pack
from fangkong.roads.rules import RoadRules
from fangkong.roads.status import refresh
from fangkong.store.schema import venues
from tests.api.codes import device_token
from tests.api.helpers import client, logged_in, make_app
from tests.roads.world import add_checkpoint

RULES = RoadRules.from_pack(load_pack("protocol-9"))


def _venue(engine: Engine, county: str) -> str:
    with engine.connect() as conn:
        rows = conn.execute(select(venues.c.code, venues.c.region_code)).all()
    return sorted(code for code, region in rows if region.startswith(county))[0]


@pytest.fixture
def world(province: Engine) -> tuple[Engine, str]:
    venue = _venue(province, "140102")
    with province.begin() as conn:
        add_checkpoint(conn, "CP-A", "140102", name="晋阳收费站", lat=37.8, lon=112.5)
        add_checkpoint(conn, "CP-B", "140121", name="清徐服务区", lat=37.6, lon=112.3,
                       kind="service_area")  # fmt: skip
        add_checkpoint(conn, "CP-C", "140102", name="小店检查站", lat=37.7, lon=112.6,
                       kind="road_checkpoint")  # fmt: skip
        from fangkong.logistics.tables import checkpoints

        conn.execute(checkpoints.update().where(checkpoints.c.code == "CP-A")
                     .values(venue_code=venue))  # fmt: skip
    return province, venue


@pytest.fixture
def app(world: tuple[Engine, str], tmp_path: Path) -> FastAPI:
    return make_app(world[0], tmp_path)


def _report(**kw: object) -> dict[str, object]:
    return {"checkpoint": "CP-A", "ref": "dev-1", "at": utcnow().isoformat(),
            "vehicles_waiting": RULES.queue_limit_vehicles + 100, "wait_minutes": 20,
            "lanes_open": 2, "status": "open", **kw}  # fmt: skip


def test_a_checkpoint_device_reports_and_the_map_shows_the_state(
    app: FastAPI, world: tuple[Engine, str]
) -> None:
    engine, venue = world
    device = client(app, Authorization=f"Bearer {device_token(engine, venue, 'checkpoint')}")
    r = device.post("/api/v1/road-reports", json=_report())
    assert r.status_code == 200, r.text
    assert r.json()["created"] is True
    assert device.post("/api/v1/road-reports", json=_report()).json() == {
        "id": r.json()["id"],
        "created": False,
    }
    other = device.post("/api/v1/road-reports", json=_report(checkpoint="CP-C", ref="x"))
    assert other.status_code == 403  # another checkpoint than the token's venue
    bad = device.post("/api/v1/road-reports", json=_report(ref="y", vehicles_waiting=-3))
    assert bad.status_code == 422
    scan = client(app, Authorization=f"Bearer {device_token(engine, venue, 'scan')}")
    assert scan.post("/api/v1/road-reports", json=_report(ref="z")).status_code == 403
    # a closure without authority at CP-C, reported by a commander's CLI or form (service)
    from fangkong.roads.status import ReportIn, record_report

    with engine.begin() as conn:
        record_report(
            conn,
            ReportIn("CP-C", "c1", utcnow(), 0, None, 0, "closed", reason="本地疫情"),
            at=utcnow(),
            by="t",
            via="form",
        )
        refresh(conn, at=utcnow() + timedelta(seconds=1), rules=RULES)
        kinds = conn.execute(select(command_tasks.c.kind, command_tasks.c.region_code)).all()
    assert sorted(kinds) == [("road_alert", "140102"), ("road_alert", "140102")]

    epi = logged_in(app, "epi")  # 140102: CP-A and CP-C, not CP-B
    api = epi.get("/api/v1/roads/status").json()
    assert {c["code"]: c["state"] for c in api["checkpoints"]} == {
        "CP-A": "congested",
        "CP-C": "closed_unauthorised",
    }
    assert epi.get("/api/v1/roads/status", params={"state": "bogus"}).status_code == 422
    page = epi.get("/roads")
    assert page.status_code == 200
    assert 'href="/roads"' in page.text  # the navigation link
    assert 'id="road-map"' in page.text
    assert page.text.count('href="/logistics/checkpoints/CP-A"') == 2  # map and list
    assert "CP-B" not in page.text
    for words in ("拥堵", "擅自关闭", "排队车辆超限", "未经批准关闭", "畅通", "无数据"):
        assert words in page.text
    assert "closed_unauthorised</" not in page.text
    only = epi.get("/roads", params={"state": "congested"}).text
    assert 'id="cp-CP-A"' in only
    assert 'id="cp-CP-C"' not in only
    en = logged_in(app, "epi")
    en.get("/lang/en?next=/roads")
    shown = en.get("/roads").text
    assert "Closed without authority" in shown
    assert "Congested" in shown
    task = epi.get("/command/tasks").text
    assert "道路通行预警" in task


def test_the_page_needs_road_read(app: FastAPI) -> None:
    admin = logged_in(app, "admin")
    assert admin.get("/roads").status_code == 403
    assert 'href="/roads"' not in admin.get("/").text
