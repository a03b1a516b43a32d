"""Care pages and API over HTTP on both backends: the desk (time left in words, plan and
complete buttons, wards with free beds), a need's page, registration refused next to its
field, rights and jurisdiction (another county's need answers as missing), masking, CSRF,
one audit row per call, the list layer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from fangkong.arrivals.dispatch import save_team, save_vehicle
from fangkong.arrivals.rules import ArrivalRules
from fangkong.care import service
from fangkong.care.rules import CareRules
from fangkong.care.wards import WardIn, save_ward
from fangkong.clock import now as utcnow
from fangkong.command.tables import command_tasks
from fangkong.quarantine.regions import load_regions
from fangkong.riskareas.service import designate
from fangkong.store.schema import audit_log
from tests.api.codes import codes_of
from tests.api.helpers import client, csrf_of, logged_in, make_app
from tests.riskareas.conftest import compounds, residents_of
from tests.web.listing_check import check_list, small_pages  # noqa: F401

OTHER = "140121100200001"  # the compound of county 140121 (user county2)


def _home(engine: Engine) -> str:
    """The compound of county 140102 (user epi)."""
    return next(c for c in compounds(engine, 5) if c.startswith("140102"))


def furnish(engine: Engine, app: FastAPI) -> tuple[CareRules, list[int], list[int]]:
    """Both compounds sealed (high), a transfer team with two vehicles, two wards near
    HOME; a dialysis need registered two hours ago in each compound, an emergency one
    an hour and a half ago at HOME (overdue)."""
    ctx = codes_of(app)
    rules = CareRules.from_pack(ctx.pack)
    earlier = utcnow() - timedelta(hours=3)
    home = _home(engine)
    for code in (home, OTHER):
        designate(engine, ctx, region_code=code, level="high", reason="病例居住地", by="epi",
                  now=earlier)  # fmt: skip
    with engine.connect() as conn:
        lat, lon = load_regions(conn).point(home)
    arrivals = ArrivalRules.from_pack(ctx.pack)
    save_team(engine, "T1", "转运专班", "transfer", "140102")
    for i in (1, 2):
        save_vehicle(engine, arrivals, f"V{i}", "ambulance", 2, "T1", lat + 0.01 * i, lon)
    save_ward(engine, WardIn("W-BUF", "市人民医院", "缓冲病区", "140102", lat + 0.02, lon,
                             ("dialysis", "emergency", "other"), 6, 3, True),
              by="epi", at=earlier)  # fmt: skip
    save_ward(engine, WardIn("W-GEN", "市中心医院", "肿瘤科", "140102", lat, lon + 0.02,
                             ("chemotherapy",), 10, 0, False), by="epi", at=earlier)  # fmt: skip
    mine, theirs = residents_of(engine, home), residents_of(engine, OTHER)
    home_needs = [
        service.register_need(engine, rules, person_id=mine[0], kind="dialysis", detail="血透",
                              by="grid", at=utcnow() - timedelta(hours=2)),
        service.register_need(engine, rules, person_id=mine[1], kind="emergency",
                              detail="胸痛", by="grid", at=utcnow() - timedelta(hours=1.5)),
        service.register_need(engine, rules, person_id=mine[2], kind="chronic_medication",
                              by="grid", at=utcnow() - timedelta(hours=1)),
    ]  # fmt: skip
    other = [service.register_need(engine, rules, person_id=theirs[0], kind="dialysis",
                                   by="grid", at=utcnow() - timedelta(hours=2))]  # fmt: skip
    return rules, home_needs, other


@pytest.fixture
def world(province: Engine, tmp_path: Path) -> tuple[FastAPI, Engine, list[int], list[int]]:
    app = make_app(province, tmp_path)
    _, mine, theirs = furnish(province, app)
    return app, province, mine, theirs


def _audits(engine: Engine, action: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(audit_log)
                                .where(audit_log.c.action == action)).scalar_one())  # fmt: skip


def test_the_desk_shows_needs_by_urgency_with_time_left(world: tuple) -> None:  # type: ignore[type-arg]
    app, engine, (dialysis, emergency, meds), (other,) = world
    c = logged_in(app, "epi")
    page = c.get("/care")
    assert page.status_code == 200
    text = page.text
    # overdue emergency first, then the rest by deadline; another county's need absent
    assert text.index(f'id="care-need-{emergency}"') < text.index(f'id="care-need-{dialysis}"')
    assert text.index(f'id="care-need-{dialysis}"') < text.index(f'id="care-need-{meds}"')
    assert f'id="care-need-{other}"' not in text
    assert "已逾期 30 分钟" in text or "已逾期 29 分钟" in text
    assert "还剩 22 小时" in text  # the dialysis need: 24 h from two hours ago
    assert "急危重症" in text
    assert "血液透析" in text
    assert 'id="ward-W-BUF"' in text
    assert "3 / 6" in text
    c.get("/lang/en")
    en = c.get("/care").text
    assert "overdue by 30 min" in en or "overdue by 29 min" in en
    assert "22 h" in en
    assert "Dialysis" in en
    assert _audits(engine, "care.needs.view") >= 1


def test_plan_and_complete_from_the_pages(world: tuple) -> None:  # type: ignore[type-arg]
    app, engine, (dialysis, emergency, meds), _ = world
    c = logged_in(app, "epi")
    token = csrf_of(c.get("/care").text)
    done = c.post(f"/care/needs/{dialysis}/plan", data={"csrf_token": token, "back": "need"},
                  follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    need = c.get(f"/care/needs/{dialysis}").text
    assert "已安排转运" in need
    assert "V1" in need
    assert "缓冲病区" in need
    # the emergency is overdue: refused as too late, then planned late on purpose
    late = c.post(f"/care/needs/{emergency}/plan", data={"csrf_token": token})
    assert late.status_code == 409
    assert "晚于时限" in late.text
    assert 'name="late"' in late.text
    ok = c.post(f"/care/needs/{emergency}/plan", data={"csrf_token": token, "late": "yes"},
                follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303
    moved = c.post(f"/care/needs/{dialysis}/status",
                   data={"csrf_token": token, "status": "done", "outcome": "admitted",
                         "note": "", "back": "desk"}, follow_redirects=False)  # fmt: skip
    assert moved.status_code == 303
    assert moved.headers["location"] == "/care"
    cancel = c.post(f"/care/needs/{meds}/status",
                    data={"csrf_token": token, "status": "cancelled", "note": ""})  # fmt: skip
    assert cancel.status_code == 400
    assert 'data-field="note"' in cancel.text  # the reason next to its field
    with engine.connect() as conn:
        tasks = {r.source_id: r.status for r in conn.execute(
            select(command_tasks).where(command_tasks.c.kind == "care_need"))}  # fmt: skip
    assert tasks[str(dialysis)] == "done"
    assert tasks[str(emergency)] == "in_progress"
    assert _audits(engine, "care.need.plan") == 3
    forged = c.post(f"/care/needs/{meds}/plan", data={"csrf_token": "x"})
    assert forged.status_code in (400, 403)


def test_registration_is_refused_next_to_its_field(world: tuple) -> None:  # type: ignore[type-arg]
    app, engine, _, _ = world
    c = logged_in(app, "epi")
    token = csrf_of(c.get("/care").text)
    theirs = residents_of(engine, OTHER)[1]
    outside = c.post("/care/needs", data={"csrf_token": token, "person_id": str(theirs),
                                          "kind": "dialysis", "detail": "x"})  # fmt: skip
    assert outside.status_code == 400
    assert 'data-field="person_id"' in outside.text
    assert f'value="{theirs}"' in outside.text  # what was typed is kept
    mine = residents_of(engine, _home(engine))[3]
    made = c.post("/care/needs", data={"csrf_token": token, "person_id": str(mine),
                                       "kind": "pregnancy", "detail": "临产"},
                  follow_redirects=False)  # fmt: skip
    assert made.status_code == 303
    assert "孕产妇就医" in c.get(made.headers["location"]).text


def test_rights_and_jurisdiction(world: tuple) -> None:  # type: ignore[type-arg]
    app, engine, (dialysis, _, _), (other,) = world
    assert logged_in(app, "viewer").get("/care").status_code == 403
    assert client(app).get("/care", follow_redirects=False).status_code in (303, 401)
    epi = logged_in(app, "epi")
    assert epi.get(f"/care/needs/{other}").status_code == 404
    assert epi.get("/care/needs/999999").status_code == 404
    page = logged_in(app, "county2").get(f"/care/needs/{other}")
    assert page.status_code == 200
    with engine.connect() as conn:
        outcomes = conn.execute(select(audit_log.c.outcome).where(
            audit_log.c.action == "care.need.view")).scalars().all()  # fmt: skip
    assert "out_of_jurisdiction" in outcomes
    assert "/care" in epi.get("/").text  # the navigation link, shown by care.read
    assert dialysis


def test_the_api(world: tuple) -> None:  # type: ignore[type-arg]
    app, _, (dialysis, _, _), (other,) = world
    c = logged_in(app, "epi")
    token = csrf_of(c.get("/care").text)
    rows = c.get("/api/v1/care/needs").json()
    assert {r["id"] for r in rows} >= {dialysis}
    assert other not in {r["id"] for r in rows}
    assert c.get(f"/api/v1/care/needs/{other}").status_code == 404
    plan = c.post(f"/api/v1/care/needs/{dialysis}/plan", json={},
                  headers={"X-CSRF-Token": token})  # fmt: skip
    assert plan.status_code == 200, plan.text
    assert plan.json()["ward"] == "W-BUF"
    bad = c.post("/api/v1/care/needs", json={"person_id": 1, "kind": "spa"},
                 headers={"X-CSRF-Token": token})  # fmt: skip
    assert bad.status_code == 422
    wards = c.get("/api/v1/care/wards").json()
    assert [w["code"] for w in wards] == ["W-BUF", "W-GEN"]


@pytest.mark.usefixtures("small_pages")
def test_the_needs_list_sorts_and_pages(world: tuple) -> None:  # type: ignore[type-arg]
    app, _, _, _ = world
    check_list(logged_in(app, "epi"), "/care", "care-needs", "care-need-", "due")
