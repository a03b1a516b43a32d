"""The passes API over the test province: issue (refusals named), read with the QR token,
list by jurisdiction, verify, revoke — rights, 404 outside the jurisdiction, audit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from fangkong import clock
from fangkong.auth.model import cli_actor
from fangkong.auth.users import add_user
from fangkong.keys import ServerKeys
from fangkong.store.schema import audit_log
from tests.api.helpers import logged_in, make_app
from tests.conftest import PASSWORD, TEST_SERVER_KEY

from .conftest import resident_id

PROBLEM = "application/problem+json"


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    key = ServerKeys.from_master(TEST_SERVER_KEY).audit
    add_user(province, key, cli_actor(), "cmdr", PASSWORD, "commander", "140102", "test")
    add_user(province, key, cli_actor(), "cmdr2", PASSWORD, "commander", "140121", "test")
    return make_app(province, tmp_path)


def _csrf(c: Any) -> dict[str, str]:
    return {"X-CSRF-Token": c.get("/api/v1/session").json()["csrf_token"]}


def _body(**kw: Any) -> dict[str, Any]:
    now = clock.now()
    body = {
        "plate": "晋A12345", "vehicle_kind": "lorry", "cargo_class": "medical",
        "carrier": "太原医药物流", "origin_region": "320100", "destination_region": "140102",
        "valid_from": now.isoformat(), "valid_until": (now + timedelta(days=5)).isoformat(),
        "region_code": "140102",
        "drivers": [{"id_number": resident_id("320102", 7), "name": "李四",
                     "tested_at": (now - timedelta(hours=10)).isoformat()}],
    }  # fmt: skip
    body.update(kw)
    return body


def test_pass_routes(app: FastAPI, province: Engine) -> None:
    cmdr = logged_in(app, "cmdr", **{"Accept-Language": "en"})
    csrf = _csrf(cmdr)
    refused = cmdr.post("/api/v1/passes", json=_body(cargo_class="ordinary"), headers=csrf)
    assert (refused.status_code, refused.headers["content-type"]) == (422, PROBLEM)
    assert refused.json()["code"] == "pass.refused"
    assert "cargo_class" in refused.text
    r = cmdr.post("/api/v1/passes", json=_body(), headers=csrf)
    assert r.status_code == 201, r.text
    made = r.json()
    serial = made["serial"]
    assert (made["status"], made["plate"], made["closed_loop"]) == ("valid", "晋A12345", False)
    assert made["drivers"][0]["name"] == "李*"  # a commander lacks person.read_full
    assert len(made["token"]) > 32
    # the national pass verifies anywhere on its route, whoever asks with pass.read
    epi = logged_in(app, "epi")
    driver = made["drivers"][0]["person_id"]
    check = {"shown": made["token"], "plate": "晋A12345", "driver_ids": [driver],
             "checkpoint_region": "140121"}  # fmt: skip
    got = epi.post("/api/v1/passes/verify", json=check, headers=_csrf(epi)).json()
    assert (got["verdict"], got["serial"]) == ("valid", serial)
    got = epi.post("/api/v1/passes/verify", json={**check, "plate": "晋B1"},
                   headers=_csrf(epi)).json()  # fmt: skip
    assert got["verdict"] == "wrong_vehicle"
    # another county's commander: absent; the list is the jurisdiction's
    cmdr2 = logged_in(app, "cmdr2")
    assert cmdr2.get(f"/api/v1/passes/{serial}").status_code == 404
    assert cmdr2.get("/api/v1/passes").json()["total"] == 0
    # issuing for a region outside one's jurisdiction answers as for a region that is not
    c2 = _csrf(cmdr2)
    outside = cmdr2.post("/api/v1/passes", json=_body(), headers=c2)
    absent = cmdr2.post("/api/v1/passes", json=_body(region_code="149999"), headers=c2)
    assert outside.status_code == absent.status_code == 422
    assert outside.json()["code"] == absent.json()["code"] == "pass.region_unknown"
    assert cmdr.get("/api/v1/passes?status=valid").json()["total"] == 1
    assert cmdr.get("/api/v1/passes?status=nonsense").status_code == 400
    # a viewer reads, never issues nor revokes
    viewer = logged_in(app, "viewer")
    assert viewer.get(f"/api/v1/passes/{serial}").status_code == 200
    r = viewer.post(f"/api/v1/passes/{serial}/revoke", json={"reason": "x"},
                    headers=_csrf(viewer))  # fmt: skip
    assert r.status_code == 403
    sampled = (clock.now() - timedelta(hours=1)).isoformat()
    renewal = {"valid_until": (clock.now() + timedelta(days=20)).isoformat(),
               "drivers": [{"person_id": driver, "tested_at": sampled}]}  # fmt: skip
    r = cmdr.post(f"/api/v1/passes/{serial}/renew", json=renewal, headers=csrf)
    assert (r.status_code, r.json()["revision"]) == (200, 2), r.text
    got = epi.post("/api/v1/passes/verify", json=check, headers=_csrf(epi)).json()
    assert got["verdict"] == "invalid"  # the old paper
    check["shown"] = r.json()["token"]
    r = cmdr.post(f"/api/v1/passes/{serial}/renew", json={**renewal, "drivers": []},
                  headers=csrf)  # fmt: skip
    assert r.status_code == 422
    r = cmdr.post(f"/api/v1/passes/{serial}/revoke", json={"reason": "司机阳性"}, headers=csrf)
    assert (r.status_code, r.json()["revoke_reason"]) == (200, "司机阳性")
    r = cmdr.post(f"/api/v1/passes/{serial}/revoke", json={"reason": "again"}, headers=csrf)
    assert (r.status_code, r.json()["code"]) == (409, "pass.already_revoked")
    got = epi.post("/api/v1/passes/verify", json=check, headers=_csrf(epi)).json()
    assert got["verdict"] == "revoked"
    with province.connect() as conn:
        actions = conn.execute(select(audit_log.c.action, audit_log.c.outcome)
                               .where(audit_log.c.action.like("pass.%"))).all()  # fmt: skip
    assert ("pass.issue", "ok") in actions
    assert ("pass.revoke", "forbidden") in actions
    assert ("pass.read", "out_of_jurisdiction") in actions
    assert ("pass.issue", "out_of_jurisdiction") in actions
