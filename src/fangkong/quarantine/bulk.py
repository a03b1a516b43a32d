"""Set-based reads and writes for batches of many thousands of placements.

``_among`` puts a column in a long list of values (on SQLite one ``json_each`` parameter,
elsewhere one ``IN`` per chunk of ``_chunks``); ``insert_with_ids`` inserts rows given as
columns (``Same``: one value on every row) and hands back their new ids in order — on
SQLite one driver-level executemany with ids given under the write lock, on PostgreSQL
batched multi-row inserts with RETURNING.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import Any

from sqlalchemy import Connection, func, select

_CHUNK = 5_000


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _among(conn: Connection, column: Any, values: Sequence[Any]) -> Iterator[Any]:
    """WHERE clauses putting ``column`` in ``values``: on SQLite one clause reading the
    values from one JSON parameter (``json_each``: no statement of thousands of
    parameters to build), elsewhere one ``IN`` per chunk."""
    if conn.dialect.name == "sqlite":
        table = func.json_each(json.dumps(list(values))).table_valued("value")
        yield column.in_(select(table.c.value))
        return
    for chunk in _chunks(values):
        yield column.in_(chunk)


@dataclass(frozen=True)
class Same:
    """A column holding one value on every row of an insert."""

    value: Any


def _column(conn: Connection, table: Any, name: str, values: Any) -> Any:
    """A column's values as the driver takes them, each distinct value converted once
    (a batch shares its times, kinds and groups): a ``Same`` stays one value."""
    proc = table.c[name].type.bind_processor(conn.dialect)

    def convert(v: Any) -> Any:
        v = v if proc is None or v is None else proc(v)
        # what sqlite3's default adapter would store, done once per value, not per row
        return v.isoformat(" ") if isinstance(v, datetime) else v

    if isinstance(values, Same):
        return Same(convert(values.value))
    if proc is None and not any(isinstance(v, datetime) for v in values[:1]):
        return values
    memo = {v: convert(v) for v in set(values)}
    return [memo[v] for v in values]


def _executemany(conn: Connection, table: Any, n: int, columns: dict[str, Any]) -> None:
    """One driver-level executemany (SQLite): SQLAlchemy's per-row parameter handling
    would cost more than SQLite's insert itself. A column NULL on every row is left out
    (its default is NULL); one value on every row is bound once per row from a repeat."""
    names = [c for c, v in columns.items() if not (isinstance(v, Same) and v.value is None)]
    converted = {c: _column(conn, table, c, columns[c]) for c in names}
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=names)
    order = list(compiled.positiontup or [])  # the statement's parameter order
    streams = [
        repeat(converted[c].value, n) if isinstance(converted[c], Same) else converted[c]
        for c in order
    ]
    conn.exec_driver_sql(str(compiled), list(zip(*streams, strict=True)))


def insert_with_ids(
    conn: Connection, table: Any, n: int, columns: dict[str, Any], key: str | None = None
) -> list[int]:
    """Insert ``n`` rows given as columns (lists of ``n`` values, or ``Same``); their new
    ids in order. SQLite runs one writer at a time (BEGIN IMMEDIATE), so ids after the
    largest are ours to give and one executemany writes them all (RETURNING in order
    would cost a statement per row there), in the order of ``key`` (a column of an
    index) when given; PostgreSQL returns them from batched multi-row inserts."""
    if not n:
        return []
    if conn.dialect.name == "sqlite":
        top = int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
        if key is None:
            ids = list(range(top + 1, top + 1 + n))
            _executemany(conn, table, n, {"id": ids, **columns})
            return ids
        # rows written in ``key`` order, ids given in the same order: the table and the
        # key's index both grow at their end instead of taking each row at random
        perm = sorted(range(n), key=columns[key].__getitem__)
        ids = [0] * n
        for k, i in enumerate(perm, start=top + 1):
            ids[i] = k
        permuted = {
            c: v if isinstance(v, Same) else [v[i] for i in perm] for c, v in columns.items()
        }
        _executemany(conn, table, n, {"id": list(range(top + 1, top + 1 + n)), **permuted})
        return ids
    rows = [
        {c: (v.value if isinstance(v, Same) else v[i]) for c, v in columns.items()}
        for i in range(n)
    ]
    out: list[int] = []
    for chunk in _chunks(rows):
        result = conn.execute(
            table.insert().returning(table.c.id, sort_by_parameter_order=True), list(chunk)
        )
        out += [int(x) for x in result.scalars()]
    return out


__all__ = [
    "Same",
    "insert_with_ids",
]
