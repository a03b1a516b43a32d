"""`fangkong alerts ...` as a user runs it: a real process over a SQLite file — ingest a
file, detect, list, show (with the alert's task), transition, escalate (the alias of
`fangkong command escalate`), board, series export."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from fangkong import clock
from fangkong.command.rules import CommandRules
from fangkong.command.tasks import raise_task
from fangkong.policy import load_pack
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from tests.conftest import load_province, shell_env

COMPOUND_B = "140121100200001"


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fangkong", *args], env=env, text=True,
                          capture_output=True, timeout=120, check=False)  # fmt: skip


@pytest.fixture
def env(tmp_path: Path, twin_files: dict[str, Path]) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'fangkong.db'}")
    migrate.upgrade(engine)
    load_province(engine, twin_files)
    engine.dispose()
    return {**os.environ, **shell_env(home), "FANGKONG_LANG": "en", "COLUMNS": "250"}


def _overdue_task(env: dict[str, str], *, alert_id: int, hours: int) -> None:
    """The alert's task as the raising job makes it, its deadline ``hours`` ago."""
    engine = make_engine(f"sqlite:///{Path(env['FANGKONG_HOME']) / 'fangkong.db'}")
    try:
        rules = CommandRules.from_pack(load_pack("protocol-9"))
        raise_task(engine, rules, kind="alert", source_type="alert", source_id=str(alert_id),
                   region_code=COMPOUND_B, role="epidemiologist", params={},
                   deadline_at=clock.now() - timedelta(hours=hours), by="job:raise",
                   at=clock.now() - timedelta(hours=hours + 2))  # fmt: skip
    finally:
        engine.dispose()


def test_alerts_commands(env: dict[str, str], tmp_path: Path) -> None:
    day = date(2026, 11, 20)
    f = tmp_path / "signals.csv"
    f.write_text(
        "source,signal,region_code,date,count\n"
        f"LAB-1,positive_outside_quarantine,{COMPOUND_B},{day},1\n"
        f"FC-1,fever_clinic,{COMPOUND_B},{day - timedelta(days=1)},2\n",
        encoding="utf-8",
    )
    r = _run(env, "alerts", "ingest", str(f))
    assert r.returncode == 0, r.stderr
    assert "inserted 2" in r.stdout
    r = _run(env, "alerts", "detect", "--from", str(day - timedelta(days=1)), "--day", str(day))
    assert r.returncode == 0, r.stderr
    assert "raised 1" in r.stdout
    r = _run(env, "alerts", "list", "--status", "open")
    assert "positive_outside_quarantine" in r.stdout
    r = _run(env, "alerts", "show", "1")
    assert r.returncode == 0, r.stderr
    assert "min_count" in r.stdout
    assert "not raised yet" in r.stdout  # no task until the command centre raises it
    r = _run(env, "alerts", "escalate")  # the alias: nothing overdue yet
    assert r.returncode == 0, r.stderr
    assert "escalated: 0" in r.stdout
    _overdue_task(env, alert_id=1, hours=5)  # its task, 5 h past its deadline
    r = _run(env, "alerts", "escalate")
    assert "escalated: 1" in r.stdout, r.stdout
    assert "escalated: 0" in _run(env, "alerts", "escalate").stdout
    r = _run(env, "alerts", "show", "1")
    assert "escalation level 1" in r.stdout
    assert "140121100200 · 上报层级" in r.stdout  # owed now by the compound's community
    assert "(level 1)" in _run(env, "alerts", "list").stdout
    r = _run(env, "alerts", "transition", "1", "closed", "--note", "x")
    assert r.returncode == 2  # raised cannot be closed
    r = _run(env, "alerts", "transition", "1", "verified", "--note", "lab confirmed")
    assert r.returncode == 0, r.stderr
    assert "raised → verified" in r.stdout
    r = _run(env, "alerts", "board")
    assert r.returncode == 0, r.stderr
    assert "1/1 (100%)" in r.stdout
    out = tmp_path / "series.csv"
    r = _run(env, "alerts", "series", "--from", str(day - timedelta(days=1)), "--to", str(day),
             "--level", "county", "--signal", "fever_clinic", "-o", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert lines[0].replace('"', "") == "level,region_code,signal,period,count,population"
    assert len(lines) == 2
    assert '"140121"' in lines[1] or ",140121," in lines[1]
    bad = tmp_path / "bad.csv"
    bad.write_text("source,signal,region_code,date,count\nX,rumour,140121,2026-11-20,1\n")
    r = _run(env, "alerts", "ingest", str(bad))
    assert r.returncode == 2
    assert "rumour" in r.stdout + r.stderr
