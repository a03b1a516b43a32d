"""Shared fixtures. ``engine`` runs every storage test on SQLite and on PostgreSQL.

PostgreSQL comes from FANGKONG_TEST_POSTGRES_URL (``scripts/with-postgres`` starts a
throwaway server and sets it; ``make test`` does that). Each test gets its own database,
copied from a migrated template, so tests never see each other's rows. Without the URL
the PostgreSQL cases are skipped, unless FANGKONG_REQUIRE_POSTGRES=1 (CI), which fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from fangkong import bounds
from fangkong.settings import DEFAULT_TIMEZONE
from fangkong.store import migrate

if TYPE_CHECKING:
    from fangkong.identity.sealing import Sealer
from fangkong.store.engine import make_engine

PG_URL = os.environ.get("FANGKONG_TEST_POSTGRES_URL", "")
REQUIRE_PG = os.environ.get("FANGKONG_REQUIRE_POSTGRES") == "1"
BACKENDS = ["sqlite", "postgresql"]
TODAY = date(2026, 11, 29)
# The suite's files and requests replay 2020–2022 under a live clock: the input window
# (fangkong.bounds) reaches back far enough for them; year 1 and 9999 stay refused.
REPLAY_PAST_DAYS = 3650
os.environ.setdefault("FANGKONG_INPUT_PAST_DAYS", str(REPLAY_PAST_DAYS))
# as every app and command of the suite configures them (the region's zone, not UTC: a
# page drawn in Asia/Shanghai after 16:00 UTC is a day ahead of UTC's calendar)
WINDOWS = {"past_days": REPLAY_PAST_DAYS, "timezone": DEFAULT_TIMEZONE}
bounds.configure(**WINDOWS)


@pytest.fixture(autouse=True)
def _system_clock() -> Iterator[None]:
    """Every test starts and ends with the system clock unconfigured (live): an app or
    CLI command configured in one test never reads another test's database."""
    from fangkong import clock

    clock.reset()
    bounds.configure(**WINDOWS)
    yield
    clock.reset()
    bounds.configure(**WINDOWS)  # module fixtures import between tests


def _pg_admin() -> Engine:
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("FANGKONG_REQUIRE_POSTGRES=1 but FANGKONG_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL not available (set FANGKONG_TEST_POSTGRES_URL)")
    name = f"fk_template_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(PG_URL).set(database=name).render_as_string(False))
    migrate.upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg_database(template: str | None) -> Iterator[Engine]:
    name = f"fk_test_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        clause = f' TEMPLATE "{template}"' if template else ""
        conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    engine = make_engine(make_url(PG_URL).set(database=name).render_as_string(False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def engine(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database on each backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "fangkong.db"
        shutil.copy(template, path)
        eng = make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        yield from _pg_database(request.getfixturevalue("pg_template"))


@pytest.fixture
def empty_engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """A database with no schema at all, on each backend."""
    if backend == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield eng
        eng.dispose()
    else:
        if not PG_URL:
            if REQUIRE_PG:
                pytest.fail("FANGKONG_REQUIRE_POSTGRES=1 but FANGKONG_TEST_POSTGRES_URL is unset")
            pytest.skip("PostgreSQL not available (set FANGKONG_TEST_POSTGRES_URL)")
        yield from _pg_database(None)


def database_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def sealer() -> Sealer:
    from fangkong.identity.sealing import Sealer

    return Sealer(bytes(range(32)))


# ---- the service shell (issue 4): a small province, users, the app ---------------------

TEST_SEAL_KEY = bytes(range(32))
TEST_SERVER_KEY = bytes(range(32, 64))
PASSWORD = "correct horse battery"
# username → (role, region): two counties (140102 晋昌区, 140121 阳远县) of city 140100
SHELL_USERS = {
    "admin": ("admin", "140000"),
    "epi": ("epidemiologist", "140102"),
    "viewer": ("viewer", "140102"),
    "county2": ("epidemiologist", "140121"),
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Debian's Chromium with Playwright (FANGKONG_REQUIRE_BROWSER=1)"
    )


@pytest.fixture(scope="session")
def twin_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The twin's registry files for a small province (300 persons, two counties)."""
    from fangkong.twin.registry import generate_registry, write_registry

    folder = tmp_path_factory.mktemp("twin")
    return write_registry(generate_registry(300, seed=1), folder, "csv")


def shell_env(home: Path) -> dict[str, str]:
    import base64

    return {
        "FANGKONG_HOME": str(home),
        "FANGKONG_SEAL_KEY": base64.b64encode(TEST_SEAL_KEY).decode(),
        "FANGKONG_SERVER_KEY": base64.b64encode(TEST_SERVER_KEY).decode(),
        "FANGKONG_INPUT_PAST_DAYS": str(REPLAY_PAST_DAYS),
    }


def load_province(engine: Engine, files: dict[str, Path]) -> None:
    """Import the twin's province and add the SHELL_USERS, through the services."""
    from fangkong.auth.model import cli_actor
    from fangkong.auth.users import add_user
    from fangkong.identity.sealing import Sealer
    from fangkong.keys import ServerKeys
    from fangkong.registry.service import ImportOptions, import_file

    sealer = Sealer(TEST_SEAL_KEY)
    for kind in ("regions", "venues", "persons"):
        import_file(engine, kind, files[kind], ImportOptions(today=TODAY), sealer=sealer)
    with engine.connect() as conn:
        codes = set(conn.execute(text("SELECT code FROM regions")).scalars())
    wanted = {region for _, region in SHELL_USERS.values()}
    if not wanted <= codes:  # the tests name these counties of the twin's seed-1 province
        pytest.fail(f"the twin's province no longer has regions {sorted(wanted - codes)}")
    key = ServerKeys.from_master(TEST_SERVER_KEY).audit
    for name, (role, region) in SHELL_USERS.items():
        add_user(engine, key, cli_actor(), name, PASSWORD, role, region, "test")


@pytest.fixture
def province(engine: Engine, twin_files: dict[str, Path]) -> Engine:
    """``engine`` (both backends) holding the small province and the test users."""
    load_province(engine, twin_files)
    return engine
