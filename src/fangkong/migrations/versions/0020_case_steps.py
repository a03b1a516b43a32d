"""the steps of a case's investigation, stamped as they are done (流调处置节点)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 12:00:00

``tracing_cases`` gains, for each step of the investigation, when it was recorded (the
system clock at the moment the step was recorded, never a typed time) and by whom: the
case verified by the CDC (``verified_at``/``_by``, 审核), the investigation team on site
(``on_site_at``/``_by``, 到达现场), the core facts established (``core_facts_at``/``_by``,
核心信息), the 24-hour report filed (``report_at``/``_by``, 流调报告). NULL: not done yet.
The command centre's timeliness measures read them (docs/command.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from fangkong.store.types import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

STEPS = ("verified", "on_site", "core_facts", "report")


def upgrade() -> None:
    with op.batch_alter_table("tracing_cases") as batch:
        for step in STEPS:
            batch.add_column(sa.Column(f"{step}_at", UTCDateTime(), nullable=True))
            batch.add_column(sa.Column(f"{step}_by", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tracing_cases") as batch:
        for step in reversed(STEPS):
            batch.drop_column(f"{step}_by")
            batch.drop_column(f"{step}_at")
