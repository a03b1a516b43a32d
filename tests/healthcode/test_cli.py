"""``fangkong code show|explain|qr|recompute`` on a small SQLite database."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.clock import now as utcnow
from fangkong.healthcode.codes import record_fact
from fangkong.healthcode.context import CodeContext
from fangkong.healthcode.qr import QrKeys, load_or_create_keys
from fangkong.healthcode.writer import FactInput
from fangkong.identity.sealing import Sealer
from fangkong.policy import load_pack
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from tests.healthcode.conftest import ID_NOBODY, ID_ZHANG, populate

runner = CliRunner()
KEY = bytes(range(32))


def _env(home: Path) -> dict[str, str]:
    return {"FANGKONG_HOME": str(home), "FANGKONG_SEAL_KEY": base64.b64encode(KEY).decode(),
            "COLUMNS": "300"}  # fmt: skip


def test_code_commands(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fangkong.db'}")
    migrate.upgrade(engine)
    w = populate(engine, Sealer(KEY))
    keys = load_or_create_keys(tmp_path / "keys" / "qr_ed25519.pem")
    assert (tmp_path / "keys" / "qr_ed25519.pem").stat().st_mode & 0o777 == 0o600
    ctx = CodeContext(load_pack(), Sealer(KEY), keys)
    record_fact(engine, ctx, w.zhang, FactInput("close_contact", utcnow() - timedelta(days=1)),
                recorded_by="tracer")  # fmt: skip
    engine.dispose()
    env = _env(tmp_path)
    shown = runner.invoke(app, ["code", "show", ID_ZHANG], env=env)
    assert shown.exit_code == 0, shown.output
    assert "红码 / red" in shown.output
    assert "close_contact" in shown.output
    explained = runner.invoke(app, ["code", "explain", ID_ZHANG], env=env)
    assert explained.exit_code == 0, explained.output
    assert "解除条件" in explained.output
    assert "cleared by" in explained.output
    assert "fact:close_contact" in explained.output  # the history
    image = tmp_path / "code.png"
    made = runner.invoke(app, ["code", "qr", ID_ZHANG, "-o", str(image)], env=env)
    assert made.exit_code == 0, made.output
    assert image.read_bytes()[:4] == b"\x89PNG"
    missing = runner.invoke(app, ["code", "show", ID_NOBODY], env=env)
    assert missing.exit_code == 2
    assert "code.person_unknown" in missing.output
    bad = runner.invoke(app, ["code", "show", "12345"], env=env)
    assert bad.exit_code == 2
    assert "scan.malformed" in bad.output
    recomputed = runner.invoke(app, ["code", "recompute"], env=env)
    assert recomputed.exit_code == 0
    assert "changed" in recomputed.output
    assert isinstance(keys, QrKeys)
