"""`fangkong riskarea …` and `fangkong forecast rooms` end to end on a SQLite home:
designate, list, suggest, lift (the daily job), history, needs; the forecast table, CSV
and PNG (a case series rising in one county runs its few rooms out)."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.policy.loader import load_pack
from fangkong.store.engine import make_engine
from fangkong.tracing.cases import register_case
from fangkong.tracing.rules import ContactRules
from tests.conftest import shell_env
from tests.riskareas.conftest import TZ, compounds, residents_of

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, twin_files: dict[str, Path]) -> tuple[dict[str, str], Engine]:
    env = shell_env(tmp_path)
    for args in (["db", "upgrade"], *(["import", k, str(twin_files[k])]
                                      for k in ("regions", "venues", "persons"))):  # fmt: skip
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, result.output
    return env, make_engine(f"sqlite:///{tmp_path}/fangkong.db")


def run(env: dict[str, str], *args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


def test_riskarea_commands(home: tuple[dict[str, str], Engine]) -> None:
    env, engine = home
    target = compounds(engine)[0]
    people = residents_of(engine, target)
    register_case(engine, people[0], ContactRules.from_pack(load_pack("protocol-9")),
                  sampled=date(2022, 3, 1), tz=TZ)  # fmt: skip
    assert "high" in run(env, "riskarea", "suggest", "--at", "2022-03-01T20:00+08:00")
    text = run(env, "riskarea", "designate", target, "--level", "high", "--reason", "病例居住",
               "--at", "2022-03-02T08:00+08:00")  # fmt: skip
    assert f"residents {len(people)}" in text
    assert "2022-03-09" in text  # expected lifting: 7 days after the designation
    assert target in run(env, "riskarea", "list")
    bad = run(env, "riskarea", "designate", target, "--level", "severe", "--reason", "x", code=2)
    assert "severe" in bad
    assert "lifted: 0" in run(env, "riskarea", "lift", "--at", "2022-03-08T08:00+08:00")
    text = run(env, "riskarea", "lift", "--at", "2022-03-09T08:00+08:00")
    assert "high → medium" in text
    history = run(env, "riskarea", "history")
    assert "job:lifting" in history
    assert "lifting.high" in history
    out = run(env, "riskarea", "needs", "add", "1", str(people[1]), "supplies", "--note", "米")
    need = out.split()[-1]
    assert "OVERDUE" not in run(env, "riskarea", "needs", "list")
    run(env, "riskarea", "needs", "set", need, "done")
    assert run(env, "riskarea", "needs", "set", need, "open", code=2)


def test_forecast_rooms(home: tuple[dict[str, str], Engine], tmp_path: Path) -> None:
    env, engine = home
    people = residents_of(engine, compounds(engine)[-1])  # the larger county's compound
    rules = ContactRules.from_pack(load_pack("protocol-9"))
    today = date(2022, 3, 20)
    k = 0
    for back in range(14, 0, -1):  # a rising series: 1, 1, 2, 2, ... cases a day
        for _ in range(1 + (14 - back) // 3):
            register_case(engine, people[k], rules, sampled=today - timedelta(days=back), tz=TZ)
            k += 1
    png, table = tmp_path / "rooms.png", tmp_path / "rooms.csv"
    at = ["--at", "2022-03-20T12:00+08:00", "--rt", "1.5", "--draws", "200"]
    # tracing found no contacts yet: no rooms are needed
    assert "0 [0–0]" in run(env, "forecast", "rooms", *at)
    text = run(env, "forecast", "rooms", *at, "--contacts", "8", "--png", str(png),
               "--output", str(table))  # fmt: skip
    assert "protocol-9" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with table.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len({r["region_code"] for r in rows}) == 2  # the two counties
    assert {r["day"] for r in rows} == {(today + timedelta(days=h)).isoformat()
                                        for h in range(1, 15)}  # fmt: skip
    # no quarantine rooms exist in this home: the county with cases runs out on day 1
    busy = [r for r in rows if float(r["cases_mean"]) > 0]
    assert busy
    assert all(float(r["capacity"]) == 0 for r in busy)
    assert "2022-03-21" in text
