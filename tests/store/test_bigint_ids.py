"""Migration 0029: the high-volume ids (and what refers to them) hold 64-bit values on
both backends — BIGINT columns and sequences on PostgreSQL, SQLite's INTEGER (already
64-bit) still autoincrementing — and the downgrade gives PostgreSQL its INTEGERs back."""

from __future__ import annotations

import importlib
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Connection,
    Date,
    Engine,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    func,
    select,
    text,
)

from fangkong.migrations.catalog import Base
from fangkong.store import migrate
from fangkong.store.types import UTCDateTime

WIDENED: dict[str, tuple[str | None, tuple[str, ...]]] = importlib.import_module(
    "fangkong.migrations.versions.0029_bigint_ids"
).WIDENED
BIG = 2**31 + 7  # one past what a 32-bit id holds, and then some
T0 = datetime(2022, 4, 1, 8, 0, tzinfo=UTC)
_IN = re.compile(r"(\w+) IN \('([^']*)'")


def _allowed(table: Table) -> dict[str, str]:
    """The first value each ``col IN ('a', …)`` check allows."""
    found: dict[str, str] = {}
    for constraint in table.constraints:
        if isinstance(constraint, CheckConstraint):
            for column, value in _IN.findall(str(constraint.sqltext)):
                found.setdefault(column, value)
    return found


def _value(column: Any, allowed: dict[str, str]) -> Any:
    kind = column.type
    if column.name in allowed:
        return allowed[column.name]
    if isinstance(kind, UTCDateTime):
        return T0
    if isinstance(kind, Date):
        return date(2022, 4, 1)
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, Float):
        return 1.0
    if isinstance(kind, JSON):
        return {}
    if isinstance(kind, LargeBinary):
        return uuid.uuid4().bytes * 2
    if isinstance(kind, String | Text):  # unique, within the column's length
        return uuid.uuid4().hex[: getattr(kind, "length", None) or 32]
    raise AssertionError(f"no test value for {column}")


def _row(conn: Connection, table: Table, given: dict[str, Any]) -> dict[str, Any]:
    """A valid row of ``table``: ``given`` plus a value for every required column, and a
    parent row (made the same way) for every reference not given."""
    allowed = _allowed(table)
    checks = " ".join(str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint))
    row = dict(given)
    for column in table.columns:
        required = not column.nullable and column.server_default is None
        required = required or f"{column.name} IS NOT NULL" in checks  # "a or b is set"
        if column.name in row or not required or column.autoincrement is True:
            continue
        if column.foreign_keys:
            target = next(iter(column.foreign_keys)).column
            row[column.name] = _parent(conn, target.table, target.name)
        else:
            row[column.name] = _value(column, allowed)
    return row


def _parent(conn: Connection, table: Any, key: str) -> Any:
    made = conn.execute(table.insert().values(_row(conn, table, {}))).inserted_primary_key
    if made is not None and key in table.primary_key.columns and len(made) == 1:
        return made[0]
    return conn.execute(select(table.c[key]).limit(1)).scalar_one()


def _types(conn: Connection) -> dict[str, str]:
    """On PostgreSQL: ``table.column`` → type, for the widened columns and sequences."""
    got = {
        f"{t}.{c}": conn.execute(
            text("SELECT data_type FROM information_schema.columns "
                 "WHERE table_name = :t AND column_name = :c"), {"t": t, "c": c},
        ).scalar_one()
        for t, (_, columns) in WIDENED.items() for c in columns
    }  # fmt: skip
    for t, (serial, _) in WIDENED.items():
        if serial is not None:
            got[f"{t}.{serial} sequence"] = conn.execute(
                text("SELECT data_type FROM information_schema.sequences "
                     "WHERE sequence_name = split_part(pg_get_serial_sequence(:t, :c), '.', 2)"),
                {"t": t, "c": serial},
            ).scalar_one()  # fmt: skip
    return got


def test_every_reference_to_a_widened_id_is_widened_too() -> None:
    widened = {(t, c) for t, (_, cols) in WIDENED.items() for c in cols}
    for table in Base.metadata.tables.values():
        for column in table.columns:
            for fk in column.foreign_keys:
                if (fk.column.table.name, fk.column.name) in widened:
                    assert (table.name, column.name) in widened, f"{table.name}.{column.name}"


def test_postgresql_columns_are_bigint_and_back_to_integer_on_downgrade(
    empty_engine: Engine, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite's INTEGER is 64-bit: 0029 changes nothing there")
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert set(_types(conn).values()) == {"bigint"}
    migrate.downgrade(empty_engine, "0028")
    with empty_engine.connect() as conn:
        assert set(_types(conn).values()) == {"integer"}
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert set(_types(conn).values()) == {"bigint"}


def test_ids_beyond_32_bits_are_stored_referenced_and_continued(
    empty_engine: Engine, backend: str
) -> None:
    """Each widened table takes an id past 2**31 (explicit), is referred to by that id,
    and the next row without an id gets the one after it (SQLite's rowid, PG's sequence)."""
    migrate.upgrade(empty_engine, "0028")
    migrate.upgrade(empty_engine)  # up → (down →) up: the schema the app runs on
    tables = Base.metadata.tables
    big: dict[str, int] = {}
    with empty_engine.begin() as conn:
        conn.execute(tables["audit_head"].update().values(seq=BIG))
        for n, (name, (serial, columns)) in enumerate(WIDENED.items()):
            table = tables[name]
            if name == "audit_head":  # its one row (seeded by 0002) moved above
                continue
            given: dict[str, Any] = {}
            itself = []
            for column in columns:
                fks = table.c[column].foreign_keys
                parent = next(iter(fks)).column.table.name if fks else None
                if parent == name:  # the next row refers to this one
                    itself.append(column)
                elif parent is not None:  # the row of the widened table made before
                    given[column] = big[parent]
            if name == "audit_log":
                given["seq"] = BIG + 1
            elif name == "health_codes":
                given["last_fact_id"] = big["person_facts"]
            elif serial is not None:
                given[serial] = BIG + n * 1000
            row = _row(conn, table, given)
            conn.execute(table.insert().values(row))
            if serial is None:
                continue
            big[name] = row[serial]
            if backend == "postgresql":  # an explicit id does not move the sequence
                conn.execute(text("SELECT setval(pg_get_serial_sequence(:t, :c), :v)"),
                             {"t": name, "c": serial, "v": row[serial]})  # fmt: skip
            following = {k: v for k, v in _row(conn, table, given).items() if k != serial}
            following |= dict.fromkeys(itself, row[serial])
            made = conn.execute(table.insert().values(following)).inserted_primary_key
            assert made is not None
            assert made[0] == row[serial] + 1, name
    with empty_engine.connect() as conn:
        for name, (serial, columns) in WIDENED.items():
            table = tables[name]
            for column in columns:
                top = conn.execute(select(func.max(table.c[column]))).scalar_one()
                assert top is not None
                assert top > 2**31, f"{name}.{column}"
            if serial is not None:
                assert conn.execute(select(func.count()).select_from(table)).scalar_one() >= 2
