"""`fangkong command task ...` and `fangkong command escalate` over a SQLite file, in
process: list, show, assign, the status verbs, escalation at the system clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong import clock
from fangkong.cli import app
from fangkong.command import tasks
from fangkong.command.rules import CommandRules
from fangkong.policy import load_pack
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from tests.command.test_api_tasks import township
from tests.conftest import load_province, shell_env


@pytest.fixture
def home(tmp_path: Path, twin_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'fangkong.db'}")
    migrate.upgrade(engine)
    load_province(engine, twin_files)
    rules = CommandRules.from_pack(load_pack("protocol-9"))
    tasks.raise_task(
        engine, rules, kind="late_tubes", source_type="region_day",
        source_id="140102/2026-12-01", region_code=township(engine, "140102"), role="lab",
        params={"tubes": 2}, by="job:raise", at=clock.now() - timedelta(hours=7),
    )  # fmt: skip
    engine.dispose()
    for name, value in {**shell_env(home), "FANGKONG_LANG": "en", "COLUMNS": "250"}.items():
        monkeypatch.setenv(name, value)
    return home


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, ["command", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_task_verbs(home: Path) -> None:
    listed = _run("task", "list")
    assert "late tubes" in listed
    assert "missed" in listed  # 4 h deadline, raised 7 h ago
    assert "Tasks down the hierarchy" in CliRunner().invoke(app, ["command", "task"]).output
    assert "escalated: 1" in _run("escalate")  # 3 h past the deadline: one level up
    assert "escalated: 0" in _run("escalate")
    shown = _run("task", "show", "1")
    assert "140102" in shown
    assert "escalated to level 1" in shown
    assert "acknowledged" in _run("task", "ack", "1", "--note", "on it")
    assert "in progress" in _run("task", "start", "1")
    refused = CliRunner().invoke(app, ["command", "task", "ack", "1"])
    assert refused.exit_code == 2
    assert "done" in _run("task", "done", "1", "--evidence", "tubes re-run")
    assigned = _run("task", "assign", "140121", "--title", "督导核酸")
    assert "task 2 → 140121" in assigned
    assert "cancelled" in _run("task", "cancel", "2", "--note", "merged")
    assert "tasks: 1/1" in _run("task", "list", "--status", "cancelled")
