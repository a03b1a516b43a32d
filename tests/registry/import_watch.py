"""Watching an import in another process, to kill it while it writes (the kill tests of
tests/registry/test_cli_import.py and tests/fuzz/test_kill9.py).

On PostgreSQL the server's statistics and locks say that the import's transaction has
inserted persons. On SQLite the importer holds the database's write lock (BEGIN IMMEDIATE)
from its first batch to its commit; once it has held it for a moment its batches are being
inserted. The size of the WAL alone is no sign: it grows when the page cache spills or at
the commit, so on a quiet machine it came too late and the kill landed after the commit."""

from __future__ import annotations

import sqlite3
import time

from sqlalchemy import Engine

LOCKED_FOR_S = 0.3


class ImportWatch:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._locked_since: float | None = None

    def writing(self) -> bool:
        """The import is inside its write transaction and has written rows."""
        if self.engine.dialect.name != "sqlite":
            return self._pg_writing()
        if not self.write_locked():
            self._locked_since = None
            return False
        if self._locked_since is None:
            self._locked_since = time.monotonic()
        return time.monotonic() - self._locked_since >= LOCKED_FOR_S

    def write_locked(self) -> bool:
        """On SQLite, whether another connection holds the write lock; on PostgreSQL, whether
        the import's transaction is still open (it holds its lock on ``persons``)."""
        if self.engine.dialect.name != "sqlite":
            return self._pg_writing()
        probe = sqlite3.connect(str(self.engine.url.database), timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        else:
            probe.rollback()
            return False
        finally:
            probe.close()

    def _pg_writing(self) -> bool:
        with self.engine.connect() as conn:
            locks = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = 'persons' AND l.mode = 'RowExclusiveLock' "
                "AND l.pid <> pg_backend_pid()"
            ).scalar_one()
        return bool(locks)
