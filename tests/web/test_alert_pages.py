"""Alert pages and the signals endpoint over real HTTP (TestClient), both backends: the
list with filters, the detail with its series and threshold (Vega-Lite spec), lifecycle
buttons behind CSRF and rights, another county's alert answered as absent (and audited
as such), the four-earlies board, an alert's escalation read from its command task,
device tokens sending counts idempotently."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from fangkong.alerts.detection import run_detection
from fangkong.alerts.rules import AlertRules, Detector
from fangkong.alerts.signals import record_signals
from fangkong.alerts.tables import alerts
from fangkong.clock import now as utcnow
from fangkong.command.rules import CommandRules
from fangkong.command.tasks import escalate_overdue, raise_task
from fangkong.policy import load_pack
from fangkong.store.schema import audit_log, regions
from tests.api.codes import device_token, venue_of
from tests.api.helpers import client, csrf_of, logged_in, make_app
from tests.web.labels_check import raw_in
from tests.web.listing_check import check_list, small_pages  # noqa: F401 (a fixture)

COMPOUND_A = "140102001001001"  # county 140102 (user "epi", "viewer")
COMPOUND_B = "140121100200001"  # county 140121 (user "county2")


@dataclass(frozen=True)
class World:
    app: FastAPI
    engine: Engine
    a: int  # a detection alert in 140102
    b: int  # a trigger alert in 140121


def _send(engine: Engine, signal: str, region: str, first: date, counts: list[int]) -> None:
    rows = [{"signal": signal, "region_code": region, "date": first + timedelta(days=i),
             "count": n} for i, n in enumerate(counts)]  # fmt: skip
    record_signals(engine, rows, source="test")


@pytest.fixture
def world(province: Engine, tmp_path: Path) -> World:
    import dataclasses

    app = make_app(province, tmp_path)
    shipped = AlertRules.shipped("protocol-9")
    det = Detector("fever_test", ("fever_clinic",), "ears-c2", "community", "day",
                   {"alpha": 0.01, "baseline": 7, "min_sigma": 0.5}, "medium", 3, "发热测试",
                   "fever test")  # fmt: skip
    rules = dataclasses.replace(
        shipped, triggers={"positive_outside_quarantine":
                           shipped.triggers["positive_outside_quarantine"]},
        detectors={det.id: det},
    )  # fmt: skip
    today = utcnow().date()
    first = today - timedelta(days=20)
    _send(province, "fever_clinic", COMPOUND_A, first, [1, 0, 2, 1, 0, 1, 1, 0, 2, 1] * 2 + [9])
    _send(province, "positive_outside_quarantine", COMPOUND_B, today, [1])
    run_detection(province, rules, today, utcnow())
    with province.connect() as conn:
        ids = dict(conn.execute(select(alerts.c.rule, alerts.c.id)).all())
    return World(app, province, ids["fever_test"], ids["positive_outside_quarantine"])


def _audit(engine: Engine, action: str) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.actor, audit_log.c.outcome, audit_log.c.target_id)
                            .where(audit_log.c.action == action)
                            .order_by(audit_log.c.seq)).all()  # fmt: skip
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_list_filters_and_jurisdiction(world: World) -> None:
    epi = logged_in(world.app, "epi")
    html = epi.get("/alerts").text
    assert f'id="alert-{world.a}"' in html
    assert f'id="alert-{world.b}"' not in html  # another county's
    assert 'href="/alerts"' in html  # the nav link
    assert 'class="region" href="/alerts?region=' in html  # a region is a link (issue 19)
    county2 = logged_in(world.app, "county2").get("/alerts").text
    assert f'id="alert-{world.b}"' in county2
    assert f'id="alert-{world.a}"' not in county2
    admin = logged_in(world.app, "admin").get("/alerts", params={"kind": "trigger"}).text
    assert f'id="alert-{world.b}"' in admin
    assert f'id="alert-{world.a}"' not in admin
    closed = epi.get("/alerts", params={"status": "closed"}).text
    assert 'id="no-alerts"' in closed
    bad = epi.get("/alerts", params={"severity": "apocalyptic"})
    assert bad.status_code == 422
    assert "apocalyptic" in bad.text


def test_detail_shows_series_and_threshold(world: World) -> None:
    epi = logged_in(world.app, "epi")
    html = epi.get(f"/alerts/{world.a}").text
    found = re.search(r'<script type="application/json" id="series-spec">(.*?)</script>', html,
                      re.S)  # fmt: skip
    assert found
    spec = json.loads(found.group(1))
    values = spec["data"]["values"]
    assert values[-1]["count"] == 9
    assert values[-1]["alarm"] is True
    assert values[-1]["threshold"] is not None
    assert values[-1]["threshold"] < 9
    with world.engine.connect() as conn:
        stored = conn.execute(select(alerts.c.threshold).where(alerts.c.id == world.a)).scalar()
    assert values[-1]["threshold"] == pytest.approx(stored)
    assert "EARS C2" in html  # the method by name
    assert raw_in(html) == []
    for lang in ("en", "zh"):
        epi.get(f"/lang/{lang}")
        for path in (f"/alerts/{world.a}", "/alerts"):
            assert raw_in(epi.get(path).text) == [], (lang, path)
    assert 'id="to-verified"' in html
    assert 'id="to-dismissed"' in html
    assert epi.get(f"/alerts/{world.b}").status_code == 404  # another county: as absent
    assert epi.get("/alerts/999999").status_code == 404
    outcomes = [o for _, o, t in _audit(world.engine, "alerts.show") if t == str(world.b)]
    assert outcomes == ["out_of_jurisdiction"]
    viewer = logged_in(world.app, "viewer").get(f"/alerts/{world.a}").text
    assert 'id="lifecycle"' not in viewer  # no alert.handle: no buttons


def test_lifecycle_with_csrf(world: World) -> None:
    epi = logged_in(world.app, "epi")
    page = epi.get(f"/alerts/{world.a}").text
    forged = epi.post(f"/alerts/{world.a}/status", data={"status": "verified", "note": "x",
                                                          "csrf_token": "forged"})  # fmt: skip
    assert forged.status_code == 403
    empty = epi.post(f"/alerts/{world.a}/status",
                     data={"status": "verified", "note": " ",
                           "csrf_token": csrf_of(page)})  # fmt: skip
    assert empty.status_code == 422
    assert 'id="lifecycle-note-error"' in empty.text  # next to the note
    ok = epi.post(f"/alerts/{world.a}/status", follow_redirects=False,
                  data={"status": "verified", "note": "called the clinic",
                        "csrf_token": csrf_of(page)})  # fmt: skip
    assert ok.status_code == 303
    html = epi.get(ok.headers["location"]).text
    assert 'id="changed"' in html
    assert "called the clinic" in html
    wrong = epi.post(f"/alerts/{world.a}/status",
                     data={"status": "closed", "note": "n",
                           "csrf_token": csrf_of(html)})  # fmt: skip
    assert wrong.status_code == 409
    viewer = logged_in(world.app, "viewer")
    vpage = viewer.get(f"/alerts/{world.a}").text
    denied = viewer.post(f"/alerts/{world.a}/status",
                         data={"status": "investigated", "note": "n",
                               "csrf_token": csrf_of(vpage)})  # fmt: skip
    assert denied.status_code == 403
    with world.engine.connect() as conn:
        assert conn.execute(select(alerts.c.status).where(alerts.c.id == world.a)).scalar() == (
            "verified"
        )
    # the empty note is refused by the form, before the service (no audit row)
    assert [o for _, o, _ in _audit(world.engine, "alerts.transition")] == [
        "ok", "alerts.transition_re", "forbidden"]  # fmt: skip


def test_board(world: World) -> None:
    html = logged_in(world.app, "epi").get("/alerts/board").text
    row = re.search(r'<tr id="area-140102001000">(.*?)</tr>', html, re.S)  # the township
    assert row
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells[:2] == ["1", "1"]  # one alert, open
    admin = logged_in(world.app, "admin").get("/alerts/board").text
    total = re.search(r'<tr id="area-140000" class="total">(.*?)</tr>', admin, re.S)
    assert total
    assert re.findall(r"<td[^>]*>(.*?)</td>", total.group(1))[0] == "2"


def test_escalation_is_the_alerts_task(world: World) -> None:
    """The pages never escalate: they show the alert's command task — who owes it now,
    its level, its deadline — and the filter and the board's count read the task."""
    epi = logged_in(world.app, "epi")
    html = epi.get(f"/alerts/{world.a}").text
    assert 'id="task-none"' in html  # the command centre has not raised it yet
    assert 'id="escalated"' not in html
    with world.engine.connect() as conn:
        region = conn.execute(select(alerts.c.region_code).where(alerts.c.id == world.a)).scalar()
        parent = conn.execute(
            select(regions.c.parent_code).where(regions.c.code == region)
        ).scalar()
    cmd = CommandRules.from_pack(load_pack("protocol-9"))
    task, _ = raise_task(world.engine, cmd, kind="alert", source_type="alert",
                         source_id=str(world.a), region_code=str(region), role="epidemiologist",
                         params={}, deadline_at=utcnow() - timedelta(hours=5), by="job:raise",
                         at=utcnow() - timedelta(hours=7))  # fmt: skip
    html = epi.get(f"/alerts/{world.a}").text
    owner = re.search(r'id="task-owner">(.*?)</dd>', html)
    assert owner  # owed by the alert's region (its name linked to its page), not escalated
    assert f'href="/regions/{region}"' in owner.group(1)
    assert 'id="escalated"' not in html
    assert 'id="task-level">0<' in html
    assert 'id="alerts"' in epi.get("/alerts", params={"escalated": "true"}).text
    assert f'id="alert-{world.a}"' not in epi.get("/alerts", params={"escalated": "true"}).text
    moved = escalate_overdue(world.engine, cmd, at=utcnow())
    assert [(m.task_id, m.to_region) for m in moved] == [(task.id, parent)]
    html = epi.get(f"/alerts/{world.a}").text
    assert 'id="escalated"' in html
    owner = re.search(r'id="task-owner">(.*?)</dd>', html)
    assert owner
    assert f'href="/regions/{parent}"' in owner.group(1)
    assert 'id="task-level">1<' in html
    assert f'href="/command/tasks/{task.id}"' in html  # epi holds task.read
    listed = epi.get("/alerts", params={"escalated": "true"}).text
    assert f'id="alert-{world.a}"' in listed
    assert "(1)</td>" in listed
    board = epi.get("/alerts/board").text
    row = re.search(r'<tr id="area-140102001000">(.*?)</tr>', board, re.S)
    assert row
    assert re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))[3] == "1"  # escalated
    with world.engine.connect() as conn:  # the alert's own columns stay as they were
        stored = conn.execute(select(alerts.c.escalations, alerts.c.escalated_to)
                              .where(alerts.c.id == world.a)).one()  # fmt: skip
    assert tuple(stored) == (0, None)


