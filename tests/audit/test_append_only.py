"""The database itself refuses to change or remove audit rows (migration 0012), on both
backends; appending goes on; the migration goes down and up again."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, delete, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from fangkong.audit import verify
from fangkong.audit.log import AuditEvent, record, transaction
from fangkong.keys import ServerKeys
from fangkong.store import migrate
from fangkong.store.schema import audit_head, audit_log
from tests.conftest import TEST_SERVER_KEY

KEY = ServerKeys.from_master(TEST_SERVER_KEY).audit
REFUSED = "audit log is append-only 审计日志只可追加"


def _append(engine: Engine, n: int) -> None:
    for i in range(n):
        with transaction(engine) as conn:
            record(conn, KEY, AuditEvent("tester", "test.append", "ok", "test", "row", str(i)))


def _rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(audit_log).order_by(audit_log.c.seq)).all())


def _refused(engine: Engine, statement: Any) -> None:
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        conn.execute(statement)
    assert REFUSED in str(caught.value)


def test_update_and_delete_of_audit_rows_are_refused(engine: Engine) -> None:
    _append(engine, 3)
    before = _rows(engine)
    assert [r.seq for r in before] == [1, 2, 3]

    _refused(engine, update(audit_log).where(audit_log.c.seq == 2).values(actor="someone"))
    _refused(engine, update(audit_log).values(detail="x"))  # every row at once
    _refused(engine, delete(audit_log).where(audit_log.c.seq == 3))
    _refused(engine, delete(audit_log))  # SQLite's truncate shortcut is off with a trigger
    if engine.dialect.name == "postgresql":
        _refused(engine, text("TRUNCATE audit_log"))

    assert _rows(engine) == before
    assert verify(engine, KEY) == (3, [])


def test_appending_goes_on_and_the_head_moves(engine: Engine) -> None:
    _append(engine, 2)
    _refused(engine, delete(audit_log))
    _append(engine, 2)
    with engine.connect() as conn:
        assert conn.execute(select(audit_head.c.seq)).scalar_one() == 4
    assert verify(engine, KEY) == (4, [])


def test_migration_0012_goes_down_and_up(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    _append(empty_engine, 1)

    migrate.downgrade(empty_engine, "0011")
    assert migrate.current_revision(empty_engine) == "0011"
    columns = {c["name"] for c in inspect(empty_engine).get_columns("users")}
    assert {"disabled_at", "disabled_reason"}.isdisjoint(columns)
    with empty_engine.begin() as conn:  # without the triggers the row can be edited again
        conn.execute(update(audit_log).where(audit_log.c.seq == 1).values(detail="edited"))

    migrate.upgrade(empty_engine)
    assert migrate.status(empty_engine).up_to_date
    columns = {c["name"] for c in inspect(empty_engine).get_columns("users")}
    assert {"disabled_at", "disabled_reason"} <= columns
    _refused(empty_engine, update(audit_log).values(detail="again"))
    _refused(empty_engine, delete(audit_log))
