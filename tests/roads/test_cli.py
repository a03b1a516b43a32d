"""`fangkong roads report|refresh|status` over a SQLite file, in process: a report by
options and a CSV file (all or none), the refresh raising an alert, the status table."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from fangkong import clock
from fangkong.cli import app
from fangkong.roads.tables import road_reports
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from tests.conftest import shell_env
from tests.roads.world import add_checkpoint, add_regions


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'fangkong.db'}")
    migrate.upgrade(engine)
    with engine.begin() as conn:
        add_regions(conn)
        add_checkpoint(conn, "CP1", name="晋阳收费站")
        add_checkpoint(conn, "CP2", "140201", name="清徐服务区")
    engine.dispose()
    for name, value in {**shell_env(home), "FANGKONG_LANG": "en", "COLUMNS": "250"}.items():
        monkeypatch.setenv(name, value)
    return home


def _run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["roads", *args])
    assert result.exit_code == code, result.output
    return result.output


def _reports(home: Path) -> int:
    engine = make_engine(f"sqlite:///{home / 'fangkong.db'}")
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(road_reports)).scalar_one()
    engine.dispose()
    return int(n)


def test_report_refresh_status(home: Path) -> None:
    assert "new" in _run("report", "--checkpoint", "CP1", "--ref", "a", "--waiting", "500",
                         "--lanes", "2")  # fmt: skip
    assert "already recorded" in _run("report", "--checkpoint", "CP1", "--ref", "a")
    refused = _run("report", "--checkpoint", "CP1", "--ref", "b", "--status", "shut", code=2)
    assert "open, restricted or closed" in refused
    now = clock.now().isoformat()
    good = home / "ok.csv"
    good.write_text(
        "checkpoint,ref,at,vehicles_waiting,wait_minutes,lanes_open,status,authority_level,"
        f"authority,reason\nCP2,f1,{now},0,,0,closed,,,本地疫情\n", encoding="utf-8")  # fmt: skip
    bad = home / "bad.csv"
    bad.write_text(good.read_text(encoding="utf-8") + f"CP2,f2,{now},many,,0,open,,,\n",
                   encoding="utf-8")  # fmt: skip
    assert "row 3, vehicles_waiting" in _run("report", "--file", str(bad), code=2)
    assert _reports(home) == 1  # nothing of the bad file
    assert "new: 1" in _run("report", "--file", str(good))
    refreshed = _run("refresh")
    assert "congested: 1" in refreshed
    assert "closed without authority: 1" in refreshed
    status = _run("status")
    assert "queue over the limit" in status
    assert "未经批准关闭" in status
    assert "CP2" not in _run("status", "--state", "congested")
