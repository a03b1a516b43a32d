"""Upsert on a natural key, the same on SQLite and PostgreSQL.

A row whose values all equal the stored ones is left alone — its ``updated_at`` too — so
re-importing the same file changes nothing.

Rows are split first: keys not yet stored go through a plain ``INSERT ... ON CONFLICT DO
NOTHING``; only the rest go through ``ON CONFLICT DO UPDATE ... WHERE changed``. SQLite
inserts half as fast through a DO UPDATE clause that may rewrite indexed columns, even
when no row conflicts (measured in benchmarks/import_persons.py), and the split also
counts inserted and updated rows exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, LargeBinary, Table, case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

_LOOKUP_CHUNK = 5_000  # bound parameters per IN (...): under every backend's limit


@dataclass(frozen=True)
class UpsertCount:
    inserted: int
    updated: int


def _insert(conn: Connection, table: Table) -> Any:
    name = conn.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"upsert has no form for the {name} dialect")


def stored_keys(conn: Connection, table: Table, key: str, values: Sequence[Any]) -> set[Any]:
    """Which of ``values`` are already stored in ``table.key``."""
    column = table.c[key]
    found: set[Any] = set()
    for i in range(0, len(values), _LOOKUP_CHUNK):
        chunk = values[i : i + _LOOKUP_CHUNK]
        found.update(conn.execute(select(column).where(column.in_(chunk))).scalars())
    return found


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: str,
    compare: Sequence[str],
    keep_unless_changed: Mapping[str, str] | None = None,
    none_stored: bool = False,
) -> UpsertCount:
    """Insert ``rows``; a row whose key is stored updates the ``compare`` columns if any differ.

    ``keep_unless_changed`` maps a column to the compare column that decides it: the
    stored value is kept unless that column changed (a sealed value is re-encrypted with
    a fresh nonce on every import, so it must follow its lookup hash, not itself).
    ``none_stored`` says the caller knows no key of ``rows`` is stored (a table that was
    empty when the transaction began, keys unique in the input): the lookup is skipped.
    """
    if not rows:
        return UpsertCount(0, 0)
    present = set() if none_stored else stored_keys(conn, table, key, [r[key] for r in rows])
    new = [r for r in rows if r[key] not in present]
    old = [r for r in rows if r[key] in present]
    inserted = updated = 0
    if new:
        stmt = _insert(conn, table).on_conflict_do_nothing(index_elements=[key])
        inserted = _execute(conn, stmt, new, key)
    if old:
        stmt = _insert(conn, table)
        excluded = stmt.excluded
        changed: list[ColumnElement[bool]] = [
            table.c[c].is_distinct_from(excluded[c]) for c in compare
        ]
        set_: dict[str, Any] = {c: excluded[c] for c in compare}
        for column, decider in (keep_unless_changed or {}).items():
            set_[column] = case(
                (table.c[decider].is_distinct_from(excluded[decider]), excluded[column]),
                else_=table.c[column],
            )
        if "updated_at" in table.c:
            set_["updated_at"] = excluded["updated_at"]
        stmt = stmt.on_conflict_do_update(index_elements=[key], set_=set_, where=or_(*changed))
        updated = _execute(conn, stmt, old, key)
    return UpsertCount(inserted, updated)


def _execute(conn: Connection, stmt: Any, rows: Sequence[Mapping[str, Any]], key: str) -> int:
    if conn.dialect.paramstyle == "qmark":
        return _executemany_positional(conn, stmt, rows)
    # Drivers that batch executemany report no reliable rowcount: count what RETURNING
    # gives back (only rows actually inserted or changed are returned).
    result = conn.execute(stmt.returning(stmt.table.c[key]), list(rows))
    return len(result.all())


def _executemany_positional(conn: Connection, stmt: Any, rows: Sequence[Mapping[str, Any]]) -> int:
    """Compile once, convert values column by column, hand tuples to the driver.

    The same statement and bind processors SQLAlchemy would apply, without its per-row
    bookkeeping, which costs more than SQLite's own insert.
    """
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(rows[0]))
    processors = compiled._bind_processors
    columns = []
    for name in compiled.positiontup:
        values = [row[name] for row in rows]
        proc = processors.get(name)
        # bytes go to the driver as they are; the binary processor only wraps them
        if proc is not None and not isinstance(compiled.binds[name].type, LargeBinary):
            values = _memoized(proc, values)
        columns.append(values)
    result = conn.exec_driver_sql(compiled.string, list(zip(*columns, strict=True)))
    return int(result.rowcount)


def _memoized(proc: Any, values: list[Any]) -> list[Any]:
    # bulk columns repeat values (one import timestamp, ~36,500 birth dates): convert each
    # distinct value once
    done: dict[Any, Any] = {None: None}
    out = []
    for v in values:
        got = done.get(v, done)
        if got is done:
            got = done[v] = proc(v)
        out.append(got)
    return out


def count_rows(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
