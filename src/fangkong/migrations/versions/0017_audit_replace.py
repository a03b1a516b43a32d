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

_TRIGGER = "audit_log_no_replace"
# the message of 0012's triggers, so a replace reads like the UPDATE it amounts to
_CREATE = (
    "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
    "WHEN EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq) "
    "BEGIN SELECT RAISE(ABORT, 'audit log is append-only 审计日志只可追加'); END"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(_CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER}")
