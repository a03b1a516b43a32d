"""persons' class and office-team units (close contacts by group)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 20:30:00

``persons.unit_code``: the class (班级) or office team (科室/班组) of a person within
their school or workplace (``venue_code``). Tracing names close contacts by class and
by team instead of by the whole school or employer. Optional: empty for everyone
imported before, who keep the whole venue as their group.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a plain ADD COLUMN on both backends: no copy of the persons table
    op.add_column("persons", sa.Column("unit_code", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("unit_code")
