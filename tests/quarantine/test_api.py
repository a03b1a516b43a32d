"""The quarantine API over real HTTP on both backends: placement requests in a batch
(rows named on error, nothing placed), daily checks in a batch from a site's tablet
(device token of scope ``quarantine``; all or none), a placement's follow-up, release
refused with the reason, period changes, alerts; rights, jurisdiction, audit, problem+json
in Chinese and English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select

from fangkong.auth.devices import issue_device_token
from fangkong.auth.model import cli_actor
from fangkong.identity.masking import mask_name
from fangkong.quarantine.placed import get_placement
from fangkong.quarantine.rules import QuarantineRules
from fangkong.quarantine.tables import quarantine_checks, quarantine_placements
from fangkong.quarantine.terms import test_dates as dates_of
from fangkong.store.schema import audit_log, persons, venues
from tests.api.codes import AUDIT_KEY
from tests.api.helpers import client, logged_in, make_app
from tests.quarantine.helpers import COUNTY_A, COUNTY_B, add, hotel, people

P9 = QuarantineRules.shipped("protocol-9")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class World:
    app: FastAPI
    engine: Engine
    a: list[int]  # persons of county A
    b: list[int]  # persons of county B


@pytest.fixture
def world(province: Engine, tmp_path: Path) -> World:
    add(province, hotel("QA1", COUNTY_A, single=6), hotel("QB1", COUNTY_B, single=2))
    return World(
        make_app(province, tmp_path),
        province,
        people(province, COUNTY_A),
        people(province, COUNTY_B),
    )


def _api(app: FastAPI, user: str, **headers: str) -> Any:
    c = logged_in(app, user, **headers)
    c.headers["X-CSRF-Token"] = c.get("/api/v1/session").json()["csrf_token"]
    return c


def _rows(ids: list[int], **extra: Any) -> dict[str, Any]:
    return {"rows": [{"person_id": p, "risk_group": "close_contact",
                      "household": f"solo-{p}", **extra} for p in ids]}  # fmt: skip


def _count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _name(engine: Engine, person_id: int) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(select(persons.c.name).where(persons.c.id == person_id)).scalar_one()
        )


def test_batch_placement_names_bad_rows_and_places_nothing_then_everyone(world: World) -> None:
    epi = _api(world.app, "epi", **{"accept-language": "en"})
    bad = _rows([world.a[0], world.b[0], world.a[1]])
    bad["rows"][2]["risk_group"] = "nobody"
    refused = epi.post("/api/v1/quarantine/placements", json=bad)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert body["code"] == "quarantine.rows_invalid"
    assert {e["field"] for e in body["errors"]} == {"rows.1.person_id", "rows.2.risk_group"}
    assert "jurisdiction" in body["errors"][0]["detail"]  # English, as asked
    assert _count(world.engine, quarantine_placements) == 0
    zh = _api(world.app, "epi").post("/api/v1/quarantine/placements", json=bad)
    assert "辖区" in zh.json()["errors"][0]["detail"]

    ok = epi.post("/api/v1/quarantine/placements", json=_rows(world.a[:3], ref=None))
    assert ok.status_code == 200, ok.text
    out = ok.json()
    assert (out["placed"], out["no_room"]) == (3, 0)
    assert {a["facility_code"] for a in out["assignments"]} == {"QA1"}
    assert out["assignments"][0]["test_days"] == list(P9.phases("close_contact")[0].test_days)
    assert (
        _count(world.engine, quarantine_placements, quarantine_placements.c.active.is_(True)) == 3
    )
    # a viewer may not place; an unauthenticated caller gets 401
    viewer = _api(world.app, "viewer")
    assert viewer.post("/api/v1/quarantine/placements", json=_rows(world.a[3:4])).status_code == 403
    assert client(world.app).post("/api/v1/quarantine/placements",
                                  json=_rows(world.a[3:4])).status_code == 401  # fmt: skip
    with world.engine.connect() as conn:
        q = select(audit_log.c.outcome).where(audit_log.c.action == "quarantine.place")
        outcomes = list(conn.execute(q.order_by(audit_log.c.seq)).scalars())
    refusal = "quarantine.rows_invalid"[:20]
    assert outcomes == [refusal, refusal, "ok", "forbidden"]


def _site_venue(engine: Engine, code: str, county: str) -> str:
    """The quarantine site as a venue (a device token is bound to a venue: its region)."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        row = {"code": code, "name": "隔离点", "type": "quarantine_site", "region_code": county}
        conn.execute(venues.insert().values(**row, created_at=now, updated_at=now))
    return code


