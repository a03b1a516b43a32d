"""`fangkong import` / `fangkong export` as a user runs them, on both backends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.store.schema import persons
from tests.conftest import database_url
from tests.registry import samples
from tests.registry.import_watch import ImportWatch

runner = CliRunner()


def _env(engine: Engine, home: Path) -> dict[str, str]:
    return {
        "FANGKONG_HOME": str(home),
        "FANGKONG_DATABASE_URL": database_url(engine),
        "FANGKONG_SEAL_KEY": "",
        "FANGKONG_LANG": "zh+en",
    }


def _files(tmp_path: Path) -> dict[str, Path]:
    return {
        "regions": samples.write_csv(tmp_path / "regions.csv", "regions", samples.REGIONS),
        "venues": samples.write_csv(tmp_path / "venues.csv", "venues", samples.VENUES),
        "persons": samples.write_csv(tmp_path / "persons.csv", "persons", samples.PERSONS),
    }


def test_import_export_round_trip(engine: Engine, tmp_path: Path) -> None:
    env = _env(engine, tmp_path / "home")
    files = _files(tmp_path)
    for kind in ("regions", "venues", "persons"):
        result = runner.invoke(app, ["import", kind, str(files[kind])], env=env)
        assert result.exit_code == 0, result.output
    assert "inserted 4" in result.output
    assert (tmp_path / "home" / "keys" / "seal.key").exists()

    for kind, suffix in (("regions", "csv"), ("venues", "parquet"), ("persons", "parquet")):
        out = tmp_path / f"out-{kind}.{suffix}"
        result = runner.invoke(app, ["export", kind, str(out)], env=env)
        assert result.exit_code == 0, result.output
        again = runner.invoke(app, ["import", kind, str(out)], env=env)
        assert again.exit_code == 0, again.output
        assert "inserted 0, updated 0" in again.output

    masked = tmp_path / "masked.csv"
    assert (
        runner.invoke(app, ["export", "persons", str(masked), "--masked"], env=env).exit_code == 0
    )
    text = masked.read_text(encoding="utf-8")
    assert samples.ID_A not in text
    assert samples.ID_A[:6] + "********" + samples.ID_A[-4:] in text
    assert "138****1234" in text or "+86 138****1234" in text or "****1234" in text
    assert "王伟" not in text


def test_bad_rows_exit_2_with_the_report_named(engine: Engine, tmp_path: Path) -> None:
    env = _env(engine, tmp_path / "home")
    files = _files(tmp_path)
    for kind in ("regions", "venues"):
        assert runner.invoke(app, ["import", kind, str(files[kind])], env=env).exit_code == 0
    rows = [list(r) for r in samples.PERSONS]
    rows[2][1] = "14010520150303013Y"
    bad = samples.write_csv(tmp_path / "bad.csv", "persons", rows)
    result = runner.invoke(app, ["import", "persons", str(bad)], env=env)
    assert result.exit_code == 2
    assert "bad.csv.errors.csv" in result.output
    assert "row 3 id_number" in result.output
    assert "第 3 行" in result.output
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(persons)).scalar_one() == 0


def test_a_killed_import_leaves_nothing_behind(
    backend: str, engine: Engine, tmp_path: Path
) -> None:
    """SIGKILL in the middle of writing: the transaction never commits."""
    from fangkong.twin.registry import generate_registry, write_registry

    files = write_registry(generate_registry(30_000, seed=3), tmp_path / "twin", "csv")
    env = {**os.environ, **_env(engine, tmp_path / "home"), "FANGKONG_IMPORT_BATCH_SIZE": "500"}
    for kind in ("regions", "venues"):
        subprocess.run([sys.executable, "-m", "fangkong", "import", kind, str(files[kind])],
                       env=env, check=True, capture_output=True)  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "fangkong", "import", "persons", str(files["persons"])],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    watch = ImportWatch(engine)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not watch.writing():
        time.sleep(0.01)
    still_writing = watch.write_locked()  # killed inside the import's transaction
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the import ended before it could be killed"
    assert still_writing, "the import had committed before it could be killed"
    engine.dispose()
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(persons)).scalar_one() == 0


@pytest.mark.parametrize("kind", ["regions", "venues", "persons"])
def test_missing_file_exits_2(kind: str, tmp_path: Path) -> None:
    env = {"FANGKONG_HOME": str(tmp_path)}
    result = runner.invoke(app, ["import", kind, str(tmp_path / "none.csv")], env=env)
    assert result.exit_code == 2
    assert "file.not_found" in result.output or "找不到文件" in result.output
