"""Database engines: SQLite (WAL, foreign keys) by default, PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from fangkong.settings import Settings


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
    """An engine for ``url``; SQLite files get their directory created and WAL mode."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", sqlite_pragmas)
        # Let SQLAlchemy, not the driver, decide when transactions start.
        event.listen(
            engine, "connect", lambda dbapi_con, _rec: setattr(dbapi_con, "isolation_level", None)
        )
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def engine_for(settings: Settings) -> Engine:
    return make_engine(settings.database_url)


def backend_name(engine: Engine) -> str:
    return engine.dialect.name