def test_device_sends_checks_in_a_batch_all_or_none(world: World) -> None:
    epi = _api(world.app, "epi")
    placed = epi.post("/api/v1/quarantine/placements", json=_rows(world.a[:2])).json()
    pa, pb = (a["placement_id"] for a in placed["assignments"])
    other = _api(world.app, "county2").post("/api/v1/quarantine/placements",
                                            json=_rows(world.b[:1])).json()  # fmt: skip
    (far,) = (a["placement_id"] for a in other["assignments"])
    site = _site_venue(world.engine, "V-QA1", COUNTY_A)
    token, _ = issue_device_token(world.engine, AUDIT_KEY, cli_actor(), "quarantine", site, 30, "t")
    tablet = client(world.app, authorization=f"Bearer {token}")
    occ = tablet.get("/api/v1/quarantine/facilities/QA1/occupants")
    assert occ.status_code == 200
    assert occ.json()["masked"] is True
    names = {o["person_id"]: o["name"] for o in occ.json()["occupants"]}
    assert names[world.a[0]] == mask_name(_name(world.engine, world.a[0]))
    assert tablet.get("/api/v1/quarantine/facilities/QB1/occupants").status_code == 404

    day = datetime.now(SHANGHAI).date().isoformat()
    rows = [
        {"placement_id": pa, "day": day, "temperature": 36.6},
        {"placement_id": pb, "day": day, "temperature": 36.9, "symptoms": "咳嗽"},
        {"placement_id": far, "day": day, "temperature": 36.5},
        {"placement_id": pa, "day": day, "temperature": 51.0},
    ]
    refused = tablet.post("/api/v1/quarantine/checks", json={"rows": rows},
                          headers={"accept-language": "en"})  # fmt: skip
    assert refused.status_code == 422
    fields = {e["field"] for e in refused.json()["errors"]}
    assert fields == {"rows.2.placement_id", "rows.3.temperature"}
    assert _count(world.engine, quarantine_checks) == 0  # all or none

    done = tablet.post("/api/v1/quarantine/checks", json={"rows": rows[:2]})
    assert done.status_code == 200, done.text
    assert done.json() == {"recorded": 2, "statuses": ["done", "abnormal"], "alerts": 1}
    alerts = epi.get("/api/v1/quarantine/alerts").json()
    assert [(a["kind"], a["placement_id"]) for a in alerts] == [("abnormal_check", pb)]
    assert _api(world.app, "county2").get("/api/v1/quarantine/alerts").json() == []
    # the tablet cannot extend a period (quarantine.adjust) nor place people elsewhere
    period = tablet.post(f"/api/v1/quarantine/placements/{pa}/period",
                         json={"days": 2, "reason": "x"})  # fmt: skip
    assert period.status_code == 403


def test_release_refused_with_reason_then_tests_release_and_period(world: World) -> None:
    epi = _api(world.app, "epi", **{"accept-language": "en"})
    start = datetime.now(UTC) - timedelta(days=8)
    placed = epi.post("/api/v1/quarantine/placements",
                      json=_rows(world.a[:1], starts_at=start.isoformat())).json()  # fmt: skip
    (pid,) = (a["placement_id"] for a in placed["assignments"])
    detail = epi.get(f"/api/v1/quarantine/placements/{pid}").json()
    assert [s["day_number"] for s in detail["schedule"]] == [1, 2, 3, 5, 7]
    assert detail["release_refused"]["code"] == "quarantine.release_refused"
    refused = epi.post(f"/api/v1/quarantine/placements/{pid}/release")
    assert refused.status_code == 409
    assert refused.json()["code"] == "quarantine.release_refused"
    assert "negative test" in refused.json()["detail"]
    sampled = datetime.combine(dates_of(start, [7], SHANGHAI)[0], datetime.min.time(),
                               tzinfo=SHANGHAI).replace(hour=9)  # fmt: skip
    tested = epi.post(f"/api/v1/quarantine/placements/{pid}/tests",
                      json={"day_number": 7, "sampled_at": sampled.isoformat(),
                            "result": "negative"})  # fmt: skip
    assert tested.status_code == 200, tested.text
    assert tested.json()["release_refused"] is None
    assert tested.json()["schedule"][-1]["results"] == ["negative"]
    released = epi.post(f"/api/v1/quarantine/placements/{pid}/release")
    assert released.status_code == 200
    nxt = released.json()["next_placement_id"]
    assert released.json()["next_kind"] == "home_monitoring"
    # the home phase: shorten by a day with a reason; without one, 422 naming the field
    no_reason = epi.post(f"/api/v1/quarantine/placements/{nxt}/period", json={"days": -1})
    assert no_reason.status_code == 422
    before = get_placement(world.engine, nxt).planned_end
    assert before is not None
    changed = epi.post(f"/api/v1/quarantine/placements/{nxt}/period",
                       json={"days": -1, "reason": "复核后缩短"})  # fmt: skip
    assert changed.status_code == 200
    assert get_placement(world.engine, nxt).planned_end == before - timedelta(days=1)
    history = epi.get(f"/api/v1/quarantine/placements/{nxt}").json()["period_changes"]
    assert [h["reason"] for h in history] == ["复核后缩短"]
    # the other county: as if it did not exist
    assert _api(world.app, "county2").get(f"/api/v1/quarantine/placements/{nxt}").status_code == 404
    gone = epi.post(f"/api/v1/quarantine/placements/{nxt}/abscond", json={"note": "离开"})
    assert gone.status_code == 200
    kinds = [a["kind"] for a in epi.get("/api/v1/quarantine/alerts").json()]
    assert kinds == ["absconded"]


def test_readiness_per_county_against_the_norm(world: World) -> None:
    rows = _api(world.app, "epi").get("/api/v1/quarantine/readiness").json()
    assert [r["region_code"] for r in rows] == [COUNTY_A]
    (r,) = rows
    assert r["rooms"] == 6
    assert r["norm_rooms"] == pytest.approx(r["population"] * 20 / 10_000)
    assert r["meets_norm"] is (r["norm_rooms"] <= 6)
