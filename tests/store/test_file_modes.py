"""Issue 16, finding 5: what fangkong writes in its data directory is 0700/0600 whatever
the umask — the SQLite file and its -wal/-shm, the event lake, the keys, the twin's and
the demo's outputs — and the demo leaves no file of raw ID or phone numbers behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

import fangkong
from fangkong.demo.province import import_registry
from fangkong.demo.report import write_cases_csv
from fangkong.identity.sealing import Sealer
from fangkong.keys import load_server_keys
from fangkong.settings import load_settings
from fangkong.store import migrate
from fangkong.store.engine import make_engine
from fangkong.tracing.lake import CheckinLake
from fangkong.twin.registry import generate_registry, write_registry
from fangkong.twin.sim import Twin, write_run
from tests.conftest import TEST_SEAL_KEY
from tests.tracing.samples import checkins

SRC = Path(fangkong.__file__).resolve().parents[1]  # the sources under test
UMASKS = [0o022, 0o000]


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def loose(root: Path) -> list[str]:
    """Everything under ``root`` (itself included) that group or others may open."""
    found = []
    for p in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(p.lstat().st_mode)
        want = 0o700 if p.is_dir() else 0o600
        if mode & 0o077 or mode != want:
            found.append(f"{p.relative_to(root.parent)} {mode:o}")
    return found


@pytest.mark.parametrize("mask", UMASKS, ids=lambda m: f"umask{m:03o}")
def test_database_wal_shm_lake_and_keys_are_private(tmp_path: Path, mask: int) -> None:
    home = tmp_path / "home"
    with umask(mask):
        engine = make_engine(f"sqlite:///{home / 'fangkong.db'}")
        try:
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE t (x INTEGER)"))
                conn.execute(text("INSERT INTO t VALUES (1)"))
            assert (home / "fangkong.db-wal").exists()
            assert (home / "fangkong.db-shm").exists()
            load_server_keys(load_settings({"FANGKONG_HOME": str(home)}))
            lake = CheckinLake.at_home(home)
            lake.land(checkins(n=50))
            lake.compact()
            lake.land(checkins(n=60))  # a landed batch next to the compacted day
        finally:
            engine.dispose()
    assert (home / "keys" / "server.key").exists()
    assert any((home / "lake" / "checkins" / "compacted").rglob("*.parquet"))
    assert loose(home) == []


def test_a_database_left_readable_is_tightened_on_open(tmp_path: Path) -> None:
    db = tmp_path / "fangkong.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    for path in (db, tmp_path / "fangkong.db-wal"):
        if path.exists():
            path.chmod(0o644)  # as an older version left it
    make_engine(f"sqlite:///{db}").dispose()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.stat().st_mode & 0o077] == []


@pytest.mark.parametrize("mask", UMASKS, ids=lambda m: f"umask{m:03o}")
def test_twin_and_demo_outputs_are_private(tmp_path: Path, mask: int) -> None:
    registry = generate_registry(200, seed=1)
    home = tmp_path / "home"
    with umask(mask):
        write_registry(registry, home / "twin", "csv")
        write_registry(registry, home / "twin-pq", "parquet")
        write_run(Twin.from_registry(registry, seed=1), 2, home / "run")
        write_cases_csv(home / "demo" / "cases.csv", [(1, 0, True)])
    assert loose(home) == []


def test_the_demo_import_leaves_no_raw_identifiers(tmp_path: Path) -> None:
    registry = generate_registry(200, seed=1)
    numbers = registry.persons["id_number"].to_pylist()[:5]
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "persons.csv").write_text("left by an older version\n", encoding="utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'fangkong.db'}")
    try:
        migrate.upgrade(engine)
        results = import_registry(engine, registry, folder, Sealer(TEST_SEAL_KEY),
                                  today=date(2022, 3, 1), phone_region="CN")  # fmt: skip
    finally:
        engine.dispose()
    assert results["persons"].inserted == registry.persons.num_rows
    left = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not [p for p in left if p.suffix in (".csv", ".parquet")]
    for p in left:  # not in the clear anywhere (the database holds them sealed)
        data = p.read_bytes()
        assert not [n for n in numbers if n.encode() in data], p


@pytest.mark.parametrize("mask", UMASKS, ids=lambda m: f"umask{m:03o}")
def test_the_command_line_creates_a_private_home(tmp_path: Path, mask: int) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "FANGKONG_HOME": str(home), "PYTHONPATH": str(SRC)}
    env.pop("FANGKONG_DATABASE_URL", None)
    script = f"import os; os.umask({mask}); from fangkong.cli import main; main()"
    run = subprocess.run(
        [sys.executable, "-c", script, "db", "upgrade"],
        env=env, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (home / "fangkong.db").exists()
    assert loose(home) == []
