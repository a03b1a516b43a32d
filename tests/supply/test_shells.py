"""The supply desk's pages, the device API and the commands over a real app on both
backends: rights, jurisdiction (another county's delivery answers as absent), the form
drawn again with its error, a device reporting for its own outlet only, the report file
refused whole naming file, row and column."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from fangkong.auth.devices import issue_device_token
from fangkong.auth.model import cli_actor
from fangkong.auth.users import add_user
from fangkong.cli import app as cli_app
from fangkong.keys import ServerKeys
from fangkong.store.schema import audit_log
from fangkong.supply.service import ReportIn, plan_deliveries, record_report
from fangkong.supply.tables import supply_deliveries, supply_reports
from tests.api.helpers import client, csrf_of, logged_in, make_app
from tests.conftest import PASSWORD, TEST_SERVER_KEY, shell_env
from tests.supply.world import K1, K2, NOW, PROVINCE, TODAY, build, policy, seal

CLOCK = "2022-04-10T10:00+08:00"  # NOW, as the app's fixed clock
USERS = {"chief": ("commander", PROVINCE), "k2chief": ("commander", K2),
         "viewer": ("viewer", K1)}  # fmt: skip


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> tuple[FastAPI, Engine]:
    build(engine)
    seal(engine)
    key = ServerKeys.from_master(TEST_SERVER_KEY).audit
    for name, (role, region) in USERS.items():
        add_user(engine, key, cli_actor(), name, PASSWORD, role, region, "test")
    pol = policy()
    week = [ReportIn("M1", TODAY - timedelta(days=d), "vegetables", 40, 20) for d in range(7)]
    record_report(engine, pol, week, by="t", via="api", at=NOW)  # K1 below the floor
    with engine.begin() as conn:
        plan_deliveries(conn, NOW, pol)
    return make_app(engine, tmp_path, FANGKONG_CLOCK=CLOCK), engine


def _count(engine: Engine, table: object, *where: object) -> int:
    with engine.connect() as conn:
        q = select(func.count()).select_from(table)  # type: ignore[arg-type]
        return int(conn.execute(q.where(*where)).scalar_one())  # type: ignore[arg-type]


def test_the_desk_marks_the_floor_and_lists_deliveries(world: tuple[FastAPI, Engine]) -> None:
    app, engine = world
    c = logged_in(app, "chief")
    page = c.get("/supply")
    assert page.status_code == 200, page.text
    assert "保供台" in page.text
    assert 'href="/supply"' in page.text
    assert 'class="days below-floor" data-good="vegetables"' in page.text
    assert "库存低于保供底线" in page.text  # the open alert's cause, labelled
    assert page.text.count('class="delivery status-planned"') == 7  # seven goods, one area
    drill = c.get(f"/supply?region={K1}")
    assert drill.status_code == 200
    assert 'id="days-140105001"' in drill.text  # K1's townships
    assert c.get("/supply/outlets").text.count('class="outlet"') == 3
    assert _count(engine, audit_log, audit_log.c.action == "supply.read") == 2


def test_the_report_form_and_its_refusal(world: tuple[FastAPI, Engine]) -> None:
    app, _engine = world
    c = logged_in(app, "chief")
    csrf = csrf_of(c.get("/supply").text)
    form = {"csrf_token": csrf, "outlet_code": "M1", "good": "vegetables",
            "date": TODAY.isoformat(), "stock": "-5", "sales": "20"}  # fmt: skip
    bad = c.post("/supply/reports", data=form)
    assert bad.status_code == 422
    assert 'data-field="stock"' in bad.text
    assert 'value="-5"' in bad.text
    unknown = c.post("/supply/reports", data={**form, "stock": "500", "outlet_code": "NOPE"})
    assert unknown.status_code == 422
    assert 'data-field="outlet_code"' in unknown.text
    ok = c.post("/supply/reports", data={**form, "stock": "500"}, follow_redirects=False)
    assert ok.status_code == 303
    after = c.get("/supply").text
    assert 'class="days below-floor" data-good="vegetables"' not in after  # restocked
    assert "暂无低于底线的物资" in after


def test_confirm_inside_the_jurisdiction_only(world: tuple[FastAPI, Engine]) -> None:
    app, engine = world
    with engine.connect() as conn:
        first = conn.execute(select(func.min(supply_deliveries.c.id))).scalar_one()
    other = logged_in(app, "k2chief")
    csrf = csrf_of(other.get("/supply").text)
    refused = other.post(f"/supply/deliveries/{first}/confirm", data={"csrf_token": csrf})
    assert refused.status_code == 404
    assert _count(engine, supply_deliveries, supply_deliveries.c.status == "delivered") == 0
    c = logged_in(app, "chief")
    csrf = csrf_of(c.get("/supply").text)
    done = c.post(f"/supply/deliveries/{first}/confirm", data={"csrf_token": csrf,
                  "quantity": "60"}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert _count(engine, supply_deliveries, supply_deliveries.c.status == "delivered") == 1
    viewer = logged_in(app, "viewer")
    assert viewer.get("/supply").status_code == 200
    assert 'class="confirm"' not in viewer.get("/supply").text
    assert 'id="report"' not in viewer.get("/supply").text


def test_a_device_reports_for_its_own_outlet(world: tuple[FastAPI, Engine]) -> None:
    app, engine = world
    key = ServerKeys.from_master(TEST_SERVER_KEY).audit
    token, _ = issue_device_token(engine, key, cli_actor(), "supply", "V-MKT-1", 30, "test")
    c = client(app, Authorization=f"Bearer {token}")
    body = {"reports": [{"date": TODAY.isoformat(), "good": "grain", "stock": 900,
                         "sales": 30}]}  # fmt: skip
    r = c.post("/api/v1/supply/reports", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 1
    again = c.post("/api/v1/supply/reports", json=body)
    assert again.json()["unchanged"] == 1
    row = {**body["reports"][0], "outlet_code": "S1"}
    other = c.post("/api/v1/supply/reports", json={"reports": [row]})
    assert other.status_code == 422
    assert "reports[0].outlet_code" in other.text
    days = c.get("/api/v1/supply/days")
    assert days.status_code == 403  # a device reports, it does not read the desk
    assert _count(engine, supply_reports, supply_reports.c.good == "grain") == 1


def test_the_commands_and_the_file(world: tuple[FastAPI, Engine], tmp_path: Path,
                                   engine: Engine, backend: str) -> None:  # fmt: skip
    if backend != "sqlite":
        pytest.skip("the commands run on the SQLite home")
    env = {**shell_env(tmp_path), "FANGKONG_DATABASE_URL": str(engine.url),
           "FANGKONG_CLOCK": CLOCK}  # fmt: skip
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(cli_app, list(args), env=env)
        assert result.exit_code == code, result.output
        return result.output

    assert "2.0 *" in run("supply", "days")  # K1's vegetables: 2 days, below the floor
    bad = tmp_path / "reports.csv"
    bad.write_text("outlet_code,date,good,stock,sales\nM1,2022-04-10,grain,100,5\n"
                   "S1,2022-04-10,caviar,10,1\n", encoding="utf-8")  # fmt: skip
    out = run("supply", "import", str(bad), code=2)
    assert "reports.csv" in out
    assert "第 2 行 good 列" in out  # data rows count from 1, as every import names them
    assert _count(engine, supply_reports, supply_reports.c.good == "grain") == 0  # none
    good = tmp_path / "good.csv"
    good.write_text("outlet_code,date,good,stock,sales\nM1,2022-04-10,grain,100,5\n",
                    encoding="utf-8")  # fmt: skip
    assert "inserted 1" in run("supply", "import", str(good))
    assert "planned" in run("supply", "deliveries", "plan")
    run("supply", "outlet", "add", "P9", "药房", "--kind", "pharmacy", "--region", K2)
    assert "P9" in run("supply", "outlet", "list")
