"""Accountability in every shell: the page (translated labels, gaps with owners, period
filter, CSV), the API (JSON, jurisdiction) and ``fangkong command accountability``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from fangkong.cli import app as cli_app
from fangkong.clock import now as utcnow
from fangkong.store.engine import make_engine
from fangkong.store.schema import audit_log
from tests.api.helpers import logged_in, make_app
from tests.command.world import World, h
from tests.conftest import shell_env

COUNTY1, COUNTY2 = "140102", "140121"  # users epi and county2


def _tasks(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        w = World(conn, ids=iter(range(9000, 9100)))  # type: ignore[arg-type]
        w.task(COUNTY1, now - h(3), role="quarantine_manager")  # open, 3 h overdue
        w.task(COUNTY2, now - h(5), "done", now - h(6))  # on time
        # a case in COUNTY1 whose investigation was stamped step by step: verified 1 h
        # after its report (on time), team on site after 4 h (late), core facts after 2 h
        # (on time), no report yet after 10 h (pending)
        w.case(w.person(COUNTY1), now - h(10), verified=now - h(9), on_site=now - h(6),
               core_facts=now - h(8))  # fmt: skip


@pytest.fixture
def served(province: Engine, tmp_path: Path) -> FastAPI:
    _tasks(province)
    return make_app(province, tmp_path)


def test_page_ranks_counties_with_labels_and_gaps(served: FastAPI, province: Engine) -> None:
    c = logged_in(served, "admin")
    page = c.get("/command/accountability?days=7")
    assert page.status_code == 200, page.text
    assert "阳性后2小时内网络直报" in page.text  # a measure's zh label
    row = page.text[page.text.index(f'id="county-{COUNTY1}"') :]
    cells = {key: row[row.index(f'class="measure-{key}"') :].split("</td>")[0]
             for key in ("case_verified", "on_site", "core_facts", "report")}  # fmt: skip
    assert ">1/1<" in cells["case_verified"]
    assert ">0/1<" in cells["on_site"]
    assert ">1/1<" in cells["core_facts"]
    assert ">0/0 (+1)<" in cells["report"]  # not due yet
    assert "2小时内到达现场" in page.text
    ranking = page.text[page.text.index('id="ranking"') : page.text.index('id="gaps"')]
    assert ranking.index(f"county-{COUNTY2}") < ranking.index(f"county-{COUNTY1}")
    gaps = page.text[page.text.index('id="gaps"') :]
    for text in ("指挥部交办", "隔离点管理员", COUNTY1):  # the kind, the role, the unit
        assert text in gaps
    c.get("/lang/en?next=/", follow_redirects=False)
    english = c.get("/command/accountability?days=7")
    assert "case reported ≤ 2 h after the positive" in english.text
    assert "investigation team on site ≤ 2 h" in english.text
    assert "not recorded" not in english.text
    download = c.get(f"/command/accountability.csv?days=7&region={COUNTY1}")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert rows[2][1] == COUNTY1
    with province.connect() as conn:
        action = audit_log.c.action == "command.accountability"
        n = conn.execute(select(func.count()).select_from(audit_log).where(action)).scalar_one()
    assert n == 3


def test_page_and_api_keep_to_the_jurisdiction(served: FastAPI) -> None:
    c = logged_in(served, "epi")
    assert c.get(f"/command/accountability?region={COUNTY2}").status_code == 404
    assert c.get("/command/accountability?days=0").status_code == 422
    body = c.get("/api/v1/command/accountability", headers={"accept": "application/json"}).json()
    assert [r["code"] for r in body["counties"]] == [COUNTY1]
    (county,) = body["counties"]
    assert county["tasks"]["open_overdue"] == 1
    assert county["rank"] == 1
    measures = {m["key"]: m for m in county["measures"]}
    assert (measures["on_site"]["late"], measures["on_site"]["events"]) == (1, 1)
    assert measures["case_verified"]["on_time"] == 1
    assert measures["report"]["pending"] == 1
    assert measures["report"]["label_zh"] == "24小时内完成流调报告"
    assert body["gaps"][0]["what_en"] == "set by a commander"
    assert body["gaps"][0]["role"] == "quarantine_manager"


def test_cli_writes_the_csv(tmp_path: Path, twin_files: dict[str, Path]) -> None:
    runner = CliRunner()
    env = shell_env(tmp_path)
    for args in (["db", "upgrade"], *(["import", k, str(twin_files[k])]
                                      for k in ("regions", "venues", "persons"))):  # fmt: skip
        result = runner.invoke(cli_app, args, env=env)
        assert result.exit_code == 0, result.output
    _tasks(make_engine(f"sqlite:///{tmp_path}/fangkong.db"))
    out = tmp_path / "acc.csv"
    result = runner.invoke(cli_app, ["command", "accountability", "--days", "3", "-o", str(out)],
                           env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[1][0] == "排名"
    assert [r[1] for r in rows[2:4]] == [COUNTY2, COUNTY1]
    shown = runner.invoke(cli_app, ["command", "accountability", "--region", COUNTY1], env=env)
    assert shown.exit_code == 0, shown.output
    assert "隔离点管理员" in shown.output
    assert "2小时内到达现场" in shown.output  # the measures of the region asked
    bad = runner.invoke(cli_app, ["command", "accountability", "--days", "500"], env=env)
    assert bad.exit_code != 0


def test_page_ranking_sorts_by_its_columns(served: FastAPI) -> None:
    """The ranking sorted by a column both ways (issue 19); the period filter kept."""
    c = logged_in(served, "admin")
    ranked = c.get("/command/accountability?days=7").text
    assert _counties(ranked) == [COUNTY2, COUNTY1]  # the better score first
    overdue = c.get("/command/accountability?days=7&sort=overdue&dir=desc")
    assert overdue.status_code == 200
    assert 'aria-sort="descending"' in overdue.text
    assert _counties(overdue.text) == [COUNTY1, COUNTY2]  # COUNTY1 owes an overdue task
    up = c.get("/command/accountability?days=7&sort=overdue&dir=asc").text
    assert _counties(up) == [COUNTY2, COUNTY1]
    assert 'name="sort" value="overdue"' in up  # the period form keeps the order
    link = up[up.index('data-sort="county"') :].split('href="', 1)[1].split('"', 1)[0]
    assert "days=7" in link
    bad = c.get("/command/accountability?days=7&sort=nonsense")
    assert bad.status_code == 422
    assert 'id="list-error"' in bad.text
    assert _counties(bad.text) == [COUNTY2, COUNTY1]  # the ranking still shows


def _counties(page: str) -> list[str]:
    ranking = page[page.index('id="ranking"') : page.index('id="gaps"')]
    return sorted((COUNTY1, COUNTY2), key=lambda c: ranking.index(f'id="county-{c}"'))
