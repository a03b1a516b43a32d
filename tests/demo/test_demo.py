"""`fangkong demo`, the main job, end to end on the embedded default (SQLite)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from fangkong.arrivals.tables import travellers
from fangkong.cli import app
from fangkong.store.engine import make_engine
from fangkong.store.schema import persons, regions, users

runner = CliRunner()


def test_demo_builds_imports_simulates_and_prints_a_login(tmp_path: Path) -> None:
    env = {"FANGKONG_HOME": str(tmp_path), "COLUMNS": "250"}
    result = runner.invoke(app, ["demo", "--people", "3000", "--days", "6"], env=env)
    assert result.exit_code == 0, result.output
    assert "import persons  read   3,000  inserted   3,000" in result.output
    assert result.output.count(" day ") >= 6
    assert "averted share" in result.output
    assert "codes 红 red" in result.output
    assert "login: admin / " in result.output
    assert (tmp_path / "demo" / "run" / "checkins").is_dir()
    assert (tmp_path / "demo" / "run" / "truth").is_dir()

    engine = make_engine(f"sqlite:///{tmp_path / 'fangkong.db'}")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(persons)).scalar_one() == 3000
        assert (
            conn.execute(
                select(func.count()).select_from(regions).where(regions.c.level == "province")
            ).scalar_one()
            == 1
        )
        names = conn.execute(select(users.c.username).order_by(users.c.username)).scalars()
        assert names.all() == ["admin", "epi"]
        # the twin's travellers reached the arrivals loop (on registry persons: 3000 above)
        arrived = sum(int(n) for n in re.findall(r"入境 arrivals +(\d+)", result.output))
        assert arrived > 0
        assert conn.execute(select(func.count()).select_from(travellers)).scalar_one() == arrived
    engine.dispose()

    again = runner.invoke(app, ["demo", "--people", "3000", "--days", "0"], env=env)
    assert again.exit_code == 0, again.output
    assert "inserted       0  updated      0  unchanged   3,000" in again.output
