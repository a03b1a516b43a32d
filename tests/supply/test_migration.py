"""Migration 0027 over a store that already holds tasks (their history rows reference
them): the kind supply_floor is accepted after it, an unknown kind still refused, and the
downgrade takes the supply tasks away and the kind with them — on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from fangkong.store import migrate

AT = datetime(2022, 4, 10, 2, 0, tzinfo=UTC)


def _task(conn: object, kind: str, source_type: str, source_id: str) -> None:
    conn.execute(text(  # type: ignore[attr-defined]
        "INSERT INTO command_tasks (kind, source_type, source_id, region_code, "
        "origin_region_code, params, status, raised_at, raised_by, deadline_at, "
        "escalation_level) VALUES (:k, :st, :sid, 'P', 'P', '{}', 'open', :at, 't', :at, 0)"),
        {"k": kind, "st": source_type, "sid": source_id, "at": AT})  # fmt: skip
    conn.execute(text(  # type: ignore[attr-defined]
        "INSERT INTO command_task_changes (task_id, at, changed_by, to_status, note) "
        "SELECT id, :at, 't', 'open', 'raised' FROM command_tasks WHERE source_id = :sid"),
        {"at": AT, "sid": source_id})  # fmt: skip


def test_the_task_kind_comes_and_goes_with_rows_in_place(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0025")
    with empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO regions (code, level, name, created_at, updated_at) "
                          "VALUES ('P', 'province', '省', :at, :at)"), {"at": AT})  # fmt: skip
        _task(conn, "alert", "alert", "1")
    migrate.upgrade(empty_engine)
    with empty_engine.begin() as conn:
        _task(conn, "supply_floor", "supply_alert", "7")
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        _task(conn, "no_such_kind", "supply_alert", "8")
    migrate.downgrade(empty_engine, "0025")
    with empty_engine.connect() as conn:
        kinds = conn.execute(text("SELECT kind FROM command_tasks")).scalars().all()
        changes = conn.execute(text("SELECT COUNT(*) FROM command_task_changes")).scalar_one()
    assert (kinds, changes) == (["alert"], 1)
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        _task(conn, "supply_floor", "supply_alert", "9")
    migrate.upgrade(empty_engine)  # and up again
