"""`fangkong demo`, the main job, end to end on the embedded default (SQLite)."""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from typer.testing import CliRunner

from fangkong import clock
from fangkong.arrivals.tables import travellers
from fangkong.cli import app
from fangkong.command.tables import command_tasks
from fangkong.logistics.tables import crossing_people, crossings
from fangkong.passes.tables import freight_pass_drivers
from fangkong.policy import load_pack
from fangkong.store.engine import make_engine
from fangkong.store.schema import persons, regions, users
from fangkong.supply.tables import supply_outlets, supply_reports
from fangkong.tracing.cases import register_case
from fangkong.tracing.rules import ContactRules
from fangkong.tracing.tables import tracing_cases

runner = CliRunner()


def test_demo_builds_imports_simulates_and_prints_a_login(tmp_path: Path) -> None:
    env = {"FANGKONG_HOME": str(tmp_path), "COLUMNS": "250"}
    result = runner.invoke(app, ["demo", "--people", "3000", "--days", "6"], env=env)
    assert result.exit_code == 0, result.output
    assert "import persons  read   3,000  inserted   3,000" in result.output
    assert result.output.count(" day ") >= 6
    assert "averted share" in result.output
    assert "found under control" in result.output
    assert "codes 红 red" in result.output
    assert "login: admin / " in result.output
    assert "真值核对 truth: 感染司乘 infected people crossing" in result.output
    assert "保供 supply: 网点 outlets" in result.output
    assert "就医保障 care: 急需就医登记 needs registered" in result.output
    assert (tmp_path / "demo" / "run" / "checkins").is_dir()
    assert (tmp_path / "demo" / "run" / "truth").is_dir()

    report = json.loads((tmp_path / "demo" / "report.json").read_text("utf-8"))
    assert report["version"] == 1
    assert report["run"]["days"] == 6
    assert len(report["days"]) == 6
    assert report["cases"]["never_infected"] == 0
    assert report["cases"]["registered_twice"] == 0
    assert report["codes"]["none"] == 0
    cost = report["cost"]  # the cost side, from the same days as the score
    assert cost["red_person_days"] == sum(d["codes"]["red"] for d in report["days"])
    restricted = report["score"]["restricted_person_days"]
    assert cost["centralised_person_days"] == restricted["centralised"]
    assert cost["restricted_person_days"] == sum(restricted.values())
    assert cost["samples"] >= cost["tubes"] > 0
    with (tmp_path / "demo" / "cases.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == report["cases"]["confirmed"]
    assert (
        sum(r["found_under_control"] == "true" for r in rows)
        == (report["cases"]["found_under_control"])
    )
    assert all(0 <= int(r["confirmed_day"]) < 6 for r in rows)

    engine = make_engine(f"sqlite:///{tmp_path / 'fangkong.db'}")
    with engine.connect() as conn:
        # the registry's 3,000 and the freight drivers from other provinces the checkpoints
        # and the passes registered (matched by sealed document, created once each)
        ids = sorted(conn.execute(select(persons.c.id)).scalars())
        drivers = set(conn.execute(select(crossing_people.c.person_id)).scalars()) | set(
            conn.execute(select(freight_pass_drivers.c.person_id)).scalars()
        )
        assert len(ids) > 3000
        assert set(ids[3000:]) <= drivers
        assert (
            conn.execute(
                select(func.count()).select_from(regions).where(regions.c.level == "province")
            ).scalar_one()
            == 1
        )
        names = conn.execute(select(users.c.username).order_by(users.c.username)).scalars()
        assert names.all() == ["admin", "epi"]
        # the twin's travellers reached the arrivals loop (on registry persons: 3000 above)
        arrived = sum(int(n) for n in re.findall(r"登记 registered +(\d+)", result.output))
        assert arrived > 0
        assert conn.execute(select(func.count()).select_from(travellers)).scalar_one() >= arrived
        # the freight desks ran each day: every vehicle of the daily lines is stored
        vehicles = [int(n) for n in re.findall(r"卡口 checkpoints 车辆 vehicles +(\d+)",
                                                result.output)]  # fmt: skip
        assert len(vehicles) == 6
        assert sum(vehicles) > 0
        assert conn.execute(select(func.count()).select_from(crossings)).scalar_one() == sum(
            vehicles
        )
        assert conn.execute(select(func.count()).select_from(supply_outlets)).scalar_one() > 0
        assert conn.execute(select(func.count()).select_from(supply_reports)).scalar_one() > 0
        # the tasks by their final status, from the table, whoever closed them
        t = command_tasks.c
        statuses = dict(conn.execute(select(t.status, func.count()).group_by(t.status)).all())
        on_time = conn.execute(
            select(func.count()).where(t.status == "done", t.closed_at <= t.deadline_at)
        ).scalar_one()
    tasks = report["tasks"]["all"]
    assert tasks["done_on_time"] + tasks["done_late"] == statuses.get("done", 0)
    assert tasks["done_on_time"] == on_time
    assert tasks["open"] + tasks["open_overdue"] == sum(
        statuses.get(s, 0) for s in ("open", "acknowledged", "in_progress")
    )
    assert tasks["cancelled"] == statuses.get("cancelled", 0)
    total = sum(statuses.values())
    assert f"任务 tasks {total:,}: 按时完成 done on time {tasks['done_on_time']:,}," in (
        result.output
    )
    # the system clock stands on the last simulated midnight: the pages show that day
    replay = clock.replay(engine)
    assert replay is not None
    assert replay.at.astimezone(ZoneInfo("Asia/Shanghai")).date() == date(2022, 3, 24)
    engine.dispose()

    # the demo's own store is made anew on every run
    again = runner.invoke(app, ["demo", "--people", "3000", "--days", "0"], env=env)
    assert again.exit_code == 0, again.output
    assert "import persons  read   3,000  inserted   3,000" in again.output


def test_the_demo_refuses_a_database_that_holds_an_outbreak(tmp_path: Path) -> None:
    """Another database than the demo's own is never emptied: one with cases is refused
    (exit 2, zh/en), and nothing in it changes."""
    url = f"sqlite:///{tmp_path / 'other.db'}"
    env = {"FANGKONG_HOME": str(tmp_path / "home"), "FANGKONG_DATABASE_URL": url,
           "COLUMNS": "250"}  # fmt: skip
    first = runner.invoke(app, ["demo", "--people", "300", "--days", "0"], env=env)
    assert first.exit_code == 0, first.output
    engine = make_engine(url)
    with engine.connect() as conn:
        someone = conn.execute(select(persons.c.id).limit(1)).scalar_one()
    register_case(engine, someone, ContactRules.from_pack(load_pack("protocol-9")),
                  sampled=date(2022, 3, 18))  # fmt: skip
    again = runner.invoke(app, ["demo", "--people", "300", "--days", "2"], env=env)
    assert again.exit_code == 2, again.output
    assert "演示需要" in again.output
    assert "the demo needs a database without an outbreak" in again.output
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tracing_cases)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(persons)).scalar_one() == 300
    engine.dispose()
