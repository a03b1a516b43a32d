"""`fangkong token issue` binds a token to a venue or to a unit (--region [--role]), never
both; `token list` shows the unit's region and role."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from tests.api.codes import venue_of
from tests.conftest import load_province, shell_env

TOWNSHIP = "140102001000"


@pytest.fixture
def home(tmp_path: Path, twin_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> str:
    engine = make_engine(f"sqlite:///{tmp_path / 'fangkong.db'}")
    migrate.upgrade(engine)
    load_province(engine, twin_files)
    venue = venue_of(engine, "market")
    engine.dispose()
    for name, value in {**shell_env(tmp_path), "COLUMNS": "250"}.items():
        monkeypatch.setenv(name, value)
    return venue


def _token(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["token", *args])
    return result.exit_code, result.output


def test_issue_for_a_unit_or_a_venue(home: str) -> None:
    code, output = _token("issue", "--scope", "tasks", "--region", TOWNSHIP, "--role", "lab")
    assert code == 0, output
    assert "fkd_" in output
    for bad in (["--venue", home, "--region", TOWNSHIP], [], ["--venue", home, "--role", "lab"]):
        code, output = _token("issue", "--scope", "tasks", *bad)
        assert code == 2
        assert "token.binding" in output
        assert "单位值班终端" in output
    code, output = _token("issue", "--scope", "scan", "--region", TOWNSHIP)
    assert (code, "--venue" in output) == (2, True)  # a scanner is bound to a venue
    code, output = _token("issue", "--scope", "tasks", "--venue", home)
    assert (code, "--region" in output) == (2, True)
    code, output = _token("issue", "--scope", "tasks", "--region", "149999")
    assert (code, "149999" in output) == (2, True)
    assert _token("issue", "--scope", "scan", "--venue", home)[0] == 0
    code, listed = _token("list")
    assert code == 0, listed
    rows = [line.split("│") for line in listed.splitlines() if "active" in line]
    cells = [[cell.strip() for cell in row] for row in rows]
    assert [c[2:6] for c in cells] == [
        ["scan", home, "140102001001001", ""], ["tasks", "", TOWNSHIP, "lab"]]  # fmt: skip
