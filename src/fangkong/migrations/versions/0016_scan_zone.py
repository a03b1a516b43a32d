"""the zone of a scan (区域/桌号)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-20 09:00:00

``scans.zone``: the table or private room a scan was made at (the zone of a table code,
1–16 printable characters), null when the device sent none. At a venue type whose contact
rule has ``close_by_zone`` only the case's own zone are close contacts (issue 15).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scans") as batch:
        batch.add_column(sa.Column("zone", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scans") as batch:
        batch.drop_column("zone")
