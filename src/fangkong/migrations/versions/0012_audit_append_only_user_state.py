"""audit log append-only in the database; users' disabled state

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 10:00:00

Triggers refuse UPDATE and DELETE of ``audit_log`` rows (PostgreSQL also TRUNCATE), so
the hash chain is no longer the only guard: tampering now needs DDL (dropping a trigger),
not just a write. ``audit_head`` is left writable: every appender moves it.

SQLite keeps triggers with their table, so a later migration that rebuilds ``audit_log``
in batch mode (copy and rename) drops them and must create them again.

``users.disabled_at`` / ``users.disabled_reason``: when and why ``fangkong user disable``
turned an account off (``users.active`` false); empty again after ``user enable``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.store.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

MESSAGE = "audit log is append-only 审计日志只可追加"
_SQLITE_TRIGGERS = ("audit_log_no_update", "audit_log_no_delete")
_PG_FUNCTION = "audit_log_append_only"
_PG_TRIGGERS = {
    "audit_log_no_update": "BEFORE UPDATE ON audit_log FOR EACH ROW",
    "audit_log_no_delete": "BEFORE DELETE ON audit_log FOR EACH ROW",
    "audit_log_no_truncate": "BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT",
}


def upgrade() -> None:
    op.add_column("users", sa.Column("disabled_at", UTCDateTime(), nullable=True))
    op.add_column("users", sa.Column("disabled_reason", sa.String(length=200), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        for name, event in zip(_SQLITE_TRIGGERS, ("UPDATE", "DELETE"), strict=True):
            op.execute(
                f"CREATE TRIGGER {name} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )
        return
    op.execute(
        f"CREATE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP "
        "USING ERRCODE = 'insufficient_privilege'; END $$"
    )
    for name, when in _PG_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {_PG_FUNCTION}()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name in _PG_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON audit_log")
        op.execute(f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disabled_reason")
        batch.drop_column("disabled_at")
