"""the system clock's replay instant

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 09:00:00

``system_clock``: one row (id 1) holding the replay instant that ``fangkong.clock`` reads
in ``FANGKONG_CLOCK=auto`` (the demo's province loop moves it day by day; ``fangkong
clock set|live`` by hand), who set it and the machine time it was set. No row: live.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.store.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "system_clock",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("set_by", sa.String(length=80), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_system_clock_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_clock")),
    )


def downgrade() -> None:
    op.drop_table("system_clock")
