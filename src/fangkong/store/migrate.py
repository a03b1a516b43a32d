"""Create or migrate the schema (Alembic), and say where a database stands.

The Alembic environment, its revisions and the catalog of every capability's tables live
in ``fangkong.migrations``, above the capabilities. The store names that package as a
string and never imports it statically, so nothing here depends upward.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, func, inspect, select

from fangkong.errors import BadInput, Problem

_PACKAGE = "fangkong.migrations"
_CATALOG = "fangkong.migrations.catalog"


def _script_location() -> Path:
    spec = importlib.util.find_spec(_PACKAGE)
    origin = spec.origin if spec is not None else None
    if origin is None:
        raise RuntimeError(f"{_PACKAGE} is missing: the fangkong install is incomplete")
    return Path(origin).parent


MIGRATIONS = _script_location()


def _metadata() -> MetaData:
    """Every declared table: the catalog imports each capability's ``tables.py``."""
    metadata: MetaData = importlib.import_module(_CATALOG).metadata
    return metadata


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default the newest), in one transaction."""
    cfg = _config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    cfg = _config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None  # noqa: S101 - the package ships at least one migration
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current(engine: Engine) -> None:
    """Refuse to work on a database whose schema is missing or behind."""
    current = current_revision(engine)
    if current != head_revision():
        raise BadInput(
            Problem(
                "store.schema_outdated",
                f"数据库结构版本为 {current or '(无)'}，需要 {head_revision()}：请先运行 "
                "fangkong db upgrade",
                f"the database schema is at {current or '(none)'}, {head_revision()} is "
                "needed: run `fangkong db upgrade` first",
            )
        )


@dataclass(frozen=True)
class Status:
    url: str
    backend: str
    current: str | None
    head: str
    counts: dict[str, int]

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def status(engine: Engine) -> Status:
    """The revision in the database against the newest, and how many rows each table holds."""
    current = current_revision(engine)
    counts: dict[str, int] = {}
    if current is not None:
        present = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            for name, table in _metadata().tables.items():
                if name in present:
                    counts[name] = conn.execute(
                        select(func.count()).select_from(table)
                    ).scalar_one()
    return Status(
        url=engine.url.render_as_string(hide_password=True),
        backend=engine.dialect.name,
        current=current,
        head=head_revision(),
        counts=counts,
    )