def test_signals_endpoint(world: World) -> None:
    pharmacy = venue_of(world.engine, "pharmacy")
    token = device_token(world.engine, pharmacy, scope="signals")
    dev = client(world.app, authorization=f"Bearer {token}")
    body = {"signals": [{"signal": "pharmacy_cold", "date": "2026-11-02", "count": 4,
                         "event_id": "p-1"}]}  # fmt: skip
    first = dev.post("/api/v1/signals", json=body)
    assert first.status_code == 200, first.text
    assert first.json() == {"rows": 1, "inserted": 1, "updated": 0, "unchanged": 0}
    assert dev.post("/api/v1/signals", json=body).json()["unchanged"] == 1
    far = {"signals": [{**body["signals"][0], "region_code": COMPOUND_B}]}  # type: ignore[dict-item]
    refused = dev.post("/api/v1/signals", json=far)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "signals[0].region_code"
    bad = dev.post("/api/v1/signals", json={"signals": [{"signal": "gossip", "date": "x",
                                                         "count": 1}]})  # fmt: skip
    assert bad.status_code == 422
    scanner = client(world.app, authorization=f"Bearer {device_token(world.engine, pharmacy)}")
    assert scanner.post("/api/v1/signals", json=body).status_code == 403


def test_status_note_with_a_control_character_is_refused_on_the_page(world: World) -> None:
    epi = logged_in(world.app, "epi")
    page = epi.get(f"/alerts/{world.a}").text
    got = epi.post(f"/alerts/{world.a}/status", follow_redirects=False,
                   data={"status": "verified", "note": "已\x00核实",
                         "csrf_token": csrf_of(page)})  # fmt: skip
    assert got.status_code == 422
    assert re.search('id="lifecycle-note-error"[^>]*>不能含控制字符', got.text)  # issue 16
    with world.engine.connect() as conn:
        status = conn.execute(select(alerts.c.status).where(alerts.c.id == world.a)).scalar_one()
    assert status != "verified"


@pytest.mark.usefixtures("small_pages")
def test_alert_list_sorts_and_pages(world: World) -> None:
    """More trigger alerts, in several compounds: sorted by region both ways, walked in
    pages of 2, the kind filter kept on every link (issue 19)."""
    with world.engine.connect() as conn:
        codes = conn.execute(select(regions.c.code).where(regions.c.level == "compound")
                             .order_by(regions.c.code).limit(4)).scalars().all()  # fmt: skip
    rules = AlertRules.shipped("protocol-9")
    for code in codes:
        _send(world.engine, "positive_outside_quarantine", code, utcnow().date(), [1])
    run_detection(world.engine, rules, utcnow().date(), utcnow())
    admin = logged_in(world.app, "admin")
    seen = check_list(admin, "/alerts?kind=trigger", "alerts", "alert-", "region",
                      keep="kind=trigger")  # fmt: skip
    assert f"alert-{world.a}" not in seen  # the filter held on every page
    check_list(admin, "/alerts", "alerts", "alert-", "id")
