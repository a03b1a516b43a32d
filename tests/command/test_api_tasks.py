"""The command API's task routes over the test province: list by jurisdiction, one task
with history, assign below, status moves, problem+json errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from fangkong.auth.model import cli_actor
from fangkong.auth.users import add_user
from fangkong.command import tasks
from fangkong.command.rules import CommandRules
from fangkong.keys import ServerKeys
from fangkong.policy import load_pack
from fangkong.store.schema import regions
from tests.api.helpers import logged_in, make_app
from tests.command.conftest import T0
from tests.conftest import PASSWORD, TEST_SERVER_KEY

PROBLEM = "application/problem+json"


def township(engine: Engine, county: str) -> str:
    with engine.connect() as conn:
        return str(conn.execute(
            select(regions.c.code).where(regions.c.parent_code == county).order_by(regions.c.code)
        ).scalars().first())  # fmt: skip


def seed_tasks(engine: Engine) -> tuple[int, int]:
    """A task in a township of 140102 (epi's county) and one in 140121; a commander."""
    key = ServerKeys.from_master(TEST_SERVER_KEY).audit
    add_user(engine, key, cli_actor(), "cmdr", PASSWORD, "commander", "140100", "test")
    rules = CommandRules.from_pack(load_pack("protocol-9"))
    ids = []
    for county in ("140102", "140121"):
        view, _ = tasks.raise_task(
            engine, rules, kind="late_tubes", source_type="region_day",
            source_id=f"{county}/2026-12-01", region_code=township(engine, county), role="lab",
            params={"tubes": 2}, by="job:raise", at=T0,
        )  # fmt: skip
        ids.append(view.id)
    return ids[0], ids[1]


@pytest.fixture
def app(province: Engine, tmp_path: Path) -> FastAPI:
    return make_app(province, tmp_path)


def _csrf(c: Any) -> dict[str, str]:
    return {"X-CSRF-Token": c.get("/api/v1/session").json()["csrf_token"]}


def test_task_routes(app: FastAPI, province: Engine) -> None:
    mine, theirs = seed_tasks(province)
    epi = logged_in(app, "epi", **{"Accept-Language": "en"})
    listed = epi.get("/api/v1/command/tasks").json()
    assert (listed["total"], [t["id"] for t in listed["tasks"]]) == (1, [mine])
    assert listed["tasks"][0]["kind_label"] == "late tubes"
    assert listed["tasks"][0]["status_label"] == "open"
    one = epi.get(f"/api/v1/command/tasks/{mine}").json()
    assert [h["to_status"] for h in one["history"]] == ["open"]
    hidden = epi.get(f"/api/v1/command/tasks/{theirs}")
    assert (hidden.status_code, hidden.headers["content-type"]) == (404, PROBLEM)
    csrf = _csrf(epi)
    url = f"/api/v1/command/tasks/{mine}/status"
    r = epi.post(url, json={"status": "done"}, headers=csrf)
    assert (r.status_code, r.json()["code"]) == (400, "command.evidence_missing")
    r = epi.post(url, json={"status": "acknowledged"}, headers=csrf)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "acknowledged"
    r = epi.post(url, json={"status": "open"}, headers=csrf)
    assert (r.status_code, r.json()["code"]) == (409, "command.status_move")
    r = epi.post("/api/v1/command/tasks", json={"region_code": "140102", "title": "x"},
                 headers=csrf)  # fmt: skip
    assert (r.status_code, r.headers["content-type"]) == (403, PROBLEM)


def test_assign_route(app: FastAPI, province: Engine) -> None:
    seed_tasks(province)
    cmdr = logged_in(app, "cmdr")
    csrf = _csrf(cmdr)
    assert cmdr.get("/api/v1/command/tasks", params={"region": "140121"}).json()["total"] == 1
    r = cmdr.post("/api/v1/command/tasks", headers=csrf, json={
        "region_code": "140121", "title": "督导核酸", "detail": "今日完成"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert (r.json()["kind_label"], r.json()["title"]) == ("指挥部交办", "督导核酸")
    r = cmdr.post("/api/v1/command/tasks", headers=csrf,
                  json={"region_code": "140100", "title": "x"})  # fmt: skip
    assert (r.status_code, r.json()["code"]) == (400, "command.region_not_below")
    r = cmdr.post("/api/v1/command/tasks", headers=csrf,
                  json={"region_code": "140121", "title": "x", "extra": 1})  # fmt: skip
    assert r.status_code == 422
    r = cmdr.get("/api/v1/command/tasks", params={"limit": 0})
    assert r.status_code == 422
