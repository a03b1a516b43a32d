"""Database engines: SQLite (WAL, foreign keys) by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from fangkong.files import private_file, tighten
from fangkong.settings import Settings

# SQLite's write-ahead log and shared-memory index, made with the main file's mode
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run while the one writer writes; NORMAL sync is durable in WAL mode
    # against application crashes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # The driver's own transaction handling is switched off (isolation_level None) so that
    # SQLAlchemy's transactions are real ones, DDL included. A writer asks for
    # execution_options(write=True) to take the write lock up front (BEGIN IMMEDIATE), so
    # a long import never fails half way with "database is locked".
    immediate = conn.get_execution_options().get("write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite files get WAL mode, and their directory (0700) and
    the file (0600) created before SQLite opens it (see :func:`private_sqlite_file`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_sqlite_file(Path(parsed.database))
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", sqlite_pragmas)
        # Let SQLAlchemy, not the driver, decide when transactions start.
        event.listen(
            engine, "connect", lambda dbapi_con, _rec: setattr(dbapi_con, "isolation_level", None)
        )
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 (SQLite makes its -wal and -shm with the main file's
    mode), and tighten a file or side file an older version left readable by others."""
    private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        tighten(path.with_name(path.name + suffix))


def engine_for(settings: Settings) -> Engine:
    return make_engine(settings.database_url)


def backend_name(engine: Engine) -> str:
    return engine.dialect.name


def ping(engine: Engine) -> None:
    """One round trip to the database (``SQLAlchemyError`` when it does not answer)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
