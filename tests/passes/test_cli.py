"""`fangkong passes issue|show|list|revoke` over a SQLite file, in process; the QR file;
bad input exits 2 naming the field."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fangkong import clock
from fangkong.cli import app
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from tests.conftest import load_province, shell_env

from .conftest import resident_id


@pytest.fixture
def home(tmp_path: Path, twin_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'fangkong.db'}")
    migrate.upgrade(engine)
    load_province(engine, twin_files)
    engine.dispose()
    for name, value in {**shell_env(home), "FANGKONG_LANG": "en", "COLUMNS": "250"}.items():
        monkeypatch.setenv(name, value)
    return home


def _run(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["passes", *args])
    assert result.exit_code == code, result.output
    return result.output


def test_issue_show_list_revoke(home: Path, tmp_path: Path) -> None:
    now = clock.now()
    tested = (now - timedelta(hours=5)).isoformat()
    common = ["--plate", "晋A12345", "--kind", "lorry", "--origin", "320100",
              "--destination", "140102", "--from", now.isoformat(),
              "--until", (now + timedelta(days=3)).isoformat(), "--region", "140102",
              "--driver", f"{resident_id('320102', 3)},王五,{tested}"]  # fmt: skip
    refused = _run("issue", *common, "--cargo", "ordinary", code=2)
    assert "cargo_class: pass.not_key_cargo" in refused
    qr = tmp_path / "pass.svg"
    issued = _run("issue", *common, "--cargo", "key_supplies", "--via", "130100", "--qr", str(qr))
    serial = issued.split()[3]
    assert "route: 320100 → 130100 → 140102" in issued
    assert qr.read_text().startswith("<?xml") or "<svg" in qr.read_text()
    assert serial in _run("list", "--status", "valid")
    assert "王五" in _run("show", serial)
    person = re.search(r"driver (\d+) ", _run("show", serial))
    assert person
    until = (now + timedelta(days=10)).isoformat()
    renewed = _run("renew", serial, "--until", until, "--tested", f"{person.group(1)}={tested}")
    assert "(rev 2)" in renewed
    assert "pass.tested_option" in _run("renew", serial, "--until", until, "--tested", "x",
                                        code=2)  # fmt: skip
    assert "revoked" in _run("revoke", serial, "--reason", "driver tested positive")
    assert _run("list", "--status", "valid").strip().endswith("# 0")
    bad = _run("issue", *common[:-2], "--driver", "only-two,cells", "--cargo", "medical", code=2)
    assert "pass.driver_option" in bad
