"""Migration 0026 on a database that already holds tasks with history (both backends):
command_tasks takes the kind road_alert, still refuses an unknown kind, and the downgrade
takes the kind back (its tasks with it) without touching the others."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from fangkong.store import migrate

AT = datetime(2022, 4, 12, tzinfo=UTC)


def _task(conn: sa.Connection, task_id: int, kind: str, source_type: str) -> None:
    conn.execute(sa.text(
        "INSERT INTO command_tasks (id, kind, source_type, source_id, region_code,"
        " origin_region_code, params, status, raised_at, raised_by, deadline_at,"
        " escalation_level) VALUES (:id, :kind, :st, :sid, '14', '14', '{}', 'open', :at,"
        " 'test', :at, 0)"), {"id": task_id, "kind": kind, "st": source_type,
                               "sid": str(task_id), "at": AT})  # fmt: skip
    conn.execute(sa.text(
        "INSERT INTO command_task_changes (task_id, at, changed_by, to_status, note)"
        " VALUES (:id, :at, 'test', 'open', 'raised')"), {"id": task_id, "at": AT})  # fmt: skip


def test_the_task_kind_on_a_database_with_tasks(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine, "0025")
    with empty_engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO regions (code, parent_code, level, name, created_at,"
                             " updated_at) VALUES ('14', NULL, 'province', '省', :at, :at)"),
                     {"at": AT})  # fmt: skip
        _task(conn, 1, "late_tubes", "region_day")
    migrate.upgrade(empty_engine)
    with empty_engine.begin() as conn:
        _task(conn, 2, "road_alert", "road_alert")
    with pytest.raises(sa.exc.IntegrityError), empty_engine.begin() as conn:
        _task(conn, 3, "no_such_kind", "road_alert")
    migrate.downgrade(empty_engine, "0025")
    with empty_engine.begin() as conn:
        kinds = conn.execute(sa.text("SELECT kind FROM command_tasks ORDER BY id")).scalars()
        assert list(kinds) == ["late_tubes"]
    with pytest.raises(sa.exc.IntegrityError), empty_engine.begin() as conn:
        _task(conn, 4, "road_alert", "road_alert")
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        if empty_engine.dialect.name == "sqlite":
            assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
            assert conn.execute(sa.text("PRAGMA foreign_key_check")).all() == []
