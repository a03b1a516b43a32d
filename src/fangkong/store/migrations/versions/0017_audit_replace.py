"""audit log: INSERT OR REPLACE refused like UPDATE (SQLite)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-28 09:00:00

On SQLite, ``INSERT OR REPLACE`` (and ``REPLACE INTO``) of a row whose ``seq`` exists
deletes the old row and inserts the new one without firing the DELETE trigger of
migration 0012 (delete triggers of a replace fire only with ``recursive_triggers``), so
it changed an audit row despite the triggers. A BEFORE INSERT trigger now refuses any
insert whose ``seq`` is taken, with the same message as an UPDATE.

PostgreSQL needs nothing: ``INSERT ... ON CONFLICT DO UPDATE`` fires the BEFORE UPDATE
trigger of 0012 and is refused (a test holds both backends to it).
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

MESSAGE = "audit log is append-only 审计日志只可追加"
_TRIGGER = "audit_log_no_replace"


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        f"CREATE TRIGGER {_TRIGGER} BEFORE INSERT ON audit_log "
        "WHEN EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq) "
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER}")
