"""Statements compiled once and run on the driver's own connection: the hot path of a
busy server (scan verification), where SQLAlchemy's per-execution work — execution
context, events, result wrapping — costs more than SQLite answering an indexed lookup.

The statement is still written with SQLAlchemy against the declared tables; it is
compiled for the engine's dialect once, and each run converts the parameters and the
result columns with the same type processors SQLAlchemy would use (aware UTC datetimes,
JSON), so rows read here equal rows read through a ``Connection``. Only statements with
named parameters and no expanding ``IN`` are supported.

``ReadConnections`` keeps one autocommit driver connection per thread for such reads
(SQLite in WAL mode: each statement reads the latest committed state; nothing is locked).

PostgreSQL (issue 21): the same statements run on a psycopg connection. Its SQLAlchemy
dialect names parameters (``%(name)s``); the statements are compiled for a copy of it
that numbers them (``%s``), which psycopg takes as well.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, bindparam
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import Compiled

from fangkong.store.engine import sqlite_pragmas

Processor = Callable[[Any], Any] | None


def positional(dialect: Dialect) -> Dialect:
    """``dialect``, or for one with named parameters (psycopg's) a copy with positional
    ones (``%s``): the same types, bind and result processors."""
    if dialect.positional:
        return dialect
    if dialect.paramstyle != "pyformat":
        raise ValueError(f"no positional form of the {dialect.paramstyle} parameter style")
    twin = copy.copy(dialect)
    twin.paramstyle = "format"
    twin.positional = True
    return twin


def _positional(compiled: Compiled) -> tuple[list[str], list[Processor], dict[str, Any]]:
    if not getattr(compiled, "positional", False):
        raise ValueError("fast statements need a dialect with positional parameters")
    names = list(getattr(compiled, "positiontup", None) or ())
    binds = getattr(compiled, "binds", {})
    dialect = compiled.dialect
    processors: list[Processor] = [binds[n].type._cached_bind_processor(dialect) for n in names]
    return names, processors, dict(compiled.params)


class FastSelect:
    """A SELECT for ``dialect`` run on a driver connection: ``rows(raw, **params)`` gives
    named tuples (fields as the statement labels them) with converted values."""

    def __init__(self, stmt: Any, dialect: Dialect) -> None:
        dialect = positional(dialect)
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        self._names, self._binds, self._defaults = _positional(compiled)
        columns = list(stmt.selected_columns)
        self._results: list[Processor] = [
            c.type._cached_result_processor(dialect, None) for c in columns
        ]
        self.Row = namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
        self._convert = any(p is not None for p in self._results)

    def params(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, bind in zip(self._names, self._binds, strict=True):
            value = given[name] if name in given else self._defaults[name]
            out.append(value if bind is None or value is None else bind(value))
        return tuple(out)

    def rows(self, raw: Any, **given: Any) -> list[Any]:
        fetched = raw.execute(self.sql, self.params(given)).fetchall()
        make = self.Row._make  # type: ignore[attr-defined]
        if not self._convert:
            return [make(r) for r in fetched]
        procs = self._results
        return [
            make([v if p is None or v is None else p(v) for p, v in zip(procs, r, strict=True)])
            for r in fetched
        ]


class FastInsert:
    """An INSERT of fixed columns for ``dialect``, run with ``executemany`` on a driver
    connection (inside the caller's transaction)."""

    def __init__(self, stmt: Any, columns: Sequence[str], dialect: Dialect) -> None:
        dialect = positional(dialect)
        compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
        self.sql = str(compiled)
        self._names, self._binds, self._defaults = _positional(compiled)

    def run(self, raw: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        pairs = list(zip(self._names, self._binds, strict=True))
        values = [
            tuple(
                (v if b is None or v is None else b(v))
                for n, b in pairs
                for v in (row[n] if n in row else self._defaults[n],)
            )
            for row in rows
        ]
        raw.cursor().executemany(self.sql, values)  # psycopg: on a cursor only


def driver_connection(engine: Engine, *pragmas: str) -> Any:
    """A new ``sqlite3`` connection to ``engine``'s database, opened as the engine opens
    its own (same connect arguments, same PRAGMAs: WAL, foreign keys, busy timeout), in
    autocommit (transactions are explicit; a lone SELECT sees the latest commit), then
    ``PRAGMA`` each of ``pragmas``. Usable from one thread at a time, closable from any.

    On PostgreSQL a psycopg connection in autocommit, ``pragmas`` ignored (and no session
    settings in their stead: through PgBouncer's transaction pooling a session's ``SET``
    would leak to other clients' connections — docs/deploy.md)."""
    dialect = engine.dialect
    args, kwargs = dialect.create_connect_args(engine.url)
    if dialect.name == "postgresql":
        return dialect.loaded_dbapi.connect(*args, **kwargs, autocommit=True)
    raw = dialect.loaded_dbapi.connect(*args, **{**kwargs, "check_same_thread": False})
    sqlite_pragmas(raw, None)
    raw.isolation_level = None
    for pragma in pragmas:
        raw.execute(f"PRAGMA {pragma}")
    return raw


class ReadConnections:
    """One driver connection per thread, in autocommit, for read-only fast statements on
    SQLite (``PRAGMA query_only``: a bug here cannot write) or PostgreSQL (where only
    ``FastSelect`` runs on them)."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError("ReadConnections is for SQLite and PostgreSQL")
        self._engine = engine
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[Any] = []

    def get(self) -> Any:
        raw = getattr(self._local, "raw", None)
        if raw is not None and getattr(raw, "closed", False):  # PostgreSQL went away
            raw = None
        if raw is None:
            raw = driver_connection(self._engine, "query_only=ON")
            self._local.raw = raw
            with self._lock:
                self._all.append(raw)
        return raw

    def __del__(self) -> None:
        # an app dropped without shutting down (tests): psycopg warns about a connection
        # collected open, sqlite3 does not — close them before they are collected
        self.close()

    def close(self) -> None:
        with self._lock:
            for raw in self._all:
                with contextlib.suppress(Exception):  # best effort: closing for good
                    raw.close()
            self._all.clear()
        self._local = threading.local()


class DriverSelect:
    """A SELECT run through a ``Connection``'s own driver connection — inside whatever
    transaction the connection holds — compiled once per dialect (and per arity, for a
    statement built by ``build(n)`` with ``n`` parameters for an ``IN`` list): a hot path's
    lookups (a checkpoint's crossing: a few indexed reads of ≤ max_people ids each),
    where SQLAlchemy's per-execution work costs several times SQLite's. Rows are named
    tuples with the values SQLAlchemy would give (``FastSelect``)."""

    def __init__(self, build: Callable[..., Any], *, arity: bool = False) -> None:
        self._build = build
        self._arity = arity
        self._compiled: dict[tuple[str, int], FastSelect] = {}

    def rows(self, conn: Connection, *, n: int = 0, **params: Any) -> list[Any]:
        """The rows for ``params`` (with ``arity``: ``n`` values named ``v0`` … given)."""
        key = (conn.dialect.name, n)
        fast = self._compiled.get(key)
        if fast is None:
            stmt = self._build(n) if self._arity else self._build()
            fast = self._compiled[key] = FastSelect(stmt, conn.dialect)
        return fast.rows(conn.connection.driver_connection, **params)

    def rows_in(self, conn: Connection, values: Sequence[Any], **params: Any) -> list[Any]:
        """The rows with the ``IN`` list bound to ``values`` (``v0`` … ``v{n-1}``)."""
        named = {f"v{i}": v for i, v in enumerate(values)}
        return self.rows(conn, n=len(values), **named, **params)


class InSelect:
    """A SELECT with one ``IN`` list, built by ``build(values)`` from the list's clause:
    for a few values (≤ ``FEW``: a vehicle's people, a batch's samples) the
    ``DriverSelect`` of that arity; for more, SQLAlchemy with an expanding parameter."""

    FEW = 16

    def __init__(self, build: Callable[[Any], Any]) -> None:
        self._fast = DriverSelect(lambda n: build(in_list(n)), arity=True)
        self._slow = build(bindparam("v", expanding=True))

    def rows(self, conn: Connection, values: Sequence[Any], **params: Any) -> list[Any]:
        values = list(values)
        if len(values) <= self.FEW:
            return self._fast.rows_in(conn, values, **params)
        return list(conn.execute(self._slow, {"v": values, **params}))


def in_list(n: int) -> list[Any]:
    """``n`` bound parameters ``v0`` … for a ``DriverSelect`` built by arity."""
    return [bindparam(f"v{i}") for i in range(n)]


def driver_rows(conn: Connection, stmt: Executable) -> list[tuple[Any, ...]]:
    """The rows of ``stmt`` as the driver's cursor gives them (plain tuples): for a bulk
    read of many rows whose columns need no conversion (integers, text, times read
    ``store.types.undecoded``), where making a SQLAlchemy row of each costs more than
    the database reading it (about 4x on SQLite for half a million rows). The statement
    runs through ``conn`` as usual (same dialect, parameters, transaction)."""
    result = conn.execute(stmt)
    try:
        return list(result.cursor.fetchall()) if result.cursor is not None else []
    finally:
        result.close()


__all__ = [
    "DriverSelect",
    "FastInsert",
    "FastSelect",
    "InSelect",
    "ReadConnections",
    "driver_rows",
    "in_list",
]
